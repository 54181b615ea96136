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
    dict with keys ``precision``, ``recall``, ``f1``, ``accuracy``, ``roc_auc`` and
    ``every_sentence_a_cause_f1``: the F1 of calling every sentence a cause
    (recall 1, precision the share of causes), the figure an F1 must beat.
    """
    y_true = np.asarray(y_true)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, average="binary", pos_label=1, zero_division=0)
    auc = float("nan")
    if y_score is not None and len(np.unique(y_true)) == 2:
        auc = roc_auc_score(y_true, y_score)
    share = float(np.mean(y_true == 1)) if len(y_true) else 0.0
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1),
            "accuracy": float(accuracy_score(y_true, y_pred)), "roc_auc": float(auc),
            "every_sentence_a_cause_f1": 2 * share / (1 + share)}
