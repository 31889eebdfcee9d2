"""Segmentation losses on logits (N, C, H, W) and class targets (N, H, W)."""
from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn


def _probs_and_onehot(logits: torch.Tensor, target: torch.Tensor):
    probs = logits.float().softmax(1)
    onehot = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)
    return probs, onehot


class SoftIoULoss(nn.Module):
    """The seed's soft IoU: -log(sum(p*g) / sum(p + g - p*g)) over all pixels and classes."""

    def forward(self, logits, target):
        p, g = _probs_and_onehot(logits, target)
        inter = (p * g).sum()
        union = (p + g - p * g).sum()
        return -torch.log(inter / union.clamp(min=1e-6))


class TverskyLoss(nn.Module):
    """1 - mean over classes of TP / (TP + alpha FP + beta FN); alpha = beta = 0.5 is Dice."""

    def __init__(self, alpha: float = 0.5, beta: float = 0.5, eps: float = 1.0):
        super().__init__()
        self.alpha, self.beta, self.eps = alpha, beta, eps

    def forward(self, logits, target):
        p, g = _probs_and_onehot(logits, target)
        dims = (0, 2, 3)
        tp = (p * g).sum(dims)
        fp = (p * (1 - g)).sum(dims)
        fn = ((1 - p) * g).sum(dims)
        score = (tp + self.eps) / (tp + self.alpha * fp + self.beta * fn + self.eps)
        return 1 - score.mean()


class DiceLoss(TverskyLoss):
    """Soft Dice loss, 1 - mean class Dice (Tversky with alpha = beta = 0.5)."""

    def __init__(self, eps: float = 1.0):
        super().__init__(0.5, 0.5, eps)


class FocalLoss(nn.Module):
    """Focal loss (Lin et al., 2017): mean of (1 - p_t)^gamma * CE."""

    def __init__(self, gamma: float = 2.0, weight: Optional[torch.Tensor] = None):
        super().__init__()
        self.gamma = gamma
        self.register_buffer("weight", weight)

    def forward(self, logits, target):
        ce = F.cross_entropy(logits.float(), target, weight=self.weight, reduction="none")
        pt = torch.exp(-F.cross_entropy(logits.float(), target, reduction="none"))
        return ((1 - pt) ** self.gamma * ce).mean()


class WeightedSum(nn.Module):
    """sum_i w_i * loss_i."""

    def __init__(self, losses: Dict[str, nn.Module], weights: Dict[str, float]):
        super().__init__()
        self.losses = nn.ModuleDict(losses)
        self.weights = dict(weights)

    def forward(self, logits, target):
        return sum(self.weights[k] * loss(logits, target) for k, loss in self.losses.items())


class SoftTargetCrossEntropy(nn.Module):
    """Cross-entropy against per-pixel target distributions (N, C, H, W).

    One loss for every kind of target semi-supervised training mixes: a label is a
    one-hot vector, a thresholded pseudo-label is one-hot or all-zero (ignored), a
    teacher's soft prediction is its probabilities (distillation). Pixels whose
    target sums to zero carry no loss; the mean is over the other pixels.
    """

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if target.shape != logits.shape or not target.is_floating_point():
            raise ValueError(
                f"SoftTargetCrossEntropy: expected float targets of the logits' shape {tuple(logits.shape)}, "
                f"got {target.dtype} {tuple(target.shape)}"
            )
        per_pixel = -(target * F.log_softmax(logits.float(), dim=1)).sum(1)
        valid = target.sum(1) > 0
        return per_pixel.sum() / valid.sum().clamp(min=1)


def _cross_entropy(weight: Optional[torch.Tensor]) -> nn.Module:
    return nn.CrossEntropyLoss(weight=weight)


LOSSES: Dict[str, Callable[[Optional[torch.Tensor]], nn.Module]] = {
    "ce": _cross_entropy,
    "iou": lambda w: SoftIoULoss(),
    "dice": lambda w: DiceLoss(),
    "focal": lambda w: FocalLoss(weight=w),
    "tversky": lambda w: TverskyLoss(alpha=0.3, beta=0.7),
}


def build_loss(spec: str, class_weights: Optional[Sequence[float]] = None) -> nn.Module:
    """Parse "ce", "ce+dice" or "ce:1,iou:0.5" into a (weighted sum of) loss(es).

    ``class_weights`` applies to the cross-entropy and focal terms.
    """
    weight = torch.tensor(class_weights, dtype=torch.float32) if class_weights else None
    parts: Dict[str, float] = {}
    for term in spec.replace("+", ",").split(","):
        name, _, w = term.strip().partition(":")
        if name not in LOSSES:
            raise ValueError(f"--loss: unknown loss {name!r} in {spec!r}; choose from {sorted(LOSSES)}")
        try:
            parts[name] = float(w) if w else 1.0
        except ValueError:
            raise ValueError(f"--loss: weight {w!r} of {name!r} is not a number") from None
    if len(parts) == 1 and next(iter(parts.values())) == 1.0:
        return LOSSES[next(iter(parts))](weight)
    return WeightedSum({k: LOSSES[k](weight) for k in parts}, parts)
