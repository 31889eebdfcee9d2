"""High-level inference: segment photos, then make overlays, cut-outs and new backgrounds."""
from __future__ import annotations

import functools
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ._factory import get_model_and_weights
from ._registry import BACKGROUND, BORDER, PET  # noqa: F401 (BACKGROUND re-exported for callers)
from .images import ImageInput, load_rgb
#: Mask PNG palette: pet orange, background dark blue, border light grey.
PALETTE = np.array([[255, 140, 0], [30, 40, 90], [200, 200, 200]], dtype=np.uint8)
_TILE_ROWS = 512


def fuse_conv_bn(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm2d that directly follows a Conv2d in an nn.Sequential into the conv.

    In place; ``model`` must be in eval mode (the running statistics are folded in).
    """
    if model.training:
        raise ValueError("fuse_conv_bn needs an eval-mode model (call .eval() first)")
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            if isinstance(seq[i], nn.Conv2d) and isinstance(seq[i + 1], nn.BatchNorm2d):
                seq[i] = fuse_conv_bn_eval(seq[i], seq[i + 1])
                seq[i + 1] = nn.Identity()
    return model


def prepare_for_inference(model: nn.Module) -> nn.Module:
    """Eval mode, BatchNorm folded into convs, channels_last weights (measured in benchmarks/inference.py)."""
    return fuse_conv_bn(model.eval()).to(memory_format=torch.channels_last)


def load_model(model: str, weights: str = "DEFAULT", device: str = "cpu", optimize: bool = True):
    """(eval-mode model, weights member), cached per process; ``optimize``: :func:`prepare_for_inference`."""
    return _cached_model(model, str(weights), device, optimize)


@functools.lru_cache(maxsize=8)
def _cached_model(model: str, weights: str, device: str, optimize: bool) -> Tuple[torch.nn.Module, object]:
    net, member = get_model_and_weights(model, weights)
    if member is None:
        raise ValueError(f"weights=None: {model} needs a published weight to segment (e.g. 'DEFAULT')")
    net = net.eval().to(device)
    return (prepare_for_inference(net) if optimize else net), member


def _upsample_argmax(logits: torch.Tensor, size: Tuple[int, int]) -> np.ndarray:
    """Bilinear upsampling of (C, h, w) logits to ``size``, then argmax, in row tiles.

    Tiling keeps memory at O(tile) for very large photos; results equal the untiled
    computation because align_corners=False sampling is position-wise.
    """
    h, w = size
    out = np.empty((h, w), dtype=np.uint8)
    lh, lw = logits.shape[-2:]
    ys = (torch.arange(h, dtype=torch.float32) + 0.5) * (lh / h) - 0.5
    xs = (torch.arange(w, dtype=torch.float32) + 0.5) * (lw / w) - 0.5
    gx = (xs + 0.5) / lw * 2 - 1
    for top in range(0, h, _TILE_ROWS):
        gy = (ys[top : top + _TILE_ROWS] + 0.5) / lh * 2 - 1
        grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], dim=-1)[None]
        tile = F.grid_sample(logits[None], grid, mode="bilinear", padding_mode="border", align_corners=False)
        out[top : top + len(gy)] = tile[0].argmax(0).to(torch.uint8).numpy()
    return out


@torch.inference_mode()
def segment(
    image: Union[ImageInput, Sequence[ImageInput]],
    model: str = "segnet_dsc",
    weights: str = "DEFAULT",
    device: Optional[str] = None,
    optimize: bool = True,
) -> Union[np.ndarray, List[np.ndarray]]:
    """Class-index mask(s) (0 pet, 1 background, 2 border) at each image's original size.

    ``image``: a path, PIL image, numpy array or tensor, or a list of them.
    ``optimize=False`` runs the model as built (no BatchNorm folding, no channels_last).
    """
    single = not isinstance(image, (list, tuple))
    images = [image] if single else list(image)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    net, member = load_model(model, weights, device, optimize)
    preset = member.transforms()
    masks = []
    for item in images:
        rgb = load_rgb(item, max_side=max(preset.size) * 8)
        x = preset(torch.from_numpy(rgb).permute(2, 0, 1))[None].to(device)
        if optimize:
            x = x.contiguous(memory_format=torch.channels_last)
        logits = net(x)[0].float().cpu().contiguous()
        masks.append(_upsample_argmax(logits, rgb.shape[:2]))
    return masks[0] if single else masks


def mask_image(mask: np.ndarray) -> Image.Image:
    """Palette PNG image of a class-index mask (pixel values stay 0, 1, 2)."""
    im = Image.fromarray(mask.astype(np.uint8), mode="P")
    im.putpalette(PALETTE.flatten().tolist())
    return im


def _as_rgb(image: ImageInput, mask: np.ndarray) -> np.ndarray:
    rgb = load_rgb(image, max_side=1 << 30)
    if rgb.shape[:2] != mask.shape:
        raise ValueError(f"image is {rgb.shape[1]}x{rgb.shape[0]} but mask is {mask.shape[1]}x{mask.shape[0]}")
    return rgb


def overlay(image: ImageInput, mask: np.ndarray, alpha: float = 0.5) -> Image.Image:
    """The photo with the class colours blended in."""
    rgb = _as_rgb(image, mask).astype(np.float32)
    out = (1 - alpha) * rgb + alpha * PALETTE[mask].astype(np.float32)
    return Image.fromarray(out.round().astype(np.uint8))


def alpha_matte(mask: np.ndarray) -> np.ndarray:
    """255 on pet, 128 on border, 0 on background."""
    return np.select([mask == PET, mask == BORDER], [255, 128], 0).astype(np.uint8)


def cutout(image: ImageInput, mask: np.ndarray) -> Image.Image:
    """RGBA cut-out of the pet (border half transparent)."""
    rgb = _as_rgb(image, mask)
    return Image.fromarray(np.dstack([rgb, alpha_matte(mask)]), mode="RGBA")


def parse_colour(text: str) -> Tuple[int, int, int]:
    """'#rrggbb', 'r,g,b' or a Pillow colour name -> RGB."""
    from PIL import ImageColor

    if "," in text:
        parts = [int(p) for p in text.split(",")]
        if len(parts) != 3 or not all(0 <= p <= 255 for p in parts):
            raise ValueError(f"colour {text!r}: expected 'r,g,b' with values 0..255")
        return tuple(parts)  # type: ignore[return-value]
    try:
        return ImageColor.getrgb(text)[:3]
    except ValueError:
        raise ValueError(f"colour {text!r}: not '#rrggbb', 'r,g,b' or a colour name") from None


def replace_background(
    image: ImageInput, mask: np.ndarray, background: Union[ImageInput, Tuple[int, int, int]]
) -> Image.Image:
    """The pet composited onto another image (stretched to fit) or a plain colour."""
    rgb = _as_rgb(image, mask).astype(np.float32)
    h, w = mask.shape
    if isinstance(background, tuple):
        bg = np.broadcast_to(np.array(background, np.float32), rgb.shape)
    else:
        bg_rgb = load_rgb(background)
        bg = np.array(Image.fromarray(bg_rgb).resize((w, h), Image.BILINEAR), np.float32)
    a = alpha_matte(mask).astype(np.float32)[..., None] / 255
    return Image.fromarray((a * rgb + (1 - a) * bg).round().astype(np.uint8))
