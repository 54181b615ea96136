"""The estimator inside a ``Pipeline`` and ``GridSearchCV``, with folds by thread.

``ThreadKFold`` reads each row's thread from ``X["thread_id"]``, so folds never
split a conversation and no ``groups=`` is needed. Costs one fit per candidate
and fold, plus the refit (2 x 3 + 1 = 7 fits here).
"""

import os

from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from empathy_cause import EmpathyCauseClassifier, ThreadKFold, cause_metrics, load_demo
from empathy_cause.data import DEMO_PARAMS
from empathy_cause.preprocessing import TextPreprocessor

QUICK = os.environ.get("EMPATHY_CAUSE_QUICK") == "1"
X, y, _ = load_demo()

# %%
# A pipeline step in front of the estimator must return a frame too:
# ``TextPreprocessor`` lower-cases the sentences (one of the paper's follow-ups).
# The estimator takes the demo set's settings (DEMO_PARAMS says why).
pipe = make_pipeline(TextPreprocessor(lowercase=True), EmpathyCauseClassifier(**DEMO_PARAMS, random_state=0))

# %%
# Parameters of a pipeline step take the step's name as a prefix.
grid = {"empathycauseclassifier__loss": ["focal", "ce"]}
search = GridSearchCV(pipe, grid, cv=ThreadKFold(2 if QUICK else 3), scoring="f1")
search.fit(X, y)
print(search.best_params_)

# %%
# The best candidate's cross-validated F1, beside calling every sentence a cause.
every = cause_metrics(y, [1] * len(y))["f1"]
print(f"cross-validated F1 {search.best_score_:.3f}; calling every sentence a cause: {every:.3f}")
