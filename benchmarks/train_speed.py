"""Training img/s per model at 64/96/128 px, with and without channels_last, on this CPU.

    python benchmarks/train_speed.py [--models segnet_dsc unet] [--batch-size 16]
"""
from __future__ import annotations

import argparse
import sys

import torch
import torch.nn.functional as F

import petzoo
from petzoo.profile import format_table, images_per_second


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=petzoo.list_models())
    p.add_argument("--sizes", nargs="+", type=int, default=[64, 96, 128])
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--min-seconds", type=float, default=2.0)
    args = p.parse_args()
    rows = []
    for name in args.models:
        for size in args.sizes:
            row = {"model": name, "size": size}
            if petzoo.get_model(name).valid_size(size) != (size, size):
                continue  # a fixed-size model is timed at its own size only
            for channels_last in (False, True):
                model = petzoo.get_model(name).train()
                x = torch.randn(args.batch_size, 3, size, size)
                y = torch.randint(0, 3, (args.batch_size, size, size))
                if channels_last:
                    model = model.to(memory_format=torch.channels_last)
                    x = x.contiguous(memory_format=torch.channels_last)
                opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

                def step():
                    opt.zero_grad()
                    F.cross_entropy(model(x), y).backward()
                    opt.step()

                key = "channels_last img/s" if channels_last else "img/s"
                row[key] = images_per_second(step, args.batch_size, min_seconds=args.min_seconds)
            rows.append(row)
            print(format_table(rows[-1:], list(row)).splitlines()[-1], flush=True)
    print(format_table(rows, ["model", "size", "img/s", "channels_last img/s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
