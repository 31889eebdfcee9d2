"""How much a coarse logits grid costs at label resolution: a weight's logits on a labeled split, resized to a
G x G grid (antialiased bilinear) and then, as every petzoo evaluation does, bilinearly to each trimap's size,
against the logits at the weight's own resolution. It bounds what a finer head could win at that grid; e.g. the
fast tier's stride-4 logits are 32 x 32 at 128 px:

    python benchmarks/logit_grid.py --weight UNetEfficientNetLite2_Weights.OXFORD_PET_V4 --grids 64 48 32

Uses ``trainval`` by default (a diagnostic of the output grid, not of the weight: never ``test``-tuned).
"""
from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

import petzoo
from petzoo._factory import get_model_and_weights
from petzoo._registry import model_of_weights
from petzoo.datasets import OxfordIIITPet
from petzoo.metrics import ConfusionMatrix, argmax_classes


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weight", default="UNetEfficientNetLite2_Weights.OXFORD_PET_V4")
    p.add_argument("--grids", type=int, nargs="+", default=[64, 48, 32])
    p.add_argument("--split", default="trainval")
    p.add_argument("--data-path", default=None)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    if any(g < 1 for g in args.grids):
        p.error(f"--grids: sizes must be >= 1, got {args.grids}")
    torch.set_num_threads(args.threads)
    weight = petzoo.get_weight(args.weight)
    model, _ = get_model_and_weights(model_of_weights(type(weight)), weight)
    model.eval()
    preset = weight.transforms()
    ds = OxfordIIITPet(args.data_path, args.split)
    grids = [None] + list(args.grids)
    cms = {g: ConfusionMatrix(3) for g in grids}
    with torch.inference_mode():
        for start in range(0, len(ds), 16):
            items = [ds[i] for i in range(start, min(start + 16, len(ds)))]
            logits = model(torch.stack([preset(img) for img, _ in items])).float()
            for g in grids:
                coarse = logits if g is None else F.interpolate(
                    logits, size=(g, g), mode="bilinear", align_corners=False, antialias=True)
                for logit, (_, mask) in zip(coarse, items):
                    up = F.interpolate(logit[None], size=mask.shape[-2:], mode="bilinear", align_corners=False)
                    cms[g].update(argmax_classes(up, 1), mask[None])
    print(f"{args.weight} on {args.split} ({len(ds)} images), label resolution")
    print("| logits grid | pixel acc | mIoU |\n|---|---|---|")
    for g in grids:
        r = cms[g].compute()
        name = " x ".join(map(str, preset.size)) + " (own)" if g is None else f"{g} x {g}"
        print(f"| {name} | {100 * r['pixel_acc']:.2f} % | {r['miou']:.4f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
