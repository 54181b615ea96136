"""Hyperparameter search with Optuna's ``OptunaSearchCV``.

Samples the learning rate and the loss instead of walking a grid; each trial
costs one fit per fold. For long searches that resume after an interruption
and spread over processes or machines, use ``empathy-cause search``.
"""

import os

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna_integration import OptunaSearchCV

from empathy_cause import EmpathyCauseClassifier, ThreadKFold, load_demo

QUICK = os.environ.get("EMPATHY_CAUSE_QUICK") == "1"
optuna.logging.set_verbosity(optuna.logging.WARNING)
X, y, _ = load_demo()

# %%
# Leave scikit-learn's metadata routing off: with it, OptunaSearchCV fails
# every trial silently. ThreadKFold needs no ``groups=``.
space = {"lr": FloatDistribution(1e-4, 1e-2, log=True),
         "loss": CategoricalDistribution(["focal", "ce"])}
estimator = EmpathyCauseClassifier(validation_fraction=None, threshold=0.3,
                                   max_epochs=1 if QUICK else 15, random_state=0)
search = OptunaSearchCV(estimator, space, cv=ThreadKFold(2 if QUICK else 3), scoring="f1",
                        n_trials=2 if QUICK else 20, random_state=0)
search.fit(X, y)
print(search.best_params_, round(search.best_score_, 4))
