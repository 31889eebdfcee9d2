"""FCN-8s (Long et al., 2015) on a from-scratch VGG-style backbone.

The backbone is SegNet's encoder pattern (conv3x3+BN+ReLU stacks, 2x2 max-pool)
with a fifth stage, so features exist at strides 8, 16 and 32. Score maps at those
strides are fused by learnable 2x, 2x and 8x transposed convs initialised to
bilinear interpolation.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._registry import register_model
from .._weights import weights_enum
from ._base import SegmentationModel
from ._blocks import conv_bn_relu, conv_stack
from ._builder import build

__all__ = ["FCN8s", "FCN_Weights", "fcn"]


def bilinear_upsampler(channels: int, factor: int) -> nn.ConvTranspose2d:
    """Per-channel transposed conv that starts out as exact bilinear upsampling."""
    k = 2 * factor
    up = nn.ConvTranspose2d(channels, channels, k, stride=factor, padding=factor // 2, bias=False)
    centre = (k - 1) / 2
    ramp = 1 - (torch.arange(k, dtype=torch.float32) - centre).abs() / factor
    kernel = ramp[:, None] * ramp[None, :]
    with torch.no_grad():
        up.weight.zero_()
        for c in range(channels):
            up.weight[c, c] = kernel
    return up


class FCN8s(SegmentationModel):
    size_multiple = 32

    def __init__(
        self,
        num_classes: int = 3,
        in_channels: int = 3,
        widths: Sequence[int] = (32, 64, 128, 256, 512),
        depths: Sequence[int] = (2, 2, 3, 3, 3),
    ):
        super().__init__(num_classes, in_channels)
        if len(widths) != 5 or len(depths) != 5:
            raise ValueError("FCN8s needs 5 stages (strides 2..32): widths and depths of length 5")
        chans = (in_channels,) + tuple(widths)
        self.stages = nn.ModuleList(
            conv_stack([chans[i]] + [chans[i + 1]] * d) for i, d in enumerate(depths)
        )
        self.context = conv_bn_relu(widths[4], widths[4])  # stands in for VGG's fc6/fc7
        self.score32 = nn.Conv2d(widths[4], num_classes, 1)
        self.score16 = nn.Conv2d(widths[3], num_classes, 1)
        self.score8 = nn.Conv2d(widths[2], num_classes, 1)
        self.up32 = bilinear_upsampler(num_classes, 2)
        self.up16 = bilinear_upsampler(num_classes, 2)
        self.up8 = bilinear_upsampler(num_classes, 8)

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        feats = []
        for stage in self.stages:
            x = F.max_pool2d(stage(x), 2)
            feats.append(x)
        s8, s16 = self.decoder_input(feats[2]), self.decoder_input(feats[3])
        s32 = self.decoder_input(self.context(feats[4]))
        y = self.up32(self.score32(s32)) + self.score16(s16)
        y = self.up16(y) + self.score8(s8)
        return self.up8(y)


FCN_Weights = weights_enum("FCN_Weights", "fcn", __name__)


@register_model(weights_enum=FCN_Weights)
def fcn(
    *,
    weights: Optional[FCN_Weights | str] = None,
    progress: bool = True,
    num_classes: Optional[int] = None,
    in_channels: int = 3,
    **kwargs: Any,
) -> FCN8s:
    """FCN-8s on a from-scratch VGG-style backbone at half VGG16 width (about 10 M params)."""
    return build(FCN8s, FCN_Weights, weights, progress, num_classes, in_channels, builder="fcn", **kwargs)
