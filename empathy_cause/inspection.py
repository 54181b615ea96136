"""Finding the library's estimator inside a model: pipelines, searches, threshold tuners.

The benchmarks (and users) wrap :class:`~empathy_cause.EmpathyCauseClassifier`
or :class:`~empathy_cause.baselines.QAClassifier` in scikit-learn and
imbalanced-learn meta-estimators; these functions reach the estimator inside
through public attributes only (a pipeline's last step, ``estimator``,
``best_estimator_``, ``estimator_``).
"""

from __future__ import annotations

from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from ._base import BaseCauseClassifier

__all__ = ["find_classifier", "fitted_classifier", "decision_threshold_of"]


def find_classifier(model, prefix=""):
    """The :class:`BaseCauseClassifier` (co-attention or QA) inside an (unfitted) model.

    Looks through pipelines (last step) and meta-estimators with an
    ``estimator`` parameter (``TunedThresholdClassifierCV``,
    ``OptunaSearchCV``, ...). Returns ``(classifier, parameter prefix,
    preceding pipeline steps)``, or ``(None, None, [])``.
    """
    if isinstance(model, BaseCauseClassifier):
        return model, prefix, []
    if isinstance(model, Pipeline):
        name, last = model.steps[-1]
        clf, path, steps = find_classifier(last, f"{prefix}{name}__")
        return clf, path, [step for _, step in model.steps[:-1]] + steps
    inner = getattr(model, "estimator", None)
    if isinstance(inner, BaseEstimator):
        return find_classifier(inner, f"{prefix}estimator__")
    return None, None, []


def fitted_classifier(model):
    """The fitted :class:`BaseCauseClassifier` inside a fitted model, or None."""
    if isinstance(model, BaseCauseClassifier):
        return model
    if isinstance(model, Pipeline):
        return fitted_classifier(model.steps[-1][1])
    for attr in ("best_estimator_", "estimator_"):
        inner = getattr(model, attr, None)
        if inner is not None:
            return fitted_classifier(inner)
    return None


def decision_threshold_of(model):
    """The decision threshold the fitted model's ``predict`` used (None for dummies)."""
    if hasattr(model, "best_threshold_"):  # TunedThresholdClassifierCV
        return float(model.best_threshold_)
    clf = fitted_classifier(model)
    if clf is None:
        return None
    return clf.decision_threshold()
