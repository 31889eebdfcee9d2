"""MobileFPN by measurement: each width beside torchvision's LR-ASPP, in one interleaved run.

    python benchmarks/mobile_fpn.py                       # print the table
    python benchmarks/mobile_fpn.py --markdown docs/mobile_fpn.md

At 128 px on the CPU, every model in eval mode, treated the same way: params,
GMACs, batch-1 latency and batch-32 throughput for
  eager   fp32, inference_mode
  fused   BatchNorm folded into convs + channels_last (petzoo.inference.prepare_for_inference,
          what petzoo.segment() runs; it folds LR-ASPP's conv+BN sequences alike)
  ort     onnxruntime CPU on the ONNX export (petzoo.export.export_onnx, dynamic batch)
The measurements are interleaved: each round times every (model, variant, batch)
once, and each cell is the median over rounds, so drift in the machine's speed
hits all models alike; the "x lraspp" columns are ratios to LR-ASPP's cell of the
same variant. Random init (speed does not depend on the weights).

The width rule (fixed before any accuracy was measured): the default width is the
widest whose fused batch-1 speed and batch-32 throughput are both >= 1.2x LR-ASPP's
here, a margin so that the >= 1.0x target holds on a noisy machine.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inference import LogitsOnly  # noqa: E402

import petzoo  # noqa: E402
from petzoo._io import atomic_write  # noqa: E402
from petzoo.inference import prepare_for_inference  # noqa: E402
from petzoo.profile import describe_device, format_table, forward_images_per_second, profile  # noqa: E402

SIZE = 128
WIDTHS = (0.5, 0.75, 1.0)
RULE_MARGIN = 1.2
PEER = "tv lraspp_mobilenet_v3_large"


def candidates() -> dict:
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    models = {f"mobile_fpn width_mult={w}": petzoo.mobile_fpn(width_mult=w) for w in WIDTHS}
    models[PEER] = LogitsOnly(lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=3))
    return models


def variants(model: torch.nn.Module, size: int = SIZE, passes: bool = False) -> dict:
    """eager, fused and ort (module docstring); with ``passes``, also "passes": fused, with a batch run as
    ``petzoo.inference.forward_batched`` splits it (what ``petzoo.segment()`` and the CLI run since it exists)."""
    import onnxruntime

    from petzoo.export import export_onnx
    from petzoo.inference import forward_batched

    model = model.eval()
    fused = prepare_for_inference(copy.deepcopy(model))
    path = Path(tempfile.mkdtemp()) / "model.onnx"
    export_onnx(copy.deepcopy(model), (size, size), path)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    out = {
        "eager": model,
        "fused": lambda x: fused(x.contiguous(memory_format=torch.channels_last)),
        "ort": lambda x: session.run(None, {"image": x.numpy()})[0],
    }
    if passes:
        out["passes"] = lambda x: forward_batched(fused, x.contiguous(memory_format=torch.channels_last))
    return out


def speed_rows(models: dict, rounds: int, min_seconds: float, size: int = SIZE, passes: bool = False) -> list:
    """One row per (model, variant): params, GMACs, batch-1 ms and batch-32 img/s at ``size`` px (median over
    interleaved rounds) and their ratios to the PEER's cell of the same variant (``passes``: see ``variants``)."""
    facts = {name: profile(m.eval(), size) for name, m in models.items()}
    runs = {name: variants(m, size, passes) for name, m in models.items()}
    inputs = {b: torch.randn(b, 3, size, size, generator=torch.Generator().manual_seed(0)) for b in (1, 32)}
    times = {}
    for r in range(rounds):
        for name, fns in runs.items():
            for variant, fn in fns.items():
                for b, x in inputs.items():
                    ips = forward_images_per_second(fn, x, warmup=2, min_seconds=min_seconds)
                    times.setdefault((name, variant, b), []).append(ips)
        print(f"round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    rows = []
    for name in models:
        for variant in runs[name]:
            b1, b32 = med[(name, variant, 1)], med[(name, variant, 32)]
            rows.append({
                "model": name, "variant": variant, "num_params": facts[name]["num_params"],
                "gmacs": facts[name]["gmacs"], "b1 ms": 1000 / b1, "b32 img/s": b32,
                "b1 speed x lraspp": b1 / med[(PEER, variant, 1)], "b32 x lraspp": b32 / med[(PEER, variant, 32)],
            })
    return rows


def speed_args(doc: str, more=None) -> argparse.Namespace:
    """The command line of the interleaved speed benchmarks: --rounds, --min-seconds, --markdown, and what
    ``more(parser)`` adds."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--min-seconds", type=float, default=0.7, help="per cell and round")
    p.add_argument("--markdown", type=Path, default=None)
    if more is not None:
        more(p)
    return p.parse_args()


def main() -> int:
    args = speed_args(__doc__)
    rows = speed_rows(candidates(), args.rounds, args.min_seconds)
    table = format_table(rows, ["model", "variant", "num_params", "gmacs", "b1 ms", "b32 img/s",
                                "b1 speed x lraspp", "b32 x lraspp"])
    fused = {r["model"]: r for r in rows if r["variant"] == "fused"}
    passing = [w for w in WIDTHS if min(fused[f"mobile_fpn width_mult={w}"]["b1 speed x lraspp"],
                                        fused[f"mobile_fpn width_mult={w}"]["b32 x lraspp"]) >= RULE_MARGIN]
    choice = (f"width rule (fused b1 and b32 both >= {RULE_MARGIN}x LR-ASPP): widths passing {passing}; "
              f"widest: {max(passing) if passing else 'none'}")
    machine = describe_device()
    print(f"\n{table}\n\n{choice}\n{SIZE} px, {args.rounds} interleaved rounds, {machine}")
    if args.markdown:
        doc = DOC.format(table=table, choice=choice, machine=machine, rounds=args.rounds, size=SIZE)
        atomic_write(args.markdown, lambda tmp: Path(tmp).write_text(doc))
    return 0


DOC = """# MobileFPN beside LR-ASPP

Generated by `python benchmarks/mobile_fpn.py --markdown docs/mobile_fpn.md` (do not
edit by hand) on {machine}: {size} px, random init, every model in eval mode,
{rounds} interleaved rounds, median per cell. eager: fp32 inference_mode; fused:
BatchNorm folded + channels_last (what `petzoo.segment()` runs); ort: onnxruntime
CPU on the ONNX export. "x lraspp": ratio to torchvision's
`lraspp_mobilenet_v3_large` in the same variant (> 1 is faster).

{table}

{choice}
"""


if __name__ == "__main__":
    sys.exit(main())
