"""The committed demo figures on scikit-image's bundled close-up cat photo:

- docs/figures/demo_chelsea.png: every zoo model, the DEFAULT it had before distillation from the pretrained
  teacher (issue 22; the weight its ``ptdistill_ft`` recipe starts from) on the left, beside its DEFAULT now on
  the right (the pretrained tiers: their DEFAULT, unchanged);
- docs/figures/default_chelsea.png: what ``petzoo.segment()`` / ``petzoo predict`` gave before the
  ImageNet-pretrained tiers (mobile_fpn OXFORD_PET_V2) beside what they give now (the default model's
  DEFAULT weight), and the fast pretrained tier.

    python docs/make_demo_figure.py

(Figures on Oxford-IIIT Pet images are never committed; make them on demand with
``petzoo predict <images> --mode overlay``.)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from skimage import data

import petzoo
import petzoo.inference as S

OUT = Path(__file__).resolve().parent / "figures" / "demo_chelsea.png"
OUT_DEFAULT = OUT.with_name("default_chelsea.png")
#: segment()'s default before the pretrained tiers (issue 21)
DEFAULT_BEFORE = ("mobile_fpn", "OXFORD_PET_V2")
FAST = "fpn_efficientnet_lite0"


def before_distillation() -> dict:
    """Each seed family's DEFAULT before the pretrained teacher's rounds: its ptdistill_ft recipe's start."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "train_reference"))
    import recipes

    return {m: weights[0][0] for m in petzoo.list_models() if (weights := recipes.ptdistill_weights(m))}


SCALE = 0.6


def main() -> None:
    photo = data.chelsea()
    tiles = []
    before_of = before_distillation()
    for name in petzoo.list_models():
        now = petzoo.get_model_weights(name).DEFAULT.name
        before = before_of.get(name, now)
        for weight, label in ((before, "before"), (now, "now, DEFAULT" if now != before else "DEFAULT, unchanged")):
            tile = Image.fromarray(np.array(S.overlay(photo, S.segment(photo, model=name, weights=weight))))
            tiles.append((tile.resize((round(tile.width * SCALE), round(tile.height * SCALE))), f"{name} {weight} ({label})"))
    save_grid(tiles, 2, OUT)
    default = [(DEFAULT_BEFORE, "default before"), ((S.DEFAULT_MODEL, "DEFAULT"), "default now"),
               ((FAST, "DEFAULT"), "fast tier")]
    tiles = []
    for (name, weight), label in default:
        tile = Image.fromarray(np.array(S.overlay(photo, S.segment(photo, model=name, weights=weight))))
        shown = petzoo.get_model_weights(name).verify(weight).name
        tiles.append((tile.resize((round(tile.width * SCALE), round(tile.height * SCALE))),
                      f"{label}: {name} {shown.replace('OXFORD_PET_', '')}"))
    save_grid(tiles, 3, OUT_DEFAULT)


def save_grid(tiles, columns: int, out: Path) -> None:
    """Labelled tiles (PIL images of one size) in a grid of ``columns``, saved to ``out``."""
    w, h = tiles[0][0].size
    rows = -(-len(tiles) // columns)
    canvas = Image.new("RGB", (w * columns, (h + 20) * rows), "white")
    for i, (tile, label) in enumerate(tiles):
        x, y = (i % columns) * w, (i // columns) * (h + 20)
        canvas.paste(tile, (x, y + 20))
        ImageDraw.Draw(canvas).text((x + 4, y + 4), label, fill="black")
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out, optimize=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
