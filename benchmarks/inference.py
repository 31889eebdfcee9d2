"""CPU inference: the zoo beside peer models, and the effect of inference optimisations.

    python benchmarks/inference.py [--models segnet_dsc unet] [--min-seconds 2]
    python benchmarks/inference.py --markdown docs/inference.md   # regenerate the doc

For each model at 128 px: latency (batch 1, ms) and throughput (batch 32, img/s) for
  eager        fp32, eval, torch.inference_mode (the baseline)
  cl           + channels_last memory format
  fused        + BatchNorm folded into convs: petzoo.inference.prepare_for_inference,
               what petzoo.segment() runs (the batch of 32 here in one pass; segment() splits
               a CPU batch into passes of CPU_BATCH_PIXELS, docs/batch-split.md)
  frozen       torch.jit.trace -> freeze -> optimize_for_inference (folds BatchNorm into convs)
  ort          onnxruntime CPU on the ONNX export (zoo models)
  ort-int8     onnxruntime on that export with int8 weights (dynamic quantization)
  bf16         eager under bfloat16 autocast (opt-in: ~100x slower on CPUs without bf16)
Peers run with random init in the same process: segmentation_models_pytorch
Unet("resnet18") and Unet("mobilenet_v2") (pip install segmentation-models-pytorch)
and torchvision's lraspp_mobilenet_v3_large. Ratios are throughput relative to
segnet_dsc eager.

Then the API: petzoo.segment() on scikit-image's bundled photos with each DEFAULT
weight, optimize=False (the model as built) against optimize=True (the default),
in ms per photo (decode, resize, forward, upsampling and argmax at the photo's size).
"""
from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

import petzoo
from petzoo._io import atomic_write
from petzoo.inference import prepare_for_inference, segment
from petzoo.profile import describe_device, format_table, forward_images_per_second

SIZE = 128
VARIANTS = ["eager", "cl", "fused", "frozen", "ort", "ort-int8", "bf16"]
DEFAULT_VARIANTS = [v for v in VARIANTS if v != "bf16"]
DEMO_PHOTOS = ("chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg")  # bundled with scikit-image


def peers() -> dict:
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    models = {"tv lraspp_mobilenet_v3_large": lambda: lraspp_mobilenet_v3_large(weights=None, weights_backbone=None)}
    try:
        import segmentation_models_pytorch as smp

        models["smp Unet(resnet18)"] = lambda: smp.Unet("resnet18", encoder_weights=None, classes=3)
        models["smp Unet(mobilenet_v2)"] = lambda: smp.Unet("mobilenet_v2", encoder_weights=None, classes=3)
    except ImportError:
        print("segmentation_models_pytorch not installed: smp peers skipped", file=sys.stderr)
    return models


class LogitsOnly(torch.nn.Module):
    """torchvision segmentation models return a dict; keep the 'out' tensor."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        out = self.model(x)
        return out["out"] if isinstance(out, dict) else out


def input_size(model: torch.nn.Module) -> tuple:
    """(H, W) every variant runs at: SIZE, or a fixed-size model's own (a 192 px vit_seg weight takes only 192)."""
    return tuple(getattr(model, "fixed_size", None) or (SIZE, SIZE))


