"""Building blocks shared by every petzoo CNN (one place, no copies)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn_relu(in_ch: int, out_ch: int, separable: bool = False) -> nn.Sequential:
    """3x3 conv (plain, or depthwise 3x3 + pointwise 1x1) -> BatchNorm -> ReLU."""
    if separable:
        conv = [
            nn.Conv2d(in_ch, in_ch, 3, padding=1, groups=in_ch, bias=False),
            nn.Conv2d(in_ch, out_ch, 1, bias=False),
        ]
    else:
        conv = [nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False)]
    return nn.Sequential(*conv, nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True))


def conv_stack(channels: Sequence[int], separable: bool = False) -> nn.Sequential:
    """Chain of conv_bn_relu blocks through ``channels`` (c0 -> c1 -> ... -> cn)."""
    return nn.Sequential(
        *(conv_bn_relu(a, b, separable) for a, b in zip(channels[:-1], channels[1:]))
    )


def max_unpool2x(x: torch.Tensor, indices: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Inverse of a 2x2 max-pool with indices, written as a scatter.

    Numerically the same as ``F.max_unpool2d`` but made of ops that TorchScript,
    ``torch.export`` and ONNX (ScatterElements) all support.
    """
    n, c = x.shape[:2]
    out = x.new_zeros(n, c, int(size[0]) * int(size[1]))
    out = out.scatter(2, indices.flatten(2), x.flatten(2))
    return out.view(n, c, int(size[0]), int(size[1]))


class EncoderStage(nn.Module):
    """Conv stack then 2x2 max-pool; returns (pooled, indices, pre-pool size)."""

    def __init__(self, channels: Sequence[int], separable: bool = False):
        super().__init__()
        self.convs = conv_stack(channels, separable)

    def forward(self, x: torch.Tensor):
        x = self.convs(x)
        pooled, indices = F.max_pool2d(x, 2, 2, return_indices=True)
        return pooled, indices, x.shape[-2:]


class DecoderStage(nn.Module):
    """Max-unpool with the encoder's indices, then a conv stack."""

    def __init__(self, channels: Sequence[int], separable: bool = False):
        super().__init__()
        self.convs = conv_stack(channels, separable)

    def forward(self, x: torch.Tensor, indices: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        return self.convs(max_unpool2x(x, indices, size))

