"""The committed demo figure: every zoo model on scikit-image's bundled cat photo.

    python docs/make_demo_figure.py      # writes docs/figures/demo_chelsea.png

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


def main() -> None:
    photo = data.chelsea()
    tiles = [(photo, "input (scikit-image 'chelsea')")]
    for name in petzoo.list_models():
        tiles.append((np.array(S.overlay(photo, S.segment(photo, model=name))), f"{name} (DEFAULT)"))
    save_grid([(Image.fromarray(t), label) for t, label in tiles], 3, OUT)


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
