"""Quickstart: train on the built-in demo set and find the causes in held-out posts.

The demo set ships inside the package (a few dozen post-reply pairs about acne),
so this runs on a fresh clone with nothing beside it: one fit of
``EmpathyCauseClassifier`` with the embedded MiniLM encoder, about a minute on
a laptop CPU (seconds with ``EMPATHY_CAUSE_QUICK=1``).
"""

import os

from empathy_cause import EmpathyCauseClassifier, ThreadShuffleSplit, cause_metrics, load_demo

QUICK = os.environ.get("EMPATHY_CAUSE_QUICK") == "1"

# %%
# One row per post sentence: ``X`` holds the whole post and reply on every row
# and the sentence's index; ``y`` says whether that sentence caused the empathy.
X, y, groups = load_demo()
print(X[["pair_id", "sentence_index"]].head(3), y[:3])

# %%
# Hold out whole threads, never single sentences, so no post is on both sides.
train, test = next(ThreadShuffleSplit(test_size=0.25, random_state=0).split(X))

# %%
# The demo set is too small for early stopping, so train for a fixed number of
# epochs with a fixed decision threshold (on real data keep the defaults:
# early stopping and ``threshold="auto"``).
clf = EmpathyCauseClassifier(lr=1e-3, loss="ce", validation_fraction=None, threshold=0.3,
                             max_epochs=2 if QUICK else 30, random_state=0)
clf.fit(X.iloc[train], y[train])

# %%
# Probabilities follow the rows of ``X``; ``predict`` applies the threshold.
proba = clf.predict_proba(X.iloc[test])[:, 1]
print(cause_metrics(y[test], clf.predict(X.iloc[test]), proba))
