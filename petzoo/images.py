"""Turning real-world image input into RGB uint8, with clear errors naming the file.

Handled: grayscale, RGBA/LA/palette (alpha dropped), 16-bit PNG (grayscale and RGB;
integer data is scaled by the full scale of the smallest common sensor depth, 8, 10,
12, 14 or 16 bits, that holds its maximum, so 12-bit data in a 16-bit file is not
near-black), 32-bit integer and float image files (scaled by their range), CMYK JPEG,
EXIF orientation (applied), tiny images (any size >= 1 px), and large photos (JPEGs
are decoded at reduced scale when far larger than the model needs;
:func:`load_image` still reports the photo's full upright size, so results can be
made at that size). Truncated files, non-images, non-regular files (FIFOs, devices)
and images over Pillow's decompression-bomb limit raise :class:`ImageLoadError`.

Arrays and tensors passed in directly must hold what the API documents: uint8,
16-bit integers, or floats in [0, 1] with no NaN/inf; anything else is a ValueError.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Tuple, Union

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

ImageInput = Union[str, Path, Image.Image, np.ndarray, torch.Tensor]
_TRANSPOSED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


class ImageLoadError(ValueError):
    """An input could not be turned into an RGB image."""


def _full_scale(top: int) -> int:
    if top <= 255:
        return 255
    for bits in (10, 12, 14, 16):
        if top < 2**bits:
            return 2**bits - 1
    raise AssertionError(top)


def _scale_to_uint8(arr: np.ndarray, source: str, strict: bool) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32, copy=False)
        finite = np.isfinite(arr)
        if strict:
            if not finite.all():
                raise ImageLoadError(f"{source}: contains NaN or infinite values")
            lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
            if lo < 0 or hi > 1:
                raise ImageLoadError(f"{source}: float pixel values must lie in [0, 1], got {lo:.4g}..{hi:.4g}")
            top = 1.0
        else:  # float image files (mode F): scaled by their range
            arr = np.where(finite, arr, 0)
            top = max(1.0, float(arr.max(initial=0)))
        return (arr / top * 255).clip(0, 255).round().astype(np.uint8)
    if np.issubdtype(arr.dtype, np.integer):
        lo, hi = int(arr.min(initial=0)), int(arr.max(initial=0))
        if lo < 0 or hi > 65535:
            raise ImageLoadError(f"{source}: integer pixel values must lie in 0..65535, got {lo}..{hi}")
        return (arr.astype(np.float64) * (255 / _full_scale(hi))).round().astype(np.uint8)
    raise ImageLoadError(f"{source}: unsupported pixel type {arr.dtype}")


def _array_to_rgb(arr: np.ndarray, source: str, strict: bool = True) -> np.ndarray:
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or min(arr.shape[:2]) < 1:
        raise ImageLoadError(f"{source}: expected (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}")
    arr = _scale_to_uint8(arr, source, strict)
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return np.ascontiguousarray(arr[..., :3])


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation (1 = as stored)."""
    try:
        return int(im.getexif().get(0x0112, 1))
    except Exception:  # a broken EXIF block: exif_transpose will ignore it too
        return 1


_ORIENT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}  # as ImageOps.exif_transpose


def _rgb16_png(path: Path, source: str, orientation: int) -> np.ndarray:
    """A 16-bit RGB(A) PNG at full depth (Pillow keeps only the high byte of each sample)."""
    import cv2  # opencv-python-headless comes with albumentations

    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.ndim != 3:
        raise ImageLoadError(f"{source}: not a readable 16-bit PNG")
    rgb = Image.fromarray(_array_to_rgb(arr[..., [2, 1, 0]], source, strict=False))  # BGR(A) -> RGB
    method = _ORIENT.get(orientation)
    return np.array(rgb.transpose(method) if method is not None else rgb)


def _is_rgb16_png(im: Image.Image) -> bool:
    if im.format != "PNG" or im.mode not in ("RGB", "RGBA") or not im.tile:
        return False
    tile = im.tile[0]
    return str(tile[3] if isinstance(tile, tuple) else tile.args).endswith(";16B")