def runners(model: torch.nn.Module, zoo: bool) -> dict:
    model = model.eval()

    def eager(x):
        return model(x)

    cl_model = None

    def channels_last(x):
        nonlocal cl_model
        if cl_model is None:
            cl_model = model.to(memory_format=torch.channels_last)
        return cl_model(x.contiguous(memory_format=torch.channels_last))

    fused = {}

    def prepared(x):
        if not fused:
            fused["m"] = prepare_for_inference(copy.deepcopy(model))
        return fused["m"](x.contiguous(memory_format=torch.channels_last))

    frozen = {}

    def jit_frozen(x):
        if x.shape[0] not in frozen:  # traced per batch size
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                traced = torch.jit.trace(model.to(memory_format=torch.contiguous_format), x, check_trace=False)
                frozen[x.shape[0]] = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
        return frozen[x.shape[0]](x)

    def bf16(x):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return model(x)

    out = {"eager": eager, "cl": channels_last, "fused": prepared, "frozen": jit_frozen, "bf16": bf16}
    sessions = {}  # onnxruntime for every model; its int8 variant for the zoo only

    def ort_session(int8: bool):
        import onnxruntime

        from petzoo.export import export_onnx

        if int8 not in sessions:
            path = Path(tempfile.mkdtemp()) / "m.onnx"
            export_onnx(model.to(memory_format=torch.contiguous_format), input_size(model), path)
            if int8:
                from onnxruntime.quantization import QuantType, quantize_dynamic

                quantize_dynamic(str(path), str(path.with_suffix(".int8.onnx")), weight_type=QuantType.QInt8)
                path = path.with_suffix(".int8.onnx")
            sessions[int8] = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return sessions[int8]

    out["ort"] = lambda x: torch.from_numpy(ort_session(False).run(None, {"image": x.numpy()})[0])
    if zoo:
        out["ort-int8"] = lambda x: torch.from_numpy(ort_session(True).run(None, {"image": x.numpy()})[0])
    return out


def measure(name: str, model: torch.nn.Module, zoo: bool, min_seconds: float, variants: list) -> list:
    """Timing rows; "argmax agree" is the share of pixels whose class equals eager's on a real photo."""
    rows = []
    size = input_size(model)
    photo = demo_batch(size)
    with torch.inference_mode():
        reference = model.eval()(photo).argmax(1)
    for variant, fn in runners(model, zoo).items():
        if variant not in variants:
            continue
        with torch.inference_mode():
            agree = (fn(photo).argmax(1) == reference).float().mean().item()
        row = {"model": name, "px": size[0], "variant": variant, "argmax agree": f"{agree * 100:.2f} %"}
        for batch in (1, 32):
            ips = forward_images_per_second(fn, torch.randn(batch, 3, *size), warmup=2, min_seconds=min_seconds)
            row["b1 ms" if batch == 1 else "b32 img/s"] = 1000 / ips if batch == 1 else ips
        rows.append(row)
        print(f"{name:30s} {variant:8s} b1 {row['b1 ms']:8.1f} ms  b32 {row['b32 img/s']:7.1f} img/s", flush=True)
    return rows


def demo_photos() -> list:
    """scikit-image's bundled photos as (H, W, 3) uint8 arrays."""
    import skimage

    from petzoo.images import load_rgb

    return [load_rgb(Path(skimage.__file__).parent / "data" / name) for name in DEMO_PHOTOS]


def demo_batch(size: tuple = (SIZE, SIZE)) -> torch.Tensor:
    """The demo photos at ``size``, normalised as every weight's transforms do."""
    from petzoo.transforms import SegmentationPresetEval

    prep = SegmentationPresetEval(size)
    return torch.stack([prep(torch.from_numpy(rgb).permute(2, 0, 1)) for rgb in demo_photos()])


