"""Class imbalance: undersampling with imbalanced-learn, then a tuned decision threshold.

Causes are the minority class. An undersampler drops single rows, which is
fine here: every row carries its whole post and reply, so the kept rows are
still scored in full context. ``TunedThresholdClassifierCV`` then picks the
threshold that maximises F1 by cross-validation over threads.
"""

import os

from imblearn.pipeline import make_pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.model_selection import TunedThresholdClassifierCV

from empathy_cause import EmpathyCauseClassifier, ThreadKFold, ThreadShuffleSplit, cause_metrics, load_demo

QUICK = os.environ.get("EMPATHY_CAUSE_QUICK") == "1"
X, y, _ = load_demo()
train, test = next(ThreadShuffleSplit(test_size=0.25, random_state=0).split(X))
X_train, X_test, y_train, y_test = X.iloc[train], X.iloc[test], y[train], y[test]

# %%
# The sampler acts during ``fit`` only; ``predict`` sees every row.
model = make_pipeline(RandomUnderSampler(random_state=0),
                      EmpathyCauseClassifier(lr=1e-3, loss="ce", validation_fraction=None,
                                             max_epochs=1 if QUICK else 20, random_state=0))

# %%
# Tune the threshold on folds by thread (``TunedThresholdClassifierCV`` refuses
# ``groups=`` without metadata routing; ``ThreadKFold`` needs none).
tuned = TunedThresholdClassifierCV(model, scoring="f1", cv=ThreadKFold(2 if QUICK else 3))
tuned.fit(X_train, y_train)
print(f"threshold {tuned.best_threshold_:.2f}")
print(cause_metrics(y_test, tuned.predict(X_test), tuned.predict_proba(X_test)[:, 1]))
