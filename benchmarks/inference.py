"""CPU inference: the zoo beside peer models, and the effect of inference optimisations.

    python benchmarks/inference.py [--models segnet_dsc unet] [--min-seconds 2]

For each model at 128 px: latency (batch 1, ms) and throughput (batch 32, img/s) for
  eager        fp32, eval, torch.inference_mode (the baseline)
  cl           + channels_last memory format
  frozen       torch.jit.trace -> freeze -> optimize_for_inference (folds BatchNorm into convs)
  ort          onnxruntime CPU on the ONNX export (zoo models)
  bf16         eager under bfloat16 autocast
Peers run with random init in the same process: segmentation_models_pytorch
Unet("resnet18") and Unet("mobilenet_v2") (pip install segmentation-models-pytorch)
and torchvision's lraspp_mobilenet_v3_large. Ratios are throughput relative to
segnet_dsc eager.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import torch

import petzoo
from petzoo.profile import format_table, images_per_second

SIZE = 128
VARIANTS = ["eager", "cl", "frozen", "ort", "bf16"]


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

    out = {"eager": eager, "cl": channels_last, "frozen": jit_frozen, "bf16": bf16}
    if zoo:
        session = {}

        def ort(x):
            import onnxruntime

            from petzoo.export import export_onnx

            if not session:
                path = Path(tempfile.mkdtemp()) / "m.onnx"
                export_onnx(model.to(memory_format=torch.contiguous_format), (SIZE, SIZE), path)
                session["s"] = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            return session["s"].run(None, {"image": x.numpy()})

        out["ort"] = ort
    return out


def measure(name: str, model: torch.nn.Module, zoo: bool, min_seconds: float, variants: list) -> list:
    rows = []
    for variant, fn in runners(model, zoo).items():
        if variant not in variants:
            continue
        row = {"model": name, "variant": variant}
        for batch in (1, 32):
            x = torch.randn(batch, 3, SIZE, SIZE)

            def step():
                with torch.inference_mode():
                    fn(x)

            ips = images_per_second(step, batch, warmup=2, min_seconds=min_seconds)
            row["b1 ms" if batch == 1 else "b32 img/s"] = 1000 / ips if batch == 1 else ips
        rows.append(row)
        print(f"{name:30s} {variant:7s} b1 {row['b1 ms']:8.1f} ms  b32 {row['b32 img/s']:7.1f} img/s", flush=True)
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=petzoo.list_models())
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--min-seconds", type=float, default=2.0)
    p.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS,
                   help="bf16 is ~100x slower than fp32 on CPUs without native bf16 (seen here)")
    args = p.parse_args()
    rows = []
    for name in args.models:
        rows += measure(name, petzoo.get_model(name), True, args.min_seconds, args.variants)
    if not args.no_peers:
        for name, build in peers().items():
            rows += measure(name, LogitsOnly(build()), False, args.min_seconds, args.variants)
    base = next((r["b32 img/s"] for r in rows if r["model"] == "segnet_dsc" and r["variant"] == "eager"), None)
    for r in rows:
        r["x segnet_dsc"] = r["b32 img/s"] / base if base else float("nan")
    print()
    print(format_table(rows, ["model", "variant", "b1 ms", "b32 img/s", "x segnet_dsc"]))
    print(f"\n{SIZE} px, {torch.get_num_threads()} threads, torch {torch.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
