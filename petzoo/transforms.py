"""The one resize/normalise definition used by training, evaluation, inference and weights.

Images are stretched to H x W (aspect not kept, as the shared dataset copy is),
bilinear with antialias (or nearest, as the seed recipe did); masks use nearest. Then uint8 -> float in [0, 1] ->
normalised by ``mean``/``std``.
"""
from __future__ import annotations

from typing import Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from .images import check_image_tensor, load_rgb

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Size = Union[int, Sequence[int]]


def as_hw(size: Size) -> Tuple[int, int]:
    if isinstance(size, int):
        return size, size
    h, w = (int(s) for s in size)
    return h, w


INTERPOLATIONS = ("bilinear", "nearest")


def resize_image(image: torch.Tensor, size: Size, interpolation: str = "bilinear") -> torch.Tensor:
    """(…, C, H, W) uint8 or float image -> same dtype at ``size``.

    ``interpolation`` is "bilinear" (antialiased) or "nearest".
    """
    hw = as_hw(size)
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    if tuple(image.shape[-2:]) == hw:
        return image
    batch = image if image.dim() == 4 else image.unsqueeze(0)
    if interpolation == "nearest":
        out = F.interpolate(batch.float(), size=hw, mode="nearest-exact")
    else:
        out = F.interpolate(batch.float(), size=hw, mode="bilinear", antialias=True, align_corners=False)
    if image.dtype == torch.uint8:
        out = out.round_().clamp_(0, 255).to(torch.uint8)
    return out if image.dim() == 4 else out.squeeze(0)


def resize_mask(mask: torch.Tensor, size: Size) -> torch.Tensor:
    """(…, H, W) integer mask -> ``size`` with nearest neighbour."""
    hw = as_hw(size)
    if tuple(mask.shape[-2:]) == hw:
        return mask
    lead = mask.shape[:-2]
    flat = mask.reshape(-1, 1, *mask.shape[-2:]).float()
    out = F.interpolate(flat, size=hw, mode="nearest-exact")
    return out.to(mask.dtype).reshape(*lead, *hw)


class SegmentationPresetEval(nn.Module):
    """Inference preprocessing of a petzoo weight: the one path used by ``weights.transforms()``,
    :func:`petzoo.segment`, evaluation and export.

    Takes a PIL image (EXIF orientation applied), a path, a numpy array, or a tensor
    ``(C, H, W)`` / ``(N, C, H, W)`` that is uint8 (as from ``torchvision.io.read_image``)
    or float in [0, 1]; returns the float tensor the model takes, ``(3, H, W)`` at
    ``size`` (``(N, 3, H, W)`` for a batch). Images are stretched to ``size`` (aspect
    not kept, as in training), bilinear with antialias (or nearest), then normalised.
    """

    def __init__(
        self,
        size: Size,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        interpolation: str = "bilinear",
    ):
        super().__init__()
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
        self.size = as_hw(size)
        self.interpolation = interpolation
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)

    def forward(self, image) -> torch.Tensor:
        if isinstance(image, torch.Tensor):
            x = check_image_tensor(image)
        else:
            x = torch.from_numpy(load_rgb(image)).permute(2, 0, 1)
        return normalize(resize_image(x, self.size, self.interpolation), self.mean, self.std)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(size={self.size}, mean={self.mean}, std={self.std}, "
            f"interpolation={self.interpolation!r})"
        )


def normalize(image: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 (…, 3, H, W) -> float normalised."""
    x = image.float() / 255.0 if image.dtype == torch.uint8 else image.float()
    shape = (-1, 1, 1)
    return (x - torch.tensor(mean).view(shape)) / torch.tensor(std).view(shape)
