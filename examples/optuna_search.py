"""Hyperparameter search with Optuna's ``OptunaSearchCV``.

Samples the learning rate, the loss and the decision threshold instead of
walking a grid; each trial costs one fit per fold (20 trials x 3 folds here,
4 x 2 with ``EMPATHY_CAUSE_QUICK=1``). For long searches that resume after an
interruption and spread over processes or machines, use ``empathy-cause search``.
"""

import os
import warnings

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.exceptions import ExperimentalWarning
from optuna_integration import OptunaSearchCV

from empathy_cause import EmpathyCauseClassifier, ThreadKFold, cause_metrics, load_demo
from empathy_cause.data import DEMO_PARAMS

QUICK = os.environ.get("EMPATHY_CAUSE_QUICK") == "1"
# Notices about Optuna's own internals (OptunaSearchCV is "experimental", a module it uses
# is deprecated), one per trial: nothing a user of this script can act on.
warnings.filterwarnings("ignore", category=ExperimentalWarning)
warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
optuna.logging.set_verbosity(optuna.logging.WARNING)
X, y, _ = load_demo()

# %%
# Leave scikit-learn's metadata routing off: with it, OptunaSearchCV fails
# every trial silently. ThreadKFold needs no ``groups=``. The other settings are
# the demo set's (DEMO_PARAMS).
space = {"lr": FloatDistribution(1e-4, 1e-2, log=True),
         "loss": CategoricalDistribution(["focal", "ce"]),
         "threshold": FloatDistribution(0.1, 0.5)}
estimator = EmpathyCauseClassifier(**DEMO_PARAMS, random_state=0)
search = OptunaSearchCV(estimator, space, cv=ThreadKFold(2 if QUICK else 3), scoring="f1",
                        n_trials=4 if QUICK else 20, random_state=0)
search.fit(X, y)
print({name: round(value, 4) if isinstance(value, float) else value for name, value in search.best_params_.items()})

# %%
# A best threshold well below 0.5 (0.1 to 0.2 here) is expected on the demo set:
# with one cause in five sentences and so few examples, the cause probabilities stay
# low (see imbalance_and_threshold.py). The best trial's cross-validated F1, beside
# calling every sentence a cause:
# The best score is the maximum over the trials, so it flatters a little: judge a
# search by a refit on data it never saw (see quickstart.py).
every = cause_metrics(y, [1] * len(y))["f1"]
print(f"cross-validated F1 {search.best_score_:.3f}; calling every sentence a cause: {every:.3f}")
