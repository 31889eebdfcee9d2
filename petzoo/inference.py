"""High-level inference: segment photos, then make overlays, cut-outs and new backgrounds.

Every result has the photo's own upright size (EXIF applied), whatever its size:
large JPEGs are decoded at a reduced scale for the model only, and the compositing
runs in row tiles, so memory stays bounded on 12- to 24-MP photos. Bad arguments
(non-finite or out-of-range arrays, colours, alpha, mask values) raise ValueError
in one line.
"""
from __future__ import annotations

import functools
import warnings
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ._factory import get_model_and_weights
from ._registry import BACKGROUND, BORDER, DEFAULT_MODEL, PET
from .images import ImageInput, load_image, load_rgb
from .metrics import argmax_classes

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
    # Modules whose forward runs a conv then a BatchNorm held as attributes (timm's blocks) name the pairs.
    for owner in [m for m in model.modules() if hasattr(m, "conv_bn_pairs")]:
        for parent, conv_name, bn_name in owner.conv_bn_pairs():
            bn = getattr(parent, bn_name)
            setattr(parent, conv_name, fuse_conv_bn_eval(getattr(parent, conv_name), bn))
            # a BatchNorm with its activation fused in (timm's BatchNormAct2d) keeps the activation
            rest = [m for name, m in bn.named_children() if not isinstance(m, nn.Identity)]
            setattr(parent, bn_name, nn.Sequential(*rest) if rest else nn.Identity())
    return model


def prepare_for_inference(model: nn.Module) -> nn.Module:
    """Eval mode, BatchNorm folded into convs, channels_last weights (measured in benchmarks/inference.py)."""
    return fuse_conv_bn(model.eval()).to(memory_format=torch.channels_last)


#: The most input pixels one CPU forward pass takes (16 images at 128 px, 7 at 192, 4 at 256); a larger batch
#: runs as several passes (:func:`forward_batched`). Past it, throughput falls instead of rising: the activations
#: of a whole batch of 32 outgrow the allocator's reusable heap, and every pass page-faults them in afresh
#: (measured in benchmarks/batch_split.py, which chose this size).
CPU_BATCH_PIXELS = 16 * 128 * 128


