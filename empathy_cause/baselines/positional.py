"""Baselines from a sentence's place in its post alone: the positional rule, every sentence a cause, position features.

Position carries most of the signal in conversation corpora (a reply's cause is
usually among the last sentences before it), so these are the floors a content
model must clear: :class:`PositionRule` marks the last ``last`` post sentences
(chosen by training F1 when ``last=None``), :class:`AllCauses` marks every
sentence (the F1 floor where position says nothing), and
:func:`position_features` gives one-hot distances for a linear model.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import f1_score

__all__ = ["PositionRule", "AllCauses", "position_rule", "position_features", "POSITION_CAP", "RULE_MAX_LAST"]

#: Distances from the end and from the start are one-hot encoded up to this many (larger ones capped).
POSITION_CAP = 10
#: ``PositionRule(last=None)`` chooses ``last`` among 1..RULE_MAX_LAST by training F1.
RULE_MAX_LAST = 10


def _distances(X):
    """(distance from the end, distance from the start) of each row's sentence."""
    index = X["sentence_index"].to_numpy()
    return X["post"].map(len).to_numpy() - 1 - index, index


def position_rule(X, last: int = 2) -> np.ndarray:
    """1 for the last ``last`` sentences of each post, else 0."""
    from_end, _ = _distances(X)
    return (from_end < last).astype(int)


def position_features(X) -> np.ndarray:
    """One-hot distance from the end and from the start of the post (each capped at 9)."""
    from_end, from_start = _distances(X)
    eye = np.eye(POSITION_CAP)
    return np.hstack([eye[np.minimum(from_end, POSITION_CAP - 1)],
                      eye[np.minimum(from_start, POSITION_CAP - 1)]])


class PositionRule(ClassifierMixin, BaseEstimator):
    """The rule "the last ``last`` post sentences are causes"; ``last=None`` picks it by F1 on the training set."""

    def __init__(self, last=None):
        self.last = last

    def fit(self, X, y=None):
        self.classes_ = np.array([0, 1])
        if self.last is not None:
            self.last_ = self.last
        else:
            scores = [f1_score(y, position_rule(X, k), zero_division=0) for k in range(1, RULE_MAX_LAST + 1)]
            self.last_ = 1 + int(np.argmax(scores))
        return self

    def predict_proba(self, X):
        rule = position_rule(X, self.last_).astype(float)
        return np.column_stack([1.0 - rule, rule])

    def predict(self, X):
        return position_rule(X, self.last_)


class AllCauses(ClassifierMixin, BaseEstimator):
    """Marks every sentence a cause (the F1 floor a model must clear where position says nothing)."""

    def fit(self, X, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        return np.column_stack([np.zeros(len(X)), np.ones(len(X))])

    def predict(self, X):
        return np.ones(len(X), dtype=int)
