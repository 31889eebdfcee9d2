"""U-Net width trade-off on this CPU: params, GMACs, inference and training img/s at 128 px.

    python benchmarks/unet_width.py
"""
from __future__ import annotations

import sys

import torch
import torch.nn.functional as F

import petzoo
from petzoo.profile import format_table, forward_images_per_second, images_per_second, profile


def main() -> int:
    rows = []
    for width in (16, 32, 64):
        model = petzoo.unet(width=width)
        stats = profile(model, 128)
        x, y = torch.randn(16, 3, 128, 128), torch.randint(0, 3, (16, 128, 128))
        opt = torch.optim.SGD(model.parameters(), lr=1e-3)

        def train_step():
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()

        model.train()
        train_ips = images_per_second(train_step, 16, min_seconds=3)
        model.eval()
        rows.append({
            "width": width, "num_params": stats["num_params"], "gmacs": stats["gmacs"],
            "infer img/s (b16)": forward_images_per_second(model, x, min_seconds=3), "train img/s (b16)": train_ips,
        })
    print(format_table(rows, ["width", "num_params", "gmacs", "infer img/s (b16)", "train img/s (b16)"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
