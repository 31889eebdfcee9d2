"""How big one CPU forward pass should be: 32 images run as passes of 1 to 32 images, in one interleaved run.

    python benchmarks/batch_split.py [--rounds 3] [--markdown docs/batch-split.md]

Each model fused as ``petzoo.segment()`` runs it (``prepare_for_inference``: BatchNorm folded, channels_last),
random init, at 128 px (the fast-tier rule's size) and at its DEFAULT weight's own input size; a batch of 32
images goes through as ``32 / pass`` forward passes of ``pass`` images. Each cell is the median img/s over
interleaved rounds. ``petzoo.inference.CPU_BATCH_PIXELS`` is the input pixels
of the pass that is best or near it for every model at 128 px; ``forward_batched`` splits a larger batch into
passes of that many pixels ("forward_batched": the row of its pass at that size, which is measured too). "x whole"
compares each pass size with one pass of all 32, "x best" with the best pass of that model and size.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inference import LogitsOnly  # noqa: E402

import petzoo  # noqa: E402
from petzoo._io import atomic_write  # noqa: E402
from petzoo.inference import CPU_BATCH_PIXELS, forward_batched, images_per_pass, prepare_for_inference  # noqa: E402
from petzoo.profile import describe_device, format_table, forward_images_per_second  # noqa: E402

BATCH = 32
PASSES = (4, 8, 16, 32)
MODELS = ("fpn_efficientnet_lite0", "mobile_fpn", "unet_efficientnet_lite2")
PEER = "tv lraspp_mobilenet_v3_large"


def split_forward(net, per_pass: int):
    """``net`` over a batch as forward_batched runs it, with a budget of ``per_pass`` images."""
    return lambda x: forward_batched(net, x, max_pixels=per_pass * x.shape[-2] * x.shape[-1])


def used(size: int) -> int:
    """forward_batched's own pass at ``size`` px (CPU_BATCH_PIXELS), within the batch."""
    return min(BATCH, images_per_pass(size, size))


def main() -> int:
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--min-seconds", type=float, default=0.5, help="per cell and round")
    p.add_argument("--markdown", type=Path, default=None)
    args = p.parse_args()
    if args.rounds < 1 or args.min_seconds <= 0:
        raise SystemExit("--rounds must be >= 1 and --min-seconds > 0")
    nets, sizes = {}, {}
    for name in MODELS:
        default = petzoo.get_model_weights(name).DEFAULT
        nets[name] = prepare_for_inference(petzoo.get_model(name, **default.builder_kwargs))
        sizes[name] = sorted({128, default.meta["image_size"]})
    nets[PEER] = prepare_for_inference(copy.deepcopy(
        LogitsOnly(lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=3))))
    sizes[PEER] = [128]
    gen = torch.Generator().manual_seed(0)
    inputs = {s: torch.randn(BATCH, 3, s, s, generator=gen).contiguous(memory_format=torch.channels_last)
              for s in sorted({s for v in sizes.values() for s in v})}

    def passes(size: int) -> list:  # the grid plus forward_batched's own pass at this size
        return sorted(set(PASSES) | {used(size)})

    times = {}
    for r in range(args.rounds):
        for name, net in nets.items():
            for size in sizes[name]:
                for per_pass in passes(size):
                    ips = forward_images_per_second(split_forward(net, per_pass), inputs[size], warmup=1,
                                                    min_seconds=args.min_seconds)
                    times.setdefault((name, size, per_pass), []).append(ips)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    rows = []
    for (name, size, per_pass), ips in med.items():
        rows.append({"model": name, "px": size, "pass": per_pass, "pass pixels": per_pass * size * size,
                     "img/s": ips, "x whole": ips / med[(name, size, BATCH)],
                     "x best": ips / max(med[(name, size, q)] for q in passes(size)),
                     "forward_batched": "yes" if per_pass == used(size) else ""})
    table = format_table(rows, ["model", "px", "pass", "pass pixels", "img/s", "x whole", "x best", "forward_batched"])
    machine = describe_device()
    summary = (f"CPU_BATCH_PIXELS = {CPU_BATCH_PIXELS:,} ({CPU_BATCH_PIXELS // (128 * 128)} images at 128 px); "
               "per model and size, forward_batched's pass (the largest within the budget) against the best and "
               "the whole batch:\n\n")
    for name in nets:
        for size in sizes[name]:
            own, best = used(size), max(passes(size), key=lambda q: med[(name, size, q)])
            summary += (f"- {name} at {size} px: passes of {own}: {med[(name, size, own)]:.0f} img/s; "
                        f"best ({best}): {med[(name, size, best)]:.0f} img/s; "
                        f"whole batch: {med[(name, size, BATCH)]:.0f} img/s\n")
    print(f"\n{table}\n\n{summary}\n{args.rounds} interleaved rounds, {machine}")
    if args.markdown:
        doc = (f"# One CPU forward pass: how many images\n\nGenerated by `python benchmarks/batch_split.py --markdown "
               f"{args.markdown.as_posix()}` (do not edit by hand) on {machine}: batch {BATCH}, {args.rounds} "
               f"interleaved rounds, median per cell.\n\n" + __doc__.split("\n\n", 2)[2] + f"\n{table}\n\n{summary}")
        atomic_write(args.markdown, lambda tmp: Path(tmp).write_text(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
