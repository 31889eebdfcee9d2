"""Turning real-world image input into RGB uint8, with clear errors naming the file.

Handled: grayscale, RGBA/LA/palette (alpha dropped), 16-bit PNG (scaled to 8 bit,
not clipped), 32-bit integer and float images (scaled by their range), CMYK JPEG,
EXIF orientation (applied), tiny images (any size >= 1 px), and large photos
(JPEGs are decoded at reduced scale when far larger than the model needs).
Truncated files, non-images and images over Pillow's decompression-bomb limit
raise :class:`ImageLoadError`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

ImageInput = Union[str, Path, Image.Image, np.ndarray, torch.Tensor]


class ImageLoadError(ValueError):
    """An input could not be turned into an RGB image."""


def _scale_to_uint8(arr: np.ndarray, source: str) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        top = 1.0 if arr.size == 0 or float(np.nanmax(arr)) <= 1.0 else float(np.nanmax(arr))
        return (np.nan_to_num(arr) / top * 255).clip(0, 255).round().astype(np.uint8)
    if np.issubdtype(arr.dtype, np.integer):
        top = 65535 if arr.max(initial=0) > 255 else 255  # 16-bit data: scale, never clip
        if arr.max(initial=0) > 65535 or arr.min(initial=0) < 0:
            raise ImageLoadError(f"{source}: pixel values outside 0..65535 are not supported")
        return (arr.astype(np.float64) * (255 / top)).round().astype(np.uint8)
    raise ImageLoadError(f"{source}: unsupported pixel type {arr.dtype}")


def _array_to_rgb(arr: np.ndarray, source: str) -> np.ndarray:
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or min(arr.shape[:2]) < 1:
        raise ImageLoadError(f"{source}: expected (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}")
    arr = _scale_to_uint8(arr, source)
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return np.ascontiguousarray(arr[..., :3])


def _pil_to_rgb(im: Image.Image, source: str, max_side: int) -> np.ndarray:
    if im.format == "JPEG" and max(im.size) > max_side:
        im.draft("RGB", (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 scale: bounded memory
    im = ImageOps.exif_transpose(im)
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _array_to_rgb(np.array(im), source)
    if im.mode in ("P", "PA", "LA", "RGBA"):
        im = im.convert("RGBA")
    return np.array(im.convert("RGB"))


def load_rgb(image: ImageInput, max_side: int = 4096) -> np.ndarray:
    """Any supported input -> (H, W, 3) uint8 RGB array.

    ``max_side``: JPEGs larger than this are decoded at a reduced scale (the model
    runs at 128 px; the returned size is then the reduced one).
    Tensors are (C, H, W) or (H, W), uint8 or float in [0, 1].
    """
    if isinstance(image, (str, Path)):
        source = str(image)
        try:
            with Image.open(image) as im:
                return _pil_to_rgb(im, source, max_side)
        except FileNotFoundError:
            raise ImageLoadError(f"{source}: no such file") from None
        except IsADirectoryError:
            raise ImageLoadError(f"{source}: is a directory, not an image") from None
        except Image.DecompressionBombError as err:
            raise ImageLoadError(f"{source}: too large to decode safely ({err})") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            raise ImageLoadError(f"{source}: not a readable image ({err})") from None
    if isinstance(image, Image.Image):
        try:
            return _pil_to_rgb(image, "PIL image", max_side)
        except OSError as err:
            raise ImageLoadError(f"PIL image: not decodable ({err})") from None
    if isinstance(image, torch.Tensor):
        t = image.detach().cpu()
        arr = t.numpy() if t.dim() == 2 else t.permute(1, 2, 0).numpy() if t.dim() == 3 else None
        if arr is None:
            raise ImageLoadError(f"tensor: expected (C, H, W) or (H, W), got {tuple(t.shape)}")
        return _array_to_rgb(arr, "tensor")
    if isinstance(image, np.ndarray):
        return _array_to_rgb(image, "array")
    raise ImageLoadError(f"unsupported image input of type {type(image).__name__}")

