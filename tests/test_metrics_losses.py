"""Confusion-matrix metrics (vs hand-computed matrices and torchmetrics) and losses."""
from __future__ import annotations

import pytest
import torch

from petzoo.losses import DiceLoss, FocalLoss, SoftIoULoss, TverskyLoss, WeightedSum, build_loss
from petzoo.metrics import ConfusionMatrix, metrics_from_matrix


def test_metrics_from_a_hand_computed_matrix():
    # rows = truth (pet, background, border), columns = prediction
    mat = torch.tensor([[50, 5, 5], [10, 100, 0], [5, 5, 20]])
    m = metrics_from_matrix(mat)
    assert m["pixel_acc"] == pytest.approx(170 / 200)
    assert m["iou"]["pet"] == pytest.approx(50 / (50 + 15 + 10))
    assert m["iou"]["background"] == pytest.approx(100 / (100 + 10 + 10))
    assert m["iou"]["border"] == pytest.approx(20 / (20 + 5 + 10))
    assert m["dice"]["pet"] == pytest.approx(100 / (100 + 15 + 10))
    # seed IoU: background-truth row dropped, micro over pet and border
    assert m["seed_iou"] == pytest.approx((50 + 20) / ((50 + 20) + (5 + 5) + (10 + 10)))


def test_streaming_equals_one_shot_and_accepts_logits():
    torch.manual_seed(0)
    logits = torch.randn(6, 3, 8, 8)
    target = torch.randint(0, 3, (6, 8, 8))
    one = ConfusionMatrix()
    one.update(logits, target)
    streamed = ConfusionMatrix()
    for i in range(0, 6, 2):
        streamed.update(logits[i : i + 2].argmax(1), target[i : i + 2])
    assert torch.equal(one.mat, streamed.mat)
    assert one.mat.sum() == 6 * 64


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="prediction shape"):
        ConfusionMatrix().update(torch.zeros(1, 4, 4), torch.zeros(1, 5, 5))


def test_against_torchmetrics():
    tm = pytest.importorskip("torchmetrics.classification")
    torch.manual_seed(1)
    target = torch.randint(0, 3, (4, 32, 32))
    pred = torch.where(torch.rand(4, 32, 32) < 0.7, target, torch.randint(0, 3, (4, 32, 32)))
    cm = ConfusionMatrix()
    cm.update(pred, target)
    m = cm.compute()
    assert m["pixel_acc"] == pytest.approx(tm.MulticlassAccuracy(3, average="micro")(pred, target).item())
    per_class = tm.MulticlassJaccardIndex(3, average="none")(pred, target)
    assert list(m["iou"].values()) == pytest.approx(per_class.tolist())
    assert m["miou"] == pytest.approx(tm.MulticlassJaccardIndex(3, average="macro")(pred, target).item())
    seed = tm.MulticlassJaccardIndex(3, average="micro", ignore_index=1)(pred, target).item()
    assert m["seed_iou"] == pytest.approx(seed)


def _perfect(n=2, size=8):
    target = torch.randint(0, 3, (n, size, size))
    logits = torch.nn.functional.one_hot(target, 3).permute(0, 3, 1, 2).float() * 50
    return logits, target


@pytest.mark.parametrize("loss", [SoftIoULoss(), DiceLoss(), TverskyLoss(0.3, 0.7), FocalLoss()])
def test_losses_vanish_on_perfect_predictions_and_give_gradients(loss):
    logits, target = _perfect()
    assert loss(logits, target).item() == pytest.approx(0, abs=1e-3)
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    value = loss(x, target)
    value.backward()
    assert value.item() > 0.05 and x.grad.abs().sum() > 0


def test_soft_iou_is_minus_log_of_the_seed_formula():
    torch.manual_seed(2)
    logits, target = torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 4, 4))
    p = logits.softmax(1)
    g = torch.nn.functional.one_hot(target, 3).permute(0, 3, 1, 2).float()
    expected = -torch.log((p * g).sum() / (p + g - p * g).sum())
    assert SoftIoULoss()(logits, target).item() == pytest.approx(expected.item())


def test_build_loss_parses_sums_and_class_weights():
    loss = build_loss("ce:1,dice:0.5")
    assert isinstance(loss, WeightedSum) and loss.weights == {"ce": 1.0, "dice": 0.5}
    logits, target = torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 4, 4))
    expected = torch.nn.functional.cross_entropy(logits, target) + 0.5 * DiceLoss()(logits, target)
    assert loss(logits, target).item() == pytest.approx(expected.item())
    weighted = build_loss("ce", class_weights=[1.0, 0.5, 2.0])
    assert torch.equal(weighted.weight, torch.tensor([1.0, 0.5, 2.0]))
    with pytest.raises(ValueError, match="--loss: unknown loss 'bce'"):
        build_loss("ce+bce")


@pytest.mark.parametrize("shape,dim", [((3, 43, 64), 0), ((2, 3, 5, 7), 1), ((4, 5, 9), 1), ((3, 1, 1), 0)])
def test_argmax_classes_is_torch_argmax_ties_included(shape, dim):
    from petzoo.metrics import argmax_classes

    gen = torch.Generator().manual_seed(0)
    ties = torch.randint(-2, 3, shape, generator=gen).float()  # most pixels have a tie for the best class
    assert (ties == ties.amax(dim, keepdim=True)).sum(dim).gt(1).any()
    for scores in (ties, torch.randn(shape, generator=gen)):
        got = argmax_classes(scores, dim)
        assert got.dtype == torch.int64 and torch.equal(got, scores.argmax(dim))
    many = torch.randn(2, 20, 3, generator=gen)  # above the running comparison's class limit: torch's argmax
    assert torch.equal(argmax_classes(many, 1), many.argmax(1))
