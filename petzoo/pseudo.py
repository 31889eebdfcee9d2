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
from pathlib import Path
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ._factory import get_model_and_weights, get_weight
from ._io import atomic_write, cache_dir
from ._registry import model_of_weights
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
            x = preset(images[start:start + batch_size]).contiguous(memory_format=torch.channels_last)
            probs = model(x).float().softmax(1)
            if tta:
                probs = (probs + model(x.flip(-1)).float().softmax(1).flip(-1)) / 2
            parts.append(F.interpolate(probs, size=size, mode="bilinear", align_corners=False))
        probs = torch.cat(parts)
        total = probs if total is None else total + probs
    return total / len(teachers)


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

