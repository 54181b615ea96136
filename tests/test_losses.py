"""The losses (network/losses.py): focal loss against a hand-computed value, make_criterion's checks."""

import numpy as np
import pytest
import torch

from empathy_cause.network.losses import BinaryFocalLoss, make_criterion


def test_focal_loss_against_hand_computed_value():
    logits = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    target = torch.tensor([1, 0])
    # p_t = 0.5 and e^2 / (e^2 + 1); FL = -(1 - p_t)^2 * ln(p_t)
    p2 = np.exp(2) / (np.exp(2) + 1)
    per_sample = np.array([0.25 * np.log(2), -((1 - p2) ** 2) * np.log(p2)])
    loss = BinaryFocalLoss(alpha=None, gamma=2.0)(logits, target)
    assert loss.item() == pytest.approx(per_sample.mean(), rel=1e-5)
    weighted = BinaryFocalLoss(alpha=0.25, gamma=2.0)(logits, target)
    assert weighted.item() == pytest.approx((0.25 * per_sample[0] + 0.75 * per_sample[1]) / 2, rel=1e-5)
    ce = BinaryFocalLoss(alpha=None, gamma=0.0)(logits, target)
    assert ce.item() == pytest.approx(torch.nn.functional.cross_entropy(logits, target).item(), rel=1e-6)


def test_weighted_loss_needs_class_weight():
    with pytest.raises(ValueError, match="class_weight"):
        make_criterion("weighted")
    with pytest.raises(ValueError, match="loss must be one of"):
        make_criterion("hinge")
