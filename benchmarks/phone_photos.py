"""Seconds per 12-MP phone photo for ``petzoo predict``: mask, cut-out, cut-out with matting.

    python benchmarks/phone_photos.py [--model segnet_dsc] [--repeats 3]

A 4032 x 3024 JPEG (quality 90, EXIF orientation 6 as phones write it) is generated
here; each mode is run through the CLI entry point in this process (model already
loaded, so the time is per photo, not per start-up) and the median is printed.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from petzoo.cli import main as petzoo_main
from petzoo.profile import describe_device

RUNS = {
    "mask": ["--mode", "mask"],
    "cutout": ["--mode", "cutout"],
    "cutout --matting": ["--mode", "cutout", "--matting"],
    "background --clean --matting": ["--mode", "background", "--background", "teal", "--clean", "--matting"],
}


def make_photo(path: Path, w: int = 4032, h: int = 3024) -> Path:
    yy, xx = np.mgrid[0:h:8, 0:w:8]
    small = np.stack([xx * 255 // w, yy * 255 // h, np.full_like(xx, 90)], -1).astype(np.uint8)
    small[((yy - h / 2) / (h / 3)) ** 2 + ((xx - w / 2) / (w / 4)) ** 2 < 1] = (230, 180, 120)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(small).resize((w, h), Image.BILINEAR).save(path, quality=90, exif=exif)
    return path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="segnet_dsc")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        photo = make_photo(Path(tmp) / "IMG_4032x3024.jpg")
        warm = ["predict", str(photo), "--model", args.model, "--out", f"{tmp}/warm", "--quiet", "--overwrite"]
        assert petzoo_main(warm + RUNS["cutout --matting"]) == 0  # model load, numba compile
        print(f"petzoo predict, 12-MP JPEG (4032x3024, EXIF-rotated), model {args.model}, {describe_device()}:")
        for name, extra in RUNS.items():
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                code = petzoo_main(["predict", str(photo), "--model", args.model, "--out", f"{tmp}/out", "--quiet",
                                    "--overwrite", *extra])
                times.append(time.perf_counter() - start)
                assert code == 0
            out = next(Path(f"{tmp}/out").glob(f"*.{extra[1]}.png"))
            print(f"  {name:30s} {statistics.median(times):6.2f} s per photo  (output {Image.open(out).size[0]}x"
                  f"{Image.open(out).size[1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
