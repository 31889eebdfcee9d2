"""Teacher soft labels for semi-supervised training (offline self-training, ST++-style).

A teacher is one or more models, each with its weight's preset; their softmax
outputs (optionally averaged with the horizontal flip, "TTA") are averaged. Soft
labels of a set of images are cached in ``$PETZOO_CACHE/pseudo/`` keyed by the
teachers' weight sha256, the TTA setting, the label size and the images' content
fingerprint, written atomically, and rebuilt by ``train_reference/pseudo_labels.py``.
Nothing here is ever written into the repository.
"""
from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from pathlib import Path
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ._factory import get_model_and_weights, get_weight
from ._io import atomic_write, cache_dir
from ._registry import model_of_weights
from .data import cutmix, one_hot_targets
from .transforms import SegmentationPresetEval

#: (identity for the cache key, eval-mode model, its preset)
Teacher = Tuple[str, torch.nn.Module, SegmentationPresetEval]
IGNORE_INDEX = 255


def _fast(model: torch.nn.Module) -> torch.nn.Module:
    """Eval mode, BatchNorm folded, channels_last (``petzoo.inference.prepare_for_inference``): about 2x
    faster on a CPU, with the same predictions up to float rounding."""
    from .inference import prepare_for_inference

    return prepare_for_inference(model.eval())


def published_teachers(names: Sequence[str]) -> List[Teacher]:
    """Teachers from full weight names, e.g. ["UNet_Weights.DEFAULT", "FCN_Weights.OXFORD_PET_V1"]."""
    teachers = []
    for name in names:
        member = get_weight(name)
        model, member = get_model_and_weights(model_of_weights(type(member)), member)
        teachers.append((member.sha256, _fast(model), member.transforms()))
    return teachers


def file_teacher(spec: str) -> Teacher:
    """A teacher from ``MODEL:SIZE:PATH.safetensors[:JSON builder kwargs]`` (e.g. a run's best.safetensors)."""
    from safetensors.torch import load_file

    from ._factory import get_model
    from ._weights import sha256_of, to_float32

    parts = spec.split(":", 3)
    if len(parts) < 3 or not parts[1].isdigit():
        raise ValueError(f"teacher file {spec!r}: expected MODEL:SIZE:PATH[:JSON kwargs]")
    path = Path(parts[2])
    if not path.is_file():
        raise ValueError(f"teacher file {spec!r}: {path} does not exist")
    model = get_model(parts[0], **(json.loads(parts[3]) if len(parts) == 4 else {}))
    model.load_state_dict(to_float32(load_file(str(path))), strict=True)
    return sha256_of(path), _fast(model), SegmentationPresetEval(int(parts[1]))


def _probs(model: torch.nn.Module, x: torch.Tensor, tta: bool) -> torch.Tensor:
    """A teacher's softmax (N, C, h, w) on preprocessed ``x`` at its own resolution, averaged with the
    horizontal flip's (un-flipped) when ``tta``."""
    from .inference import forward_batched  # CPU passes of CPU_BATCH_PIXELS: 2x the throughput at 256 px

    x = x.contiguous(memory_format=torch.channels_last)
    probs = forward_batched(model, x).float().softmax(1)
    if tta:
        probs = (probs + forward_batched(model, x.flip(-1)).float().softmax(1).flip(-1)) / 2
    return probs


@torch.inference_mode()
def soft_labels(teachers: Sequence[Teacher], images: torch.Tensor, tta: bool = True, batch_size: int = 32,
                progress: bool = True) -> torch.Tensor:
    """Mean teacher probabilities (N, C, H, W) float32 of uint8 images (N, 3, H, W), at the images' size."""
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise ValueError(f"images: expected uint8 (N, 3, H, W), got {images.dtype} {tuple(images.shape)}")
    size = tuple(images.shape[-2:])
    total = None
    for _, model, preset in teachers:
        parts = []
        for start in tqdm(range(0, len(images), batch_size), desc="teacher", disable=not progress, leave=False):
            probs = _probs(model, preset(images[start:start + batch_size]), tta)
            parts.append(F.interpolate(probs, size=size, mode="bilinear", align_corners=False))
        probs = torch.cat(parts)
        total = probs if total is None else total + probs
    return total / len(teachers)


