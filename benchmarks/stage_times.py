"""Where the fast tier's batch time goes: each encoder stage of fpn_efficientnet_lite0 and of LR-ASPP's
MobileNetV3-Large backbone, fused as ``petzoo.segment()`` runs it (BatchNorm folded, channels_last).

    python benchmarks/stage_times.py [--batch 32] [--rounds 7]

For the speed rule of issue 21 (the fast tier >= 1.0x LR-ASPP at batch 32, docs/fast-model.md): the stages
run one after another on the previous stage's output at 128 px, interleaved with the whole forward over
``--rounds`` rounds; each cell is the median ms of one batch. "rest" is the whole forward minus its stages (the
decoder / head and the final upsampling). Random init: the weights do not change the time.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fast_model import FAST  # noqa: E402
from inference import LogitsOnly  # noqa: E402
from mobile_fpn import PEER, SIZE  # noqa: E402

import petzoo  # noqa: E402
from petzoo.inference import prepare_for_inference  # noqa: E402
from petzoo.profile import describe_device, format_table  # noqa: E402

def stages(name: str, model: torch.nn.Module):
    """(stage name, module) in the order the encoder runs them, each taking the previous one's output."""
    if name == FAST:
        enc = model.encoder
        return [("stem", torch.nn.Sequential(enc.conv_stem, enc.bn1))] + [
            (f"blocks[{i}]", block) for i, block in enumerate(enc.blocks)]
    backbone = model.model.backbone  # torchvision's IntermediateLayerGetter over mobilenet_v3_large.features
    return [(f"features[{i}]", layer) for i, layer in enumerate(backbone.children())]


def main(argv=None) -> int:
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--rounds", type=int, default=7)
    args = p.parse_args(argv)
    if args.batch < 1 or args.rounds < 1:
        raise SystemExit("--batch and --rounds must be >= 1")
    default = petzoo.get_model_weights(FAST).DEFAULT  # its architecture, as fast_model.py measures it
    models = {FAST: petzoo.get_model(FAST, **default.builder_kwargs),
              PEER: LogitsOnly(lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=3))}
    models = {n: prepare_for_inference(copy.deepcopy(m.eval())) for n, m in models.items()}
    plans = {n: stages(n, m) for n, m in models.items()}
    x = torch.randn(args.batch, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    x = x.contiguous(memory_format=torch.channels_last)
    times, shapes = {}, {}
    with torch.inference_mode():
        for name, model in models.items():  # warm-up
            model(x)
        for _ in range(args.rounds):
            for name, model in models.items():
                start = time.perf_counter()
                model(x)
                times.setdefault((name, "whole"), []).append(time.perf_counter() - start)
                h = x
                for stage, module in plans[name]:
                    start = time.perf_counter()
                    h = module(h)
                    times.setdefault((name, stage), []).append(time.perf_counter() - start)
                    shapes[(name, stage)] = tuple(h.shape[1:])
    rows = []
    for name in models:
        whole = statistics.median(times[(name, "whole")]) * 1000
        cells = [(stage, statistics.median(times[(name, stage)]) * 1000) for stage, _ in plans[name]]
        for stage, ms in cells + [("rest", whole - sum(ms for _, ms in cells)), ("whole", whole)]:
            rows.append({"model": name, "stage": stage, "output (C, H, W)": str(shapes.get((name, stage), "")),
                         "ms": round(ms, 2), "share": f"{ms / whole * 100:.0f} %"})
    print(format_table(rows, ["model", "stage", "output (C, H, W)", "ms", "share"]))
    print(f"\nbatch {args.batch}, {SIZE} px, fused, median of {args.rounds} interleaved rounds, {describe_device()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
