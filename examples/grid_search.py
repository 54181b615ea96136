"""The estimator inside a ``Pipeline`` and ``GridSearchCV``, with folds by thread.

``ThreadKFold`` reads each row's thread from ``X["thread_id"]``, so folds never
split a conversation and no ``groups=`` is needed. Costs one fit per candidate
and fold, plus the refit (2 x 3 + 1 = 7 fits here).
"""

import os

from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from empathy_cause import EmpathyCauseClassifier, ThreadKFold, load_demo
from empathy_cause.preprocessing import TextPreprocessor

QUICK = os.environ.get("EMPATHY_CAUSE_QUICK") == "1"
X, y, _ = load_demo()

# %%
# A pipeline step in front of the estimator must return a frame too:
# ``TextPreprocessor`` lower-cases the sentences (one of the paper's follow-ups).
pipe = make_pipeline(TextPreprocessor(lowercase=True),
                     EmpathyCauseClassifier(lr=1e-3, validation_fraction=None, threshold=0.3,
                                            max_epochs=1 if QUICK else 15, random_state=0))

# %%
# Parameters of a pipeline step take the step's name as a prefix.
grid = {"empathycauseclassifier__loss": ["focal", "ce"]}
search = GridSearchCV(pipe, grid, cv=ThreadKFold(2 if QUICK else 3), scoring="f1")
search.fit(X, y)
print(search.best_params_, round(search.best_score_, 4))