@torch.inference_mode()
def evaluate_teachers(teachers: Sequence[Teacher], dataset, tta: bool = True, progress: bool = True) -> dict:
    """Metrics of the teachers' mean prediction on a labeled split at each label's own resolution
    (each teacher at its own preset, probabilities upsampled to the trimap's size, then averaged):
    how good the targets a student learns from are. For reporting only; never to choose anything."""
    from .metrics import ConfusionMatrix

    cm = ConfusionMatrix(3)
    for i in tqdm(range(len(dataset)), desc=f"teachers on {dataset.split}", disable=not progress, leave=False):
        image, mask = dataset[i]
        total = 0
        for _, model, preset in teachers:
            probs = _probs(model, preset(image)[None], tta)
            total = total + F.interpolate(probs, size=mask.shape[-2:], mode="bilinear", align_corners=False)
        cm.update(total.argmax(1), mask[None])
    return cm.compute()


def hard_labels(probs: torch.Tensor, threshold: float) -> torch.Tensor:
    """Class ids (N, H, W) uint8; pixels whose top probability is below ``threshold`` get IGNORE_INDEX."""
    if probs.dtype == torch.uint8:
        probs = probs.float() / 255
    conf, labels = probs.max(1)
    labels = labels.to(torch.uint8)
    labels[conf < threshold] = IGNORE_INDEX
    return labels


def cache_key(teachers: Sequence[Teacher], tta: bool, size: Sequence[int], fingerprint: str) -> str:
    src = json.dumps({"teachers": sorted(t[0] for t in teachers), "tta": tta, "size": list(size),
                      "data": fingerprint})
    return hashlib.sha256(src.encode()).hexdigest()[:16]


def cached_soft_labels(teachers: Sequence[Teacher], images: torch.Tensor, fingerprint: str, tta: bool = True,
                       progress: bool = True) -> Tuple[torch.Tensor, Path]:
    """uint8 probabilities x 255 (N, C, H, W) of ``images`` from the cache, computed and stored once."""
    path = cache_dir() / "pseudo" / f"soft_{cache_key(teachers, tta, images.shape[-2:], fingerprint)}.pt"
    if path.is_file():
        return torch.load(path, weights_only=True)["probs"], path
    probs = (soft_labels(teachers, images, tta=tta, progress=progress) * 255).round().to(torch.uint8)
    meta = {"teachers": [t[0] for t in teachers], "tta": tta, "fingerprint": fingerprint}
    atomic_write(path, lambda tmp: torch.save({"probs": probs, "meta": meta}, tmp))
    return probs, path


