"""The paper's metric set for the cause (positive) class."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

__all__ = ["cause_metrics"]


def cause_metrics(y_true, y_pred, y_score=None) -> dict[str, float]:
    """Precision, recall and F1 of the cause class, accuracy, and ROC AUC.

    Parameters
    ----------
    y_true, y_pred : array-like of 0/1
    y_score : array-like of float, optional
        Cause probabilities; ROC AUC is NaN without them or when ``y_true``
        holds a single class.

    Returns
    -------
    dict with keys ``precision``, ``recall``, ``f1``, ``accuracy``, ``roc_auc``.
    """
    y_true = np.asarray(y_true)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, average="binary", pos_label=1, zero_division=0)
    auc = float("nan")
    if y_score is not None and len(np.unique(y_true)) == 2:
        auc = roc_auc_score(y_true, y_score)
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1),
            "accuracy": float(accuracy_score(y_true, y_pred)), "roc_auc": float(auc)}
