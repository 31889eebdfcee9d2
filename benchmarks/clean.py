"""Does ``--clean`` (drop small pet islands, fill small holes) cost accuracy? Measured on test.

    python benchmarks/clean.py [--model segnet_dsc] [--split test] [--limit N]

Every image of the split goes through ``petzoo.segment`` (DEFAULT weight, full-size
mask = label resolution), then :func:`petzoo.inference.clean_mask`. Prints pixel
accuracy over the pixels whose true class is not *border* (what clean can change for
the better or worse), overall pixel accuracy, and how many pixels clean changed.
The split is only measured here, never used to choose anything.
"""
from __future__ import annotations

import argparse
import sys

from tqdm.auto import tqdm

import petzoo
import petzoo.inference as S
from petzoo._registry import BORDER
from petzoo.datasets import OxfordIIITPet, read_trimap


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=S.DEFAULT_MODEL, choices=petzoo.list_models())
    p.add_argument("--split", default="test")
    p.add_argument("--data-path", default=None)
    p.add_argument("--limit", type=int, default=None)
    args = p.parse_args()
    ds = OxfordIIITPet(args.data_path, args.split)
    stems = ds.stems[: args.limit]
    counts = {"raw": [0, 0, 0], "clean": [0, 0, 0]}  # correct off-border, off-border pixels, correct overall
    total, changed = 0, 0
    for stem in tqdm(stems, desc=f"{args.model} on {args.split}"):
        truth = read_trimap(ds.trimap_path(stem))
        raw = petzoo.segment(ds.image_path(stem), model=args.model)
        cleaned = S.clean_mask(raw)
        off = truth != BORDER
        for name, mask in (("raw", raw), ("clean", cleaned)):
            counts[name][0] += int(((mask == truth) & off).sum())
            counts[name][1] += int(off.sum())
            counts[name][2] += int((mask == truth).sum())
        total += truth.size
        changed += int((raw != cleaned).sum())
    print(f"{args.model} DEFAULT on {args.split} ({len(stems)} images, label resolution):")
    for name, (ok_off, n_off, ok) in counts.items():
        print(f"  {name:5s}: pixel acc outside border {ok_off / n_off * 100:.3f} %   overall {ok / total * 100:.3f} %")
    delta = (counts["clean"][0] - counts["raw"][0]) / counts["raw"][1] * 100
    print(f"  clean changed {changed / total * 100:.3f} % of pixels; accuracy outside border {delta:+.3f} pt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