class WeakToStrong:
    """The training step's targets in online weak-to-strong consistency (FixMatch).

    Called on a :class:`petzoo.data.WeakStrongSet` batch (strong, weak, target, labeled), it
    predicts the weak views with the current model (no gradient, eval mode), turns each
    unlabeled image's prediction into a hard pseudo-label (ignored, all-zero, where the
    probability is below ``threshold``), keeps the labeled images' labels, applies CutMix
    (probability ``cutmix``) to the strong views and their targets alike, and returns
    (strong views, targets) for the soft-target cross-entropy. ``confident_share()``: the share
    of unlabeled pixels that got a label since the last ``reset()``.
    """

    def __init__(self, model: torch.nn.Module, threshold: float, cutmix: float = 0.0,
                 device: torch.device = torch.device("cpu"), channels_last: bool = False):
        if not 0 <= threshold <= 1:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        self.model, self.threshold, self.cutmix = model, threshold, cutmix
        self.device, self.channels_last = device, channels_last
        self.reset()

    def reset(self) -> None:
        self.confident, self.pixels = 0, 0

    def confident_share(self) -> float:
        return self.confident / max(self.pixels, 1)

    @torch.no_grad()
    def pseudo_labels(self, weak: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(one-hot targets, all-zero where not confident; confident mask) of the weak views."""
        was_training = self.model.training
        self.model.eval()
        x = weak.to(self.device)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        probs = F.softmax(self.model(x).float(), dim=1)
        self.model.train(was_training)
        labels = hard_labels(probs, self.threshold)
        return one_hot_targets(labels, probs.shape[1], IGNORE_INDEX).float() / 255, labels != IGNORE_INDEX

    def labeled(self, batch) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(strong views, targets with the unlabeled images' pseudo-labels, weak views, unlabeled mask)."""
        strong, weak, target, labeled = batch
        target = target.to(self.device)
        unlabeled = ~labeled.to(self.device)
        if unlabeled.any():
            pseudo, keep = self.pseudo_labels(weak[unlabeled.cpu()])
            target[unlabeled] = pseudo
            self.confident += int(keep.sum())
            self.pixels += keep.numel()
        return strong.to(self.device), target, weak.to(self.device), unlabeled

    def __call__(self, batch) -> Tuple[torch.Tensor, torch.Tensor]:
        strong, target, _, _ = self.labeled(batch)
        return cutmix(strong, target, self.cutmix)


def channel_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Drop whole channels per sample with probability ``p`` (kept ones scaled by 1/(1-p)): Dropout2d on a
    feature map (N, C, H, W), the same on a token sequence (N, L, D) whose channels are the last dim."""
    if x.dim() == 4:
        return F.dropout2d(x, p, training=True)
    if x.dim() == 3:
        keep = torch.empty(x.shape[0], 1, x.shape[2], device=x.device, dtype=x.dtype).bernoulli_(1 - p)
        return x * keep / (1 - p)
    raise ValueError(f"channel_dropout: expected a (N, C, H, W) map or (N, L, D) tokens, got shape {tuple(x.shape)}")


class FeatureDropout:
    """A model's ``feature_perturbation`` for one forward pass of a batch of ``batch`` samples: channel
    dropout (probability ``p``) on the encoder features of samples ``start`` and after, the others
    untouched."""

    def __init__(self, p: float, start: int, batch: int):
        self.p, self.start, self.batch = p, start, batch

    def __call__(self, feature: torch.Tensor) -> torch.Tensor:
        if feature.shape[0] != self.batch:
            raise RuntimeError(f"FeatureDropout: armed for a batch of {self.batch}, got {feature.shape[0]} samples")
        return torch.cat([feature[:self.start], channel_dropout(feature[self.start:], self.p)])


class UniMatch(WeakToStrong):
    """FixMatch plus UniMatch's feature-perturbation stream (Yang et al., CVPR 2023).

    The strong views are trained on the weak views' pseudo-labels as in :class:`WeakToStrong`; in the
    same forward pass the unlabeled images' *weak* views go through the model a second time with
    channel dropout (probability ``fp_dropout``, UniMatch's 0.5) on every encoder feature the decoder
    reads (:meth:`petzoo.models.SegmentationModel.decoder_input`), and are trained on the same
    pseudo-labels. Returns (images, targets, forward context): the context arms the perturbation for
    that one forward pass of ``train_one_epoch`` and disarms it after.
    """

    def __init__(self, model: torch.nn.Module, threshold: float, cutmix: float = 0.0,
                 device: torch.device = torch.device("cpu"), channels_last: bool = False, fp_dropout: float = 0.5):
        if not hasattr(model, "decoder_input"):
            raise ValueError(f"UniMatch: {type(model).__name__} has no decoder_input (not a petzoo SegmentationModel)")
        if not 0 < fp_dropout < 1:
            raise ValueError(f"fp_dropout must be in (0, 1), got {fp_dropout}")
        super().__init__(model, threshold, cutmix, device, channels_last)
        self.fp_dropout = fp_dropout

    @contextmanager
    def perturbing(self, start: int, batch: int):
        self.model.feature_perturbation = FeatureDropout(self.fp_dropout, start, batch)
        try:
            yield
        finally:
            self.model.feature_perturbation = None

    def __call__(self, batch):
        strong, target, weak, unlabeled = self.labeled(batch)
        strong, strong_target = cutmix(strong, target, self.cutmix)  # copies what it mixes
        images = torch.cat([strong, weak[unlabeled]])
        targets = torch.cat([strong_target, target[unlabeled]])
        return images, targets, self.perturbing(len(strong), len(images))


#: ``train.py --semi`` name -> its training step.
ONLINE_STEPS = {"fixmatch": WeakToStrong, "unimatch": UniMatch}
