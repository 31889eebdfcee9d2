"""The committed edges figure: hard cut-out vs --clean vs --matting on scikit-image's cat.

    python docs/make_edges_figure.py     # writes docs/figures/edges_chelsea.png

Each tile is the DEFAULT weight's cut-out composited on a grey checkerboard, cropped to
the cat's head and enlarged 2x (nearest), so the edges can be seen.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from make_demo_figure import save_grid
from skimage import data

import petzoo
import petzoo.inference as S

OUT = Path(__file__).resolve().parent / "figures" / "edges_chelsea.png"
CROP = (130, 0, 330, 150)  # x0, y0, x1, y1 of the 451 x 300 photo: ears, forehead, eyes


def on_checkerboard(rgba: Image.Image) -> Image.Image:
    w, h = rgba.size
    yy, xx = np.mgrid[:h, :w]
    board = np.where(((yy // 8 + xx // 8) % 2)[..., None] == 0, 200, 140).astype(np.uint8).repeat(3, 2)
    out = Image.fromarray(board)
    out.paste(rgba, (0, 0), rgba)
    return out


def main() -> None:
    photo = data.chelsea()
    mask = petzoo.segment(photo)
    cleaned = S.clean_mask(mask)
    tiles = [
        (Image.fromarray(photo), "input (scikit-image 'chelsea')"),
        (on_checkerboard(S.cutout(photo, mask)), "cutout (hard: border alpha 128)"),
        (on_checkerboard(S.cutout(photo, cleaned)), "cutout --clean"),
        (on_checkerboard(S.cutout(photo, cleaned, matting=True)), "cutout --clean --matting"),
    ]
    w, h = (CROP[2] - CROP[0]) * 2, (CROP[3] - CROP[1]) * 2
    save_grid([(tile.crop(CROP).resize((w, h), Image.NEAREST), label) for tile, label in tiles], 2, OUT)


if __name__ == "__main__":
    main()
