"""Close-ups: each seed family's weights on zoomed-in crops of labeled photos (what app users often shoot).

    python benchmarks/closeup.py --markdown docs/closeup.md

Each photo of the split (every ``--every``-th, in order) is cut to its centre 1/zoom x 1/zoom (zoom 2: the middle
half of each side, a quarter of the area), with its trimap cut the same way, and segmented by
``petzoo.segment()``'s steps at the crop's own size; pixel accuracy and mIoU (pet, background, border) are counted over
all the crops' pixels. Whole-photo test accuracy cannot see this: a round of training without zoomed crops
can score better on whole photos and worse here. Rows: for each seed family, the DEFAULT before the
pretrained teacher's rounds (issue 22) and each published round weight (``recipes.PTDISTILL_ROUNDS``: whole
photos, zoomed, zoomed again from the DEFAULT at 192 px or from the whole-photo weight), plus every published
weight of the pretrained tiers. ``train_reference/publish.py`` scores every new weight on the same crops.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Tuple

import numpy as np
import torch

import petzoo
import petzoo.inference as S
from petzoo.datasets import OxfordIIITPet
from petzoo.metrics import ConfusionMatrix

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "train_reference"))
import recipes  # noqa: E402

#: The close-up set everywhere it is scored (this table, publish.py, closeup_default.py): every 4th photo of the
#: split, its centre half of each side.
EVERY, ZOOM = 4, 2.0


def centre_crop(array: np.ndarray, zoom: float) -> np.ndarray:
    h, w = array.shape[:2]
    ch, cw = round(h / zoom), round(w / zoom)
    y, x = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(array[y:y + ch, x:x + cw])


def crops(split: str = "test", every: int = EVERY, zoom: float = ZOOM, data_path=None) -> List[Tuple[np.ndarray, np.ndarray]]:
    """(image, trimap class ids) centre crops of every ``every``-th photo of ``split``."""
    ds = OxfordIIITPet(data_path, split)
    return [tuple(centre_crop(a, zoom) for a in ds.load(i)) for i in range(0, len(ds), every)]


def rows_to_measure() -> List[Tuple[str, str, str]]:
    """(model, weight member name, role) in table order."""
    out = []
    for model in petzoo.list_models():
        weights = recipes.ptdistill_weights(model)
        if not weights:  # a pretrained tier: every published weight
            out += [(model, w.name, "pretrained tier") for w in petzoo.get_model_weights(model)]
        out += [(model, w, "before the round" if what == "before" else what) for w, what in weights]
    return out


def measure_net(net, preset, data: List[Tuple[np.ndarray, np.ndarray]]) -> dict:
    """petzoo.metrics over ``data``'s pixels, each crop segmented at its own size the way petzoo.segment() does it
    (``preset``, one forward pass, bilinear upsampling of the logits, argmax) by ``net`` prepared for inference."""
    confusion = ConfusionMatrix()
    for image, mask in data:
        x = preset(torch.from_numpy(image).permute(2, 0, 1))
        confusion.update(torch.as_tensor(S.forward_masks(net, [x], [mask.shape])[0]), torch.as_tensor(mask))
    return confusion.compute()


def measure(model: str, weight: str, data: List[Tuple[np.ndarray, np.ndarray]]) -> dict:
    """:func:`measure_net` for a published weight, loaded as petzoo.segment() loads it."""
    net, member = S.load_model(model, weight)
    return measure_net(net, member.transforms(), data)


def summary(data: List[Tuple[np.ndarray, np.ndarray]], metrics: dict, every: int, zoom: float, split: str) -> dict:
    """What a weight's meta records of its close-up score (publish.py)."""
    return {"pixel_acc": round(metrics["pixel_acc"], 6), "miou": round(metrics["miou"], 6), "crops": len(data),
            "split": split, "every": every, "zoom": zoom}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--split", default="test", choices=["test", "other_breeds"])
    p.add_argument("--every", type=int, default=EVERY, help="every N-th photo of the split")
    p.add_argument("--zoom", type=float, default=ZOOM)
    p.add_argument("--data-path", default=None)
    p.add_argument("--markdown", type=Path, default=None)
    args = p.parse_args(argv)
    if args.every < 1 or args.zoom < 1:
        raise SystemExit("--every: expected >= 1; --zoom: expected >= 1")
    data = crops(args.split, args.every, args.zoom, args.data_path)
    lines = ["| model | weight | role | DEFAULT | close-up pixel acc | close-up mIoU | whole-photo test pixel acc |",
             "|---|---|---|---|---|---|---|"]
    for model, weight, role in rows_to_measure():
        m = measure(model, weight, data)
        member = petzoo.get_model_weights(model)[weight]
        whole = member.meta["_metrics"]["test"]["pixel_acc"]
        default = "yes" if petzoo.get_model_weights(model).DEFAULT is member else ""
        lines.append(f"| {model} | {weight} | {role} | {default} | {m['pixel_acc'] * 100:.2f} % | {m['miou']:.4f} | "
                     f"{whole * 100:.2f} % |")
        print(lines[-1], flush=True)
    argv_shown = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in (("split", args.split), ("every", args.every),
                                                                      ("zoom", f"{args.zoom:g}"))
                          if v != p.get_default(k))
    command = "python benchmarks/closeup.py " + (argv_shown + " " if argv_shown else "") + \
        (f"--markdown {args.markdown.as_posix()}" if args.markdown else "")
    text = "\n".join([
        "# Close-ups",
        "",
        f"Generated by `{command.strip()}` (do not edit by hand): {len(data)} photos of `{args.split}` (one in "
        f"{args.every}), each cut to its centre 1/{args.zoom:g} of each side with its trimap, segmented by "
        "`petzoo.segment()` at the crop's size; pixel accuracy and mIoU over all crop pixels. The last column is "
        "the weight's whole-photo test pixel accuracy from its `meta`.",
        "",
        *lines,
        "",
    ])
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