def _pil_to_rgb(im: Image.Image, source: str, max_side: int, path: Path = None) -> Tuple[np.ndarray, Tuple[int, int]]:
    rgb16 = path is not None and _is_rgb16_png(im)  # before getexif(), which loads a PNG
    orientation = _orientation(im)
    w, h = im.size
    size = (w, h) if orientation in _TRANSPOSED else (h, w)  # as shown, after the EXIF orientation
    if rgb16:
        return _rgb16_png(path, source, orientation), size
    if im.format == "JPEG" and max(im.size) > max_side:
        im.draft("RGB", (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 scale: bounded memory
    im = ImageOps.exif_transpose(im)
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _array_to_rgb(np.array(im), source, strict=False), size
    if im.mode in ("P", "PA", "LA", "RGBA"):
        im = im.convert("RGBA")
    return np.array(im.convert("RGB")), size


def check_image_tensor(image: torch.Tensor) -> torch.Tensor:
    """A (C, H, W) or (N, C, H, W) image tensor as 3-channel uint8 or float32 in [0, 1], or one
    ImageLoadError line: the one check of tensor input (the preset and :func:`load_image` share it)."""
    image = image.detach().cpu()
    shape = tuple(image.shape)
    if image.dim() not in (3, 4):
        raise ImageLoadError(f"image tensor: expected (C, H, W) or (N, C, H, W), got shape {shape}")
    channels = image.shape[-3]
    if channels not in (1, 3, 4):
        hint = " (it looks like (H, W, C): use .permute(2, 0, 1))" if image.shape[-1] in (1, 3, 4) else ""
        raise ImageLoadError(f"image tensor: expected 1, 3 or 4 channels in dim -3, got shape {shape}{hint}")
    if min(image.shape[-2:]) < 1:
        raise ImageLoadError(f"image tensor: empty image of shape {shape}")
    if image.dtype != torch.uint8:
        if not image.is_floating_point():
            raise ImageLoadError(f"image tensor: expected uint8 (0..255) or float in [0, 1], got {image.dtype}")
        image = image.float()  # bfloat16 / float16 too
        if not torch.isfinite(image).all():
            raise ImageLoadError("image tensor: contains NaN or infinite values")
        lo, hi = float(image.min()), float(image.max())
        if lo < 0 or hi > 1:
            raise ImageLoadError(f"image tensor: float values must lie in [0, 1], got {lo:.4g}..{hi:.4g}")
    if channels == 1:
        image = image.expand(*image.shape[:-3], 3, *image.shape[-2:])
    elif channels == 4:
        image = image[..., :3, :, :]  # alpha dropped, as for RGBA files
    return image


def load_image(image: ImageInput, max_side: int = 1 << 30) -> Tuple[np.ndarray, Tuple[int, int]]:
    """Any supported input -> ((H', W', 3) uint8 RGB array, (H, W) full upright size).

    ``max_side``: JPEGs larger than this may be decoded at a reduced scale (then
    (H', W') < (H, W)); everything else comes at full size.
    """
    if isinstance(image, (str, Path)):
        source = str(image)
        try:
            mode = os.stat(image).st_mode
        except FileNotFoundError:
            raise ImageLoadError(f"{source}: no such file") from None
        except OSError as err:
            raise ImageLoadError(f"{source}: cannot be read ({err.strerror or err})") from None
        if stat.S_ISDIR(mode):
            raise ImageLoadError(f"{source}: is a directory, not an image")
        if not stat.S_ISREG(mode):
            raise ImageLoadError(f"{source}: not a regular file (a FIFO, device or socket)")
        try:
            with Image.open(image) as im:
                return _pil_to_rgb(im, source, max_side, Path(image))
        except ImageLoadError:
            raise
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
        t = t[None] if t.dim() == 2 else t  # (H, W): one channel
        if t.dim() == 3 and t.shape[0] in (1, 3, 4) and t.dtype not in (torch.uint8, torch.bool) \
                and not t.is_floating_point():  # 16-bit and other integer data: the array path's scaling
            return load_image(t.permute(1, 2, 0).numpy())
        t = check_image_tensor(t)
        if t.dim() != 3:
            raise ImageLoadError(f"image tensor: expected one image (C, H, W) or (H, W), got shape {tuple(t.shape)}")
        t = t if t.dtype == torch.uint8 else (t * 255).round().to(torch.uint8)
        rgb = np.ascontiguousarray(t.permute(1, 2, 0).numpy())
    elif isinstance(image, np.ndarray):
        rgb = _array_to_rgb(image, "array")
    else:
        raise ImageLoadError(f"unsupported image input of type {type(image).__name__}")
    return rgb, rgb.shape[:2]


def load_rgb(image: ImageInput, max_side: int = 1 << 30) -> np.ndarray:
    """Any supported input -> (H, W, 3) uint8 RGB array (see :func:`load_image`).

    Tensors are (C, H, W) or (H, W), uint8 or float in [0, 1].
    """
    return load_image(image, max_side)[0]
