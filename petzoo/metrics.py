"""Segmentation metrics from one streaming confusion matrix."""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch

from ._registry import BACKGROUND, CATEGORIES


#: Above this many classes :func:`argmax_classes` leaves the work to ``torch.argmax``.
_RUNNING_MAX_CLASSES = 16


def argmax_classes(scores: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """``scores.argmax(dim)`` (int64; the first class wins a tie) for a few classes, by a running comparison
    over the class planes. Same result for finite scores, and far faster on a CPU, where torch's argmax over a
    short dimension that is not the innermost one is slow (3 x 427 x 640 logits: ~54 ms against ~2.5 ms on the
    2-core CPU here; it was most of ``segment()``'s time per photo)."""
    if scores.shape[dim] > _RUNNING_MAX_CLASSES or scores.shape[dim] == 0:
        return scores.argmax(dim)
    planes = scores.unbind(dim)
    best, index = planes[0], torch.zeros(planes[0].shape, dtype=torch.int64, device=scores.device)
    for c, plane in enumerate(planes[1:], 1):
        better = plane > best
        best = torch.where(better, plane, best)
        index.masked_fill_(better, c)
    return index


class ConfusionMatrix:
    """Accumulates ``mat[truth, pred]`` pixel counts over batches (int64, any device)."""

    def __init__(self, num_classes: int = len(CATEGORIES), ignore_index: Optional[int] = None):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.mat = torch.zeros(num_classes, num_classes, dtype=torch.int64)

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """``pred``: class ids (N, H, W) or logits (N, C, H, W); ``target``: (N, H, W)."""
        if pred.dim() == target.dim() + 1:
            pred = argmax_classes(pred, 1)
        if pred.shape != target.shape:
            raise ValueError(f"prediction shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
        pred, target = pred.reshape(-1).long(), target.reshape(-1).long()
        keep = (target >= 0) & (target < self.num_classes)
        if self.ignore_index is not None:
            keep &= target != self.ignore_index
        idx = target[keep] * self.num_classes + pred[keep]
        counts = torch.bincount(idx, minlength=self.num_classes**2)
        self.mat += counts.reshape(self.num_classes, self.num_classes).cpu()

    def compute(self) -> Dict[str, object]:
        return metrics_from_matrix(self.mat)


def _div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(b > 0, a / b.clamp(min=1), torch.full_like(a, float("nan")))


def metrics_from_matrix(mat: torch.Tensor, names: Sequence[str] = CATEGORIES) -> Dict[str, object]:
    """Pixel accuracy, per-class IoU and Dice, mIoU, and the seed articles' IoU.

    The seed IoU drops pixels whose truth is background, then takes the micro
    Jaccard over the other classes: sum TP / sum (TP + FP + FN) (what torchmetrics
    ``MulticlassJaccardIndex(3, average="micro", ignore_index=1)`` computes).
    Classes absent from both truth and prediction get NaN and are left out of means.
    """
    mat = mat.double()
    tp = mat.diag()
    fp = mat.sum(0) - tp
    fn = mat.sum(1) - tp
    iou = _div(tp, tp + fp + fn)
    dice = _div(2 * tp, 2 * tp + fp + fn)
    total = mat.sum()
    no_bg = mat.clone()
    no_bg[BACKGROUND, :] = 0
    keep = [c for c in range(mat.shape[0]) if c != BACKGROUND]
    tp_k = no_bg.diag()[keep]
    err_k = (no_bg.sum(0) - no_bg.diag())[keep] + (no_bg.sum(1) - no_bg.diag())[keep]
    seed = _div(tp_k.sum(), tp_k.sum() + err_k.sum())
    return {
        "pixel_acc": float(_div(tp.sum(), total)),
        "miou": float(iou.nanmean()),
        "mdice": float(dice.nanmean()),
        "seed_iou": float(seed),
        "iou": {n: float(v) for n, v in zip(names, iou)},
        "dice": {n: float(v) for n, v in zip(names, dice)},
        "pixels": int(total),
    }
