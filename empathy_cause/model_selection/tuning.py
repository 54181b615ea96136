"""Searching the estimator's parameters: the search space and the one parameter a search needs.

:class:`SearchableClassifier` is :class:`~empathy_cause.EmpathyCauseClassifier`
with the cause-class weight as one number (Optuna distributions cannot hold a
pair), :func:`estimator_params` turns a search's parameters back into the
estimator's, and :func:`default_search_space` is the space the
``empathy-cause search`` command explores. The search itself (storage,
workers, resuming) is :mod:`empathy_cause.benchmarks.search`.
"""

from __future__ import annotations

from ..encoders.encoding import POOLINGS
from ..network.classifier import EmpathyCauseClassifier
from ..network.losses import LOSSES, make_criterion
from ..network.modules import ARCHITECTURES

__all__ = ["SearchableClassifier", "estimator_params", "default_search_space"]


class SearchableClassifier(EmpathyCauseClassifier):
    """:class:`EmpathyCauseClassifier` with the cause-class weight as one number.

    Optuna distributions hold numbers and strings, not pairs, so the search
    space cannot hold ``class_weight=(1.0, w)``. This subclass adds one
    parameter, ``cause_weight``: with ``loss="weighted"`` the criterion uses
    ``class_weight=(1.0, cause_weight)`` (when ``cause_weight`` is None,
    ``class_weight`` as usual). Everything else is the parent class;
    :func:`estimator_params` turns its parameters into the parent's.
    """

    def __init__(self, encoder=None, *, cause_weight=None, **kwargs):
        super().__init__(encoder, **kwargs)
        self.cause_weight = cause_weight

    def initialize_criterion(self):
        if self.criterion is not None or self.loss != "weighted" or self.cause_weight is None:
            return super().initialize_criterion()
        self.criterion_ = make_criterion(self.loss, class_weight=(1.0, float(self.cause_weight)))
        return self


def estimator_params(params):
    """Search parameters -> :class:`EmpathyCauseClassifier` parameters.

    ``cause_weight`` becomes ``class_weight=(1.0, cause_weight)`` for the
    weighted loss; parameters that the chosen loss ignores are dropped.
    """
    params = dict(params)
    weight = params.pop("cause_weight", None)
    loss = params.get("loss")
    if loss == "weighted" and weight is not None:
        params["class_weight"] = (1.0, float(weight))
    if loss is not None and loss != "focal":
        params.pop("alpha", None)
        params.pop("gamma", None)
    return params


def default_search_space(finetune_layers=0):
    """The Optuna distributions searched by default.

    ``lr`` (log-uniform 1e-5..1e-3), ``loss`` (focal / weighted / ce) with
    ``alpha`` and ``gamma`` (focal) and ``cause_weight`` (weighted),
    ``dropout``, ``architecture``, ``pooling`` and the decision ``threshold``.
    ``finetune_layers`` stays 0 (frozen encoder, cached vectors) unless
    ``finetune_layers=k`` > 0 adds an integer range 0..k.
    """
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    space = {
        "lr": FloatDistribution(1e-5, 1e-3, log=True),
        "loss": CategoricalDistribution(list(LOSSES)),
        "alpha": FloatDistribution(0.1, 0.9),
        "gamma": FloatDistribution(0.0, 5.0),
        "cause_weight": FloatDistribution(1.0, 12.0, log=True),
        "dropout": FloatDistribution(0.0, 0.5),
        "architecture": CategoricalDistribution(list(ARCHITECTURES)),
        "pooling": CategoricalDistribution(list(POOLINGS)),
        "threshold": FloatDistribution(0.1, 0.9),
    }
    if finetune_layers:
        space["finetune_layers"] = IntDistribution(0, int(finetune_layers))
    return space
