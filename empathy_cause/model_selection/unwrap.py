"""Finding the library's estimator inside a model: pipelines, searches, threshold tuners.

The benchmarks (and users) wrap :class:`~empathy_cause.EmpathyCauseClassifier`
or :class:`~empathy_cause.baselines.QAClassifier` in scikit-learn and
imbalanced-learn meta-estimators; these functions reach the estimator inside
through public attributes only (a pipeline's last step, ``estimator``,
``best_estimator_``, ``estimator_``), and act on it there: early stopping on a
given validation set (:func:`attach_validation`), encoding every sentence once
before many fits (:func:`warm_cache`), the fitted model's own loss
(:func:`criterion_loss`).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.pipeline import Pipeline
from skorch.helper import predefined_split

from ..network._base import BaseCauseClassifier

__all__ = ["find_classifier", "fitted_classifier", "decision_threshold_of", "attach_validation", "warm_cache",
           "criterion_loss"]


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


def _transform_through(steps, X_train, y_train, X_other):
    """Apply the non-sampler ``steps`` (fitted on the training part) to ``X_other``."""
    for step in steps:
        if step is None or (isinstance(step, str) and step == "passthrough"):
            continue
        if hasattr(step, "fit_resample"):  # samplers only act on training data
            continue
        fitted = clone(step).fit(X_train, y_train)
        X_train, X_other = fitted.transform(X_train), fitted.transform(X_other)
    return X_other


def attach_validation(model, X_train, y_train, X_valid, y_valid):
    """Make the classifier inside ``model`` early-stop on ``(X_valid, y_valid)``.

    Sets its ``train_split`` to ``skorch.helper.predefined_split`` of a
    :class:`~empathy_cause.network.batching.PairRows` built by the classifier itself
    (``get_dataset``), so validation batches are made exactly like the
    internal split's. Pipeline transformers before the classifier (not
    samplers) are applied to the validation frame. Returns ``model``.
    """
    clf, prefix, steps = find_classifier(model)
    if clf is None:
        return model
    X_valid = _transform_through(steps, X_train, y_train, X_valid)
    valid = clf.get_dataset(X_valid, y_valid)
    model.set_params(**{f"{prefix}train_split": predefined_split(valid)})
    return model


def warm_cache(model, X, y=None):
    """Encode every sentence ``model`` will see in ``X`` once (frozen encoder).

    Later fits and predictions on subsets of ``X`` are then memory hits.
    Returns the number of distinct texts.
    """
    clf, _, steps = find_classifier(model)
    if clf is None or not clf.frozen_encoder:
        return 0
    X = _transform_through(steps, X, y, X)
    return len(clf.get_dataset(X).texts)


def criterion_loss(model, X, y, proba=None):
    """The fitted model's own training criterion on ``(X, y)`` (NaN for non-neural models).

    The probabilities' logarithms are valid logits for the softmax the
    criteria work on, so this is the loss the network would report.
    """
    clf = fitted_classifier(model)
    if clf is None:
        return float("nan")
    if proba is None:
        proba = model.predict_proba(X)
    logits = torch.log(torch.as_tensor(np.asarray(proba), dtype=torch.float32).clamp_min(1e-12))
    with torch.no_grad():
        return float(clf.criterion_(logits, torch.as_tensor(np.asarray(y), dtype=torch.long)))
