"""Training and evaluation loops shared by the reference scripts and the API."""
from __future__ import annotations

import contextlib
import time
from typing import Callable, Dict, Iterable, Mapping, Optional

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .datasets import OxfordIIITPet
from .metrics import ConfusionMatrix, argmax_classes
from .transforms import SegmentationPresetEval, resize_mask


def autocast(device: torch.device, enabled: bool):
    """bfloat16 autocast on CPU and CUDA when ``enabled`` (no loss scaling needed)."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    criterion: Callable,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    scheduler: Optional[torch.optim.lr_scheduler.LRScheduler] = None,
    amp: bool = False,
    channels_last: bool = False,
    progress: bool = True,
    desc: str = "train",
    prepare: Optional[Callable] = None,
    report: Optional[Callable[[str], None]] = None,
    report_every: float = 300.0,
) -> Dict[str, float]:
    """One pass over ``loader``; the scheduler (if any) steps per iteration.

    ``report``, when given, receives a line at most every ``report_every`` seconds with the
    samples done, the throughput and the minutes left in the epoch at that rate, so that a
    run without a progress bar (in the background, in a log) shows early whether it fits
    its budget.

    ``prepare`` turns each batch into (images, targets) before the forward pass (e.g.
    :class:`petzoo.pseudo.WeakToStrong` labels unlabeled images with the model itself),
    or into (images, targets, context) where the forward pass runs inside ``context``
    (:class:`petzoo.pseudo.UniMatch` perturbs features for that pass); by default a batch
    is (images, targets). The returned loss is the mean over all samples of all ranks.
    """
    model.train()
    total, count = torch.zeros((), device=device), 0
    try:
        expected = len(loader) * loader.batch_size
    except (TypeError, AttributeError):
        expected = None
    started = last_report = time.monotonic()
    for batch in tqdm(loader, desc=desc, disable=not progress, leave=False):
        prepared = prepare(batch) if prepare is not None else batch
        images, masks = prepared[0], prepared[1]
        context = prepared[2] if len(prepared) > 2 else contextlib.nullcontext()
        images = images.to(device, non_blocking=True)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        masks = masks.to(device, non_blocking=True)
        with autocast(device, amp), context:
            loss = criterion(model(images).float(), masks)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += loss.detach() * len(images)
        count += len(images)
        if report is not None and (now := time.monotonic()) - last_report >= report_every:
            last_report = now
            rate = count / max(last_report - started, 1e-9)
            left = f", ~{(expected - count) / rate / 60:.1f} min left in the epoch" if expected else ""
            report(f"{desc}: {count}/{expected if expected else '?'} samples, {rate:.2f} img/s{left}")
    sums = torch.stack([total, torch.tensor(float(count), device=device)])
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.all_reduce(sums)  # the epoch loss over every rank's samples
    return {"loss": float(sums[0] / sums[1].clamp(min=1)), "lr": optimizer.param_groups[0]["lr"]}


@torch.inference_mode()
def evaluate_tensors(
    model: nn.Module,
    loader: Iterable,
    device: torch.device,
    num_classes: int,
    amp: bool = False,
    channels_last: bool = False,
) -> ConfusionMatrix:
    """Confusion matrix at the model's resolution over (image, mask) batches."""
    model.eval()
    cm = ConfusionMatrix(num_classes)
    for images, masks in loader:
        images = images.to(device)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with autocast(device, amp):
            logits = model(images)
        cm.update(argmax_classes(logits, 1).cpu(), masks)
    return cm


@torch.inference_mode()
def evaluate_dataset(
    model: nn.Module,
    dataset: OxfordIIITPet,
    preset: SegmentationPresetEval,
    device: torch.device,
    batch_size: int = 16,
    num_classes: int = 3,
    progress: bool = True,
) -> Dict[str, Dict[str, object]]:
    """Metrics at the model's resolution and at each label's own resolution.

    Images go through ``preset`` (a weight's ``transforms()``), the same path as
    :func:`petzoo.segment`. Label resolution: logits are upsampled bilinearly to the
    trimap's size, then argmax. Works with images of varying sizes (the full dataset's).
    """
    model.eval()
    at_model, at_label = ConfusionMatrix(num_classes), ConfusionMatrix(num_classes)
    for start in tqdm(range(0, len(dataset), batch_size), desc=f"eval {dataset.split}", disable=not progress, leave=False):
        items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        x = torch.stack([preset(img) for img, _ in items])
        logits = model(x.to(device)).float().cpu()
        for logit, (_, mask) in zip(logits, items):
            at_model.update(argmax_classes(logit, 0)[None], resize_mask(mask, preset.size)[None])
            up = F.interpolate(logit[None], size=mask.shape[-2:], mode="bilinear", align_corners=False)
            at_label.update(argmax_classes(up, 1), mask[None])
    return {"model_resolution": at_model.compute(), "label_resolution": at_label.compute()}


def oxford_splits(data_path, splits) -> Dict[str, OxfordIIITPet]:
    """{name: dataset} of the Oxford-IIIT Pet splits named in ``splits`` (a list or "a,b")."""
    names = splits.split(",") if isinstance(splits, str) else list(splits)
    return {s: OxfordIIITPet(data_path, s) for s in names if s}


def evaluate_splits(
    model: nn.Module,
    datasets: Mapping[str, OxfordIIITPet],
    preset: SegmentationPresetEval,
    device: torch.device,
    batch_size: int = 16,
    progress: bool = True,
    report: Optional[Callable[[str], None]] = print,
) -> Dict[str, Dict[str, Dict[str, object]]]:
    """:func:`evaluate_dataset` on each named split with one preset (a weight's
    ``transforms()``); ``report`` gets one line per split."""
    results = {}
    for split, ds in datasets.items():
        results[split] = evaluate_dataset(model, ds, preset, device, batch_size=batch_size, progress=progress)
        m = results[split]["label_resolution"]
        if report:
            report(
                f"{split} ({len(ds)} images): pixel_acc {m['pixel_acc']:.4f}  miou {m['miou']:.4f}"
                f"  seed_iou {m['seed_iou']:.4f}  (label resolution)"
            )
    return results