def measure_api(name: str, repeats: int) -> dict:
    """ms per photo of petzoo.segment() with and without the optimized model, and their agreement.

    The two settings alternate pass by pass and each keeps its median pass, so that
    drift in the machine's speed hits both alike.
    """
    photos = demo_photos()
    row = {"model": name, "weight": petzoo.get_model_weights(name).DEFAULT.name}
    masks = {opt: segment(photos, model=name, optimize=opt) for opt in (False, True)}  # warm-up, caches the models
    passes = {False: [], True: []}
    for _ in range(repeats):
        for optimize in (False, True):
            start = time.perf_counter()
            segment(photos, model=name, optimize=optimize)
            passes[optimize].append((time.perf_counter() - start) * 1000 / len(photos))
    row["as built ms"], row["optimized ms"] = (float(np.median(passes[opt])) for opt in (False, True))
    row["speed-up"] = row["as built ms"] / row["optimized ms"]
    same = sum((a == b).sum() for a, b in zip(masks[False], masks[True])) / sum(m.size for m in masks[True])
    row["masks agree"] = f"{same * 100:.3f} %"
    print(f"segment() {name:12s} {row['as built ms']:7.1f} -> {row['optimized ms']:7.1f} ms/photo", flush=True)
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=petzoo.list_models())
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--mobile-widths", nargs="*", type=float, default=[0.5, 0.75],
                   help="extra mobile_fpn widths (random init) beside its DEFAULT weight's 1.0")
    p.add_argument("--min-seconds", type=float, default=2.0)
    p.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS, choices=VARIANTS,
                   help="bf16 is ~100x slower than fp32 on CPUs without native bf16 (seen here)")
    p.add_argument("--api-repeats", type=int, default=7, help="passes over the demo photos per segment() setting")
    p.add_argument("--markdown", type=Path, default=None, help="write docs/inference.md here")
    args = p.parse_args()
    rows = []
    for name in args.models:
        rows += measure(name, petzoo.get_model(name, weights="DEFAULT"), True, args.min_seconds, args.variants)
    if "mobile_fpn" in args.models:
        for width in args.mobile_widths:
            rows += measure(f"mobile_fpn {width:g} (random init)", petzoo.mobile_fpn(width_mult=width), True,
                            args.min_seconds, args.variants)
    if not args.no_peers:
        for name, build in peers().items():
            rows += measure(name, LogitsOnly(build()), False, args.min_seconds, args.variants)
    base = next((r["b32 img/s"] for r in rows if r["model"] == "segnet_dsc" and r["variant"] == "eager"), None)
    for r in rows:
        r["x segnet_dsc"] = r["b32 img/s"] / base if base else float("nan")
    api_rows = [measure_api(name, args.api_repeats) for name in args.models]
    table = format_table(rows, ["model", "px", "variant", "b1 ms", "b32 img/s", "x segnet_dsc", "argmax agree"])
    api_table = format_table(api_rows, ["model", "weight", "as built ms", "optimized ms", "speed-up", "masks agree"])
    machine = describe_device()
    print(f"\n{table}\n\n{api_table}\n\n{SIZE} px unless px says, {machine}")
    if args.markdown:
        doc = INFERENCE_DOC.format(table=table, api_table=api_table, machine=machine, size=SIZE)
        atomic_write(args.markdown, lambda tmp: Path(tmp).write_text(doc))
    return 0


INFERENCE_DOC = """# CPU inference speed

Generated by `python benchmarks/inference.py --markdown docs/inference.md`
(do not edit by hand) on {machine}. Rerun it on an idle machine: numbers move
by 10-20 % under load.

## Models and inference back-ends ({size} px)

b1 ms: latency of one image; b32 img/s: throughput at batch 32; x segnet_dsc:
throughput relative to segnet_dsc eager. Zoo models run with their DEFAULT
weights (at {size} px whatever the weight's own input size, so that the
architectures compare, except where a model takes one size only: px says,
e.g. vit_seg's 192 px weight); peers (tv = torchvision, smp =
segmentation_models_pytorch) have random init, which does not change their
speed; so have the narrower mobile_fpn widths (its DEFAULT weight is width 1.0).
argmax agree: share of pixels whose class matches eager fp32 on
scikit-image's demo photos (meaningless for the random-init peers).
Variants: eager (fp32, eval, inference_mode), cl (channels_last), fused
(BatchNorm folded into convs + channels_last, what `petzoo.segment()` runs),
frozen (jit trace + freeze + optimize_for_inference), ort (onnxruntime CPU on
the ONNX export), ort-int8 (zoo only: onnxruntime, int8 weights by dynamic quantization).

{table}

## `petzoo.segment()` before and after

ms per photo over scikit-image's chelsea, coffee, astronaut and rocket photos
(451x300, 600x400, 512x512 and 640x427 px), with each model's DEFAULT weight at its own input size:
decoding, resizing, the forward pass and the upsampling + argmax at the photo's
own size; median of alternating passes. "as built" is `optimize=False`;
"optimized" is the default (`prepare_for_inference`).

{api_table}
"""


if __name__ == "__main__":
    sys.exit(main())
