"""Losses for the cause/non-cause decision: binary focal loss and cross-entropy.

All take the module's two-column logits ``(n, 2)`` and integer targets, so
they plug into skorch as a ``criterion`` and share ``predict_proba``'s softmax.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["BinaryFocalLoss", "make_criterion", "LOSSES"]

LOSSES = ("focal", "weighted", "ce")


class BinaryFocalLoss(nn.Module):
    """Binary focal loss (Lin et al., 2017) on two-class logits.

    With ``p`` the probability of class 1 and ``p_t`` the probability of the
    true class::

        FL = - alpha_t * (1 - p_t) ** gamma * log(p_t)

    where ``alpha_t = alpha`` for causes and ``1 - alpha`` for non-causes.
    ``alpha=None`` weights both classes equally (the paper's "focal loss with no
    weights"); ``gamma=0`` and ``alpha=None`` give plain cross-entropy.

    Parameters
    ----------
    alpha : float in (0, 1) or None
    gamma : float >= 0
    reduction : {"mean", "sum", "none"}
    """

    def __init__(self, alpha: float | None = None, gamma: float = 2.0, reduction: str = "mean"):
        super().__init__()
        if alpha is not None and not 0.0 < alpha < 1.0:
            raise ValueError(f"focal alpha must be in (0, 1) or None, got {alpha!r}")
        if gamma < 0:
            raise ValueError(f"focal gamma must be >= 0, got {gamma!r}")
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.alpha = alpha
        self.gamma = gamma
        self.reduction = reduction

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.long()
        log_pt = F.log_softmax(logits.float(), dim=-1).gather(1, target[:, None]).squeeze(1)
        loss = -((1.0 - log_pt.exp()) ** self.gamma) * log_pt
        if self.alpha is not None:
            alpha_t = torch.where(target == 1, self.alpha, 1.0 - self.alpha)
            loss = alpha_t * loss
        if self.reduction == "mean":
            return loss.mean()
        if self.reduction == "sum":
            return loss.sum()
        return loss


def make_criterion(loss: str, *, alpha=None, gamma=2.0, class_weight=None) -> nn.Module:
    """The criterion named by the estimator's ``loss`` parameter.

    ``"focal"``: :class:`BinaryFocalLoss` (``alpha``, ``gamma``);
    ``"weighted"``: cross-entropy with ``class_weight`` (e.g. ``(1.0, 3.0)``);
    ``"ce"``: plain cross-entropy.
    """
    if loss == "focal":
        return BinaryFocalLoss(alpha=alpha, gamma=gamma)
    if loss == "weighted":
        if class_weight is None or len(class_weight) != 2:
            raise ValueError(
                "loss='weighted' needs class_weight=(weight of non-causes, weight of causes), "
                f"e.g. (1.0, 3.0); got {class_weight!r}"
            )
        return nn.CrossEntropyLoss(weight=torch.tensor([float(w) for w in class_weight]))
    if loss == "ce":
        return nn.CrossEntropyLoss()
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