def images_per_pass(height: int, width: int, max_pixels: int = CPU_BATCH_PIXELS) -> int:
    """How many ``height`` x ``width`` images one pass of :func:`forward_batched` takes (at least one)."""
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be >= 1, got {max_pixels}")
    return max(1, max_pixels // (height * width))


def forward_batched(net, x: torch.Tensor, max_pixels: int = CPU_BATCH_PIXELS) -> torch.Tensor:
    """``net(x)`` for a batch ``x`` (N, C, H, W), run on the CPU as passes of at most ``max_pixels`` input pixels
    (at least one image each) and concatenated; one pass elsewhere or when the batch fits."""
    per_pass = images_per_pass(x.shape[-2], x.shape[-1], max_pixels)
    if x.device.type != "cpu" or len(x) <= per_pass:
        return net(x)
    return torch.cat([net(part) for part in x.split(per_pass)])


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


BACKENDS = ("torch", "onnxruntime", "auto")
#: Argmax agreement an exported ONNX file must reach against eager PyTorch before it is cached.
ONNX_MIN_AGREEMENT = 0.999


def _check_images(size: Tuple[int, int]) -> torch.Tensor:
    """uint8 photos (N, 3, H, W) at ``size`` for checking an export: scikit-image's bundled
    photos where installed, else smooth synthetic images."""
    from .transforms import resize_image

    photos = []
    try:
        from skimage import data

        photos = [getattr(data, n)() for n in ("chelsea", "astronaut", "coffee", "cat", "rocket")]
    except Exception:  # scikit-image is an optional extra
        yy, xx = np.mgrid[0:96, 0:128]
        photos = [np.stack([(xx * k) % 256, (yy * 2) % 256, (xx + yy) % 256], -1).astype(np.uint8) for k in (1, 2, 3)]
    return torch.stack([resize_image(torch.from_numpy(np.ascontiguousarray(p[..., :3])).permute(2, 0, 1), size)
                        for p in photos])


class OnnxRunner:
    """An onnxruntime session that takes and returns torch tensors like the model."""

    def __init__(self, path):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.path = path
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.detach().cpu().float().contiguous()
        return torch.from_numpy(self.session.run(None, {"image": x.numpy()})[0])


def onnx_file(model: str, weights: str = "DEFAULT"):
    """The weight's ONNX file in ``$PETZOO_CACHE/onnx/<sha256>.onnx``: exported once (atomically),
    kept only if its argmax agrees with eager PyTorch on >= 99.9 % of pixels of real photos."""
    return _open_onnx(model, weights).path


def _open_onnx(model: str, weights: str) -> OnnxRunner:
    """A session on the weight's cached ONNX file; opening it is also the check that the cache entry is whole
    (one cut short or overwritten is exported again, with a warning naming it)."""
    import os

    from ._io import cache_dir
    from .export import export_onnx

    net, member = _cached_model(model, str(weights), "cpu", False)
    preset = member.transforms()
    path = cache_dir() / "onnx" / f"{member.sha256}.onnx"
    if path.is_file():
        try:
            return OnnxRunner(path)
        except Exception:  # onnxruntime raises its own Fail/InvalidProtobuf/... kinds
            warnings.warn(f"{path}: corrupt cached ONNX file; exporting it again", RuntimeWarning, stacklevel=3)
            path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.check.onnx")
    try:
        import copy

        export_onnx(copy.deepcopy(net), preset.size, tmp)
        x = preset(_check_images(preset.size))
        with torch.inference_mode():
            expected = net(x).argmax(1)
        runner = OnnxRunner(tmp)
        agree = (runner(x).argmax(1) == expected).float().mean().item()
        if agree < ONNX_MIN_AGREEMENT:
            raise RuntimeError(f"{model} {member!r}: ONNX export agrees with PyTorch on only {agree:.4%} of pixels")
        os.replace(tmp, path)
        runner.path = path  # the session holds the model in memory: the file's name is all that moved
    finally:
        if tmp.exists():
            tmp.unlink()
    return runner


@functools.lru_cache(maxsize=8)
def _onnx_runner(model: str, weights: str) -> OnnxRunner:
    return _open_onnx(model, weights)


@functools.lru_cache(maxsize=8)
def choose_backend(model: str, weights: str = "DEFAULT") -> str:
    """"onnxruntime" where it is installed and measured faster than the prepared PyTorch model for
    this weight (batch 1 at its input size, median of 5), else "torch"; the measurement is cached."""
    import json
    import time

    from ._io import cache_dir, write_json

    try:
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401  (the ONNX exporter needs it)
    except ImportError:
        return "torch"
    net, member = _cached_model(model, str(weights), "cpu", True)
    record = cache_dir() / "onnx" / f"{member.sha256}.choice.json"
    if record.is_file():
        try:
            backend = json.loads(record.read_text())["backend"]
            if backend in ("torch", "onnxruntime"):
                return backend
        except (ValueError, KeyError, TypeError, OSError):
            pass
        warnings.warn(f"{record}: corrupt cached backend choice; measuring again", RuntimeWarning, stacklevel=2)
    runner = _onnx_runner(model, str(weights))
    x = member.transforms()(_check_images(member.transforms().size)[:1])

    def median_ms(fn) -> float:
        fn(x)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            fn(x)
            times.append(time.perf_counter() - start)
        return sorted(times)[2] * 1000

    with torch.inference_mode():
        torch_ms = median_ms(lambda t: net(t.contiguous(memory_format=torch.channels_last)))
    ort_ms = median_ms(runner)
    backend = "onnxruntime" if ort_ms < torch_ms else "torch"
    write_json(record, {"backend": backend, "torch_ms": torch_ms, "onnxruntime_ms": ort_ms})
    return backend


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
        out[top : top + len(gy)] = argmax_classes(tile[0], 0).to(torch.uint8).numpy()
    return out


_COMPOSITE_ROWS = 1024
#: Matting runs at most at this side (then the matte is upsampled): bounded time on large photos.
MATTING_MAX_SIDE = 640
#: Conjugate-gradient iterations of the matting solve at most (time stays bounded).
MATTING_MAX_ITER = 2000


def _resolve(model: str, weights: str, device: Optional[str], optimize: bool, backend: str):
    """(callable network, weights member, device, whether inputs go channels_last)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    net, member = load_model(model, weights, device, optimize)
    if backend == "auto":
        backend = choose_backend(model, str(weights)) if device == "cpu" else "torch"
    if backend == "onnxruntime":
        if device != "cpu":
            raise ValueError("backend='onnxruntime' runs on the CPU; use device='cpu' or backend='torch'")
        try:
            net, optimize = _onnx_runner(model, str(weights)), False
        except ImportError as err:
            raise ImportError(f"backend='onnxruntime' needs onnxruntime and onnxscript: pip install 'petzoo[export]' ({err})") from None
    return net, member, device, optimize


def forward_masks(net, inputs: Sequence[torch.Tensor], sizes: Sequence[Tuple[int, int]], device="cpu",
                  channels_last: bool = True) -> List[np.ndarray]:
    """Class-index masks at ``sizes`` of preprocessed ``inputs`` (each (3, h, w), at the weight's input size) run
    through ``net`` as one batch (:func:`forward_batched`: on the CPU, passes of at most ``CPU_BATCH_PIXELS``):
    the step :func:`segment` takes after loading and preprocessing, for a network that is not a published weight
    yet (``train_reference/publish.py`` measures close-ups with it)."""
    x = torch.stack(list(inputs)).to(device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        logits = forward_batched(net, x).float().cpu()
        return [_upsample_argmax(one.contiguous(), size) for one, size in zip(logits, sizes)]


def iter_segment(
    images: Iterable[ImageInput],
    model: str = DEFAULT_MODEL,
    weights: str = "DEFAULT",
    device: Optional[str] = None,
    optimize: bool = True,
    backend: str = "torch",
    batch_size: int = 8,
    workers: int = 2,
) -> Iterator[Tuple[int, Union[np.ndarray, Exception]]]:
    """(index, mask) for each image in input order, or (index, error) for one that cannot be read.

    Built for folders of photos: ``workers`` threads decode and resize the next
    images while the model runs (PIL's decoders release the GIL), and up to
    ``batch_size`` inputs, all at the weight's input size after ``transforms()``,
    go through the model in one forward pass.
    """
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    from .images import ImageLoadError

    if batch_size < 1 or workers < 1:
        raise ValueError(f"batch_size and workers must be >= 1, got {batch_size}, {workers}")
    net, member, device, optimize = _resolve(model, weights, device, optimize, backend)
    preset = member.transforms()
    max_side = max(preset.size) * 8  # the model needs no more

    def prepare(item):
        rgb, size = load_image(item, max_side=max_side)
        return preset(torch.from_numpy(rgb).permute(2, 0, 1)), size

    items = iter(enumerate(images))
    with ThreadPoolExecutor(workers, thread_name_prefix="petzoo-decode") as pool:
        pending: deque = deque()

        def fill():  # keep two batches decoding ahead of the forward pass
            while len(pending) < 2 * batch_size:
                try:
                    index, item = next(items)
                except StopIteration:
                    return
                pending.append((index, pool.submit(prepare, item)))

        fill()
        while pending:
            chunk = [pending.popleft() for _ in range(min(batch_size, len(pending)))]
            fill()
            ready, results = [], {}
            for index, future in chunk:
                try:
                    ready.append((index, *future.result()))
                except (ImageLoadError, ValueError) as err:
                    results[index] = err
            if ready:
                masks = forward_masks(net, [r[1] for r in ready], [r[2] for r in ready], device, optimize)
                results.update(zip([r[0] for r in ready], masks))
            for index, _ in chunk:
                yield index, results[index]


def segment(
    image: Union[ImageInput, Sequence[ImageInput]],
    model: str = DEFAULT_MODEL,
    weights: str = "DEFAULT",
    device: Optional[str] = None,
    optimize: bool = True,
    backend: str = "torch",
) -> Union[np.ndarray, List[np.ndarray]]:
    """Class-index mask(s) (0 pet, 1 background, 2 border) at each image's full upright size.

    ``image``: a path, PIL image, numpy array or tensor, or a list of them.
    ``optimize=False`` runs the model as built (no BatchNorm folding, no channels_last).
    ``backend``: "torch"; "onnxruntime" (the weight exported once to ``$PETZOO_CACHE/onnx``,
    checked against PyTorch, then reused; CPU); "auto": onnxruntime where installed and
    measured faster for this weight, else torch. A list is decoded in parallel and
    batched (:func:`iter_segment`); the first unreadable image raises.
    """
    single = not isinstance(image, (list, tuple))
    masks = []
    for _, mask in iter_segment([image] if single else list(image), model, weights, device, optimize, backend,
                                batch_size=1 if single else 8, workers=1 if single else 2):
        if isinstance(mask, Exception):
            raise mask
        masks.append(mask)
    return masks[0] if single else masks


def check_mask(mask: np.ndarray) -> np.ndarray:
    """``mask`` as a (H, W) uint8 array of class ids 0, 1, 2, or a one-line ValueError."""
    mask = np.asarray(mask)
    if mask.ndim != 2 or min(mask.shape, default=0) < 1:
        raise ValueError(f"mask: expected a (H, W) array of class ids, got shape {mask.shape}")
    if not (np.issubdtype(mask.dtype, np.integer) or mask.dtype == bool):
        raise ValueError(f"mask: expected integer class ids, got {mask.dtype}")
    lo, hi = int(mask.min()), int(mask.max())
    if lo < 0 or hi > BORDER:
        raise ValueError(f"mask: values must be 0 (pet), 1 (background) or 2 (border), got {lo}..{hi}")
    return mask.astype(np.uint8, copy=False)


def mask_image(mask: np.ndarray) -> Image.Image:
    """Palette PNG image of a class-index mask (pixel values stay 0, 1, 2)."""
    im = Image.fromarray(check_mask(mask), mode="P")
    im.putpalette(PALETTE.flatten().tolist())
    return im


def _as_rgb(image: ImageInput, mask: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    mask = check_mask(mask)
    rgb = load_rgb(image)
    if rgb.shape[:2] != mask.shape:
        raise ValueError(f"image is {rgb.shape[1]}x{rgb.shape[0]} but mask is {mask.shape[1]}x{mask.shape[0]}")
    return rgb, mask


def _composite(fg: np.ndarray, bg, alpha: np.ndarray) -> np.ndarray:
    """alpha * fg + (1 - alpha) * bg in row tiles (uint8 out); ``alpha`` uint8 (H, W) or a float in [0, 1],
    ``bg`` array or callable(rows)."""
    out = np.empty_like(fg)
    for top in range(0, fg.shape[0], _COMPOSITE_ROWS):
        rows = slice(top, top + _COMPOSITE_ROWS)
        a = alpha if isinstance(alpha, float) else alpha[rows].astype(np.float32)[..., None] / 255
        b = bg(rows) if callable(bg) else bg
        out[rows] = (a * fg[rows] + (1 - a) * b).round().astype(np.uint8)
    return out


def overlay(image: ImageInput, mask: np.ndarray, alpha: float = 0.5) -> Image.Image:
    """The photo with the class colours blended in (``alpha`` in [0, 1])."""
    if not (isinstance(alpha, (int, float)) and np.isfinite(alpha) and 0 <= alpha <= 1):
        raise ValueError(f"alpha: expected a number in [0, 1], got {alpha!r}")
    rgb, mask = _as_rgb(image, mask)
    return Image.fromarray(_composite(rgb, lambda rows: PALETTE[mask[rows]].astype(np.float32), 1.0 - float(alpha)))


def alpha_matte(mask: np.ndarray) -> np.ndarray:
    """255 on pet, 128 on border, 0 on background."""
    mask = check_mask(mask)
    return np.select([mask == PET, mask == BORDER], [255, 128], 0).astype(np.uint8)


def estimate_alpha(image: ImageInput, mask: np.ndarray, max_side: int = MATTING_MAX_SIDE) -> np.ndarray:
    """Soft alpha (uint8) from the predicted trimap: 255 on pet, 0 on background, and on the
    border band a closed-form matte (pymatting, Levin et al. 2008) of the photo.

    The matte is solved at most at ``max_side`` px and upsampled, so its time is
    bounded on large photos; pet and background pixels keep their full-resolution values.
    """
    return _soft_alpha(*_as_rgb(image, mask), max_side)


def _soft_alpha(rgb: np.ndarray, mask: np.ndarray, max_side: int = MATTING_MAX_SIDE) -> np.ndarray:
    """:func:`estimate_alpha` of a decoded photo and its checked mask."""
    try:
        import pymatting
    except ImportError:
        raise ImportError("matting needs pymatting: pip install 'petzoo[matting]'") from None
    hard = alpha_matte(mask)
    h, w = mask.shape
    scale = min(1.0, max_side / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    tri = np.asarray(Image.fromarray(hard).resize(size, Image.NEAREST), np.float64) / 255
    known_fg, known_bg = (tri >= 0.9).any(), (tri <= 0.1).any()
    if not (mask == BORDER).any() or not (known_fg and known_bg):
        return np.where(mask == PET, 255, 0).astype(np.uint8)  # nothing to matte: hard edges
    small = np.asarray(Image.fromarray(rgb).resize(size, Image.BILINEAR), np.float64) / 255
    try:
        with np.errstate(all="ignore"):
            matte = pymatting.estimate_alpha_cf(small, tri, cg_kwargs={"maxiter": MATTING_MAX_ITER})
    except ValueError as err:  # the solver did not converge (e.g. a flat, degenerate border band)
        matte = None
        reason = str(err)
    else:
        reason = "the matte is not finite"
    if matte is None or not np.isfinite(matte).all():
        warnings.warn(f"matting: {reason}; this image keeps the hard trimap edges", RuntimeWarning, stacklevel=3)
        return hard
    matte = np.clip(matte, 0, 1).astype(np.float32)
    soft = np.asarray(Image.fromarray(matte, mode="F").resize((w, h), Image.BILINEAR))
    out = hard.copy()
    band = mask == BORDER
    out[band] = np.clip(soft[band] * 255, 0, 255).round().astype(np.uint8)
    return out


def cutout(image: ImageInput, mask: np.ndarray, matting: bool = False) -> Image.Image:
    """RGBA cut-out of the pet: border half transparent, or soft edges with ``matting=True``."""
    rgb, mask = _as_rgb(image, mask)
    alpha = _soft_alpha(rgb, mask) if matting else alpha_matte(mask)
    return Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA")


def parse_colour(text: str) -> Tuple[int, int, int]:
    """Any colour Pillow's parser takes ('#rrggbb', 'rgb(10,20,30)', 'hsl(...)', names) or 'r,g,b'."""
    from PIL import ImageColor

    text = text.strip()
    if "," in text and "(" not in text:
        parts = text.split(",")
        try:
            values = [int(p) for p in parts]
        except ValueError:
            values = []
        if len(parts) != 3 or len(values) != 3 or not all(0 <= v <= 255 for v in values):
            raise ValueError(f"colour {text!r}: expected 'r,g,b' with three integers 0..255")
        return tuple(values)  # type: ignore[return-value]
    try:
        rgb = ImageColor.getrgb(text)[:3]
    except ValueError:
        raise ValueError(
            f"colour {text!r}: not a colour Pillow knows ('#rrggbb', 'rgb(r,g,b)', 'hsl(h,s%,l%)', a name) or 'r,g,b'"
        ) from None
    if not all(0 <= v <= 255 for v in rgb):  # Pillow parses rgb(300,0,0) and hsl(400,200%,50%) out of range
        raise ValueError(f"colour {text!r}: out of range (gives {rgb}); channels must be 0..255, "
                         "hue 0..360, saturation and lightness 0..100 %")
    return rgb


def check_colour(colour) -> Tuple[int, int, int]:
    values = tuple(colour) if isinstance(colour, (tuple, list, np.ndarray)) else ()
    if len(values) != 3 or not all(isinstance(v, (int, np.integer)) and 0 <= v <= 255 for v in values):
        raise ValueError(f"background colour: expected (r, g, b) integers 0..255, got {colour!r}")
    return tuple(int(v) for v in values)  # type: ignore[return-value]


def replace_background(
    image: ImageInput, mask: np.ndarray, background: Union[ImageInput, Tuple[int, int, int]], matting: bool = False,
) -> Image.Image:
    """The pet composited onto another image (stretched to fit) or a plain (r, g, b) colour."""
    if isinstance(background, (tuple, list)):
        bg = np.array(check_colour(background), np.float32)
    rgb, mask = _as_rgb(image, mask)
    h, w = mask.shape
    if not isinstance(background, (tuple, list)):
        bg = np.asarray(Image.fromarray(load_rgb(background)).resize((w, h), Image.BILINEAR))
    alpha = _soft_alpha(rgb, mask) if matting else alpha_matte(mask)
    return Image.fromarray(_composite(rgb, (lambda rows: bg[rows]) if bg.ndim == 3 else bg, alpha))


def clean_mask(mask: np.ndarray, min_island: float = 0.05, max_hole: float = 0.05) -> np.ndarray:
    """Drop small pet islands and fill small holes (post-processing, as background removers do).

    Islands: connected pet+border regions smaller than ``min_island`` x the largest one
    become background. Holes: regions that are not pet, enclosed by pet (not touching
    the image edge) and smaller than ``max_hole`` x the pet area become pet.
    """
    from scipy import ndimage

    out = check_mask(mask).copy()
    fg = out != BACKGROUND
    labels, n = ndimage.label(fg)
    if n > 1:
        sizes = ndimage.sum_labels(fg, labels, index=np.arange(1, n + 1))
        small = np.flatnonzero(sizes < min_island * sizes.max()) + 1
        out[np.isin(labels, small)] = BACKGROUND
    pet = out == PET
    labels, n = ndimage.label(~pet)
    if n:
        edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
        sizes = ndimage.sum_labels(~pet, labels, index=np.arange(1, n + 1))
        holes = [i + 1 for i in range(n) if i + 1 not in edge and sizes[i] < max_hole * pet.sum()]
        out[np.isin(labels, holes)] = PET
    return out
