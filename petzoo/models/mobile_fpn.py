"""MobileFPN: a CPU-first segmenter, inverted-residual encoder + light top-down decoder.

Built by measurement on a 2-core CPU against torchvision's LR-ASPP
(``benchmarks/mobile_fpn.py``; the numbers are in docs/inference.md):

- **Encoder**: a strided 3x3 stem (stride 2), then torchvision's MobileNetV3
  inverted-residual blocks (``torchvision.models.mobilenetv3.InvertedResidual``,
  random init; nothing is downloaded) in MobileNetV3-Large's stage layout,
  strides 4, 8, 16 and 32. Unlike MobileNetV3 it uses ReLU everywhere, 3x3
  depthwise kernels and no squeeze-excitation, and the last stage is not dilated:
  on this CPU the 5x5 kernels, SE and the dilated stride-16 last stage of LR-ASPP's
  backbone cost latency for little benefit at 128 px. ``width_mult`` scales every
  stage (MobileNet's width multiplier, channels rounded to multiples of 8).
- **Decoder**: the stride-32 features, projected to ``decoder_channels``, are
  upsampled and added to the projected stride-8 skip, fused by a depthwise-
  separable 3x3 conv, upsampled again and added to the projected stride-4 skip,
  fused again; a 1x1 classifier gives stride-4 logits, upsampled bilinearly to
  the input size. All convs are conv+BN(+ReLU) sequences, so
  ``petzoo.inference.prepare_for_inference`` folds every BatchNorm.
"""
from __future__ import annotations

from functools import partial
from typing import Any, List, Optional

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.mobilenetv3 import InvertedResidual, InvertedResidualConfig
from torchvision.ops.misc import Conv2dNormActivation

from .._registry import register_model
from .._weights import weights_enum
from ._base import SegmentationModel
from ._builder import build

__all__ = ["MobileFPN", "MobileFPN_Weights", "mobile_fpn"]

#: (kernel, expanded channels, output channels, stride): MobileNetV3-Large's stages
#: with 3x3 kernels; the first block of each stride-2 stage ends the previous stage.
STAGES = (
    (3, 16, 16, 1),
    (3, 64, 24, 2), (3, 72, 24, 1),  # stride 4
    (3, 72, 40, 2), (3, 120, 40, 1), (3, 120, 40, 1),  # stride 8
    (3, 240, 80, 2), (3, 200, 80, 1), (3, 184, 80, 1), (3, 184, 80, 1),
    (3, 480, 112, 1), (3, 672, 112, 1),  # stride 16
    (3, 672, 160, 2), (3, 960, 160, 1), (3, 960, 160, 1),  # stride 32
)
#: Default width multiplier, chosen in benchmarks/mobile_fpn.py (see docs/models.md).
DEFAULT_WIDTH = 1.0
_BN = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)


def _separable(channels: int) -> nn.Sequential:
    return nn.Sequential(
        Conv2dNormActivation(channels, channels, 3, groups=channels, norm_layer=_BN, activation_layer=nn.ReLU),
        Conv2dNormActivation(channels, channels, 1, norm_layer=_BN, activation_layer=nn.ReLU),
    )


class MobileFPN(SegmentationModel):
    size_multiple = 32

    def __init__(
        self, num_classes: int = 3, in_channels: int = 3, width_mult: float = DEFAULT_WIDTH,
        decoder_channels: int = 64,
    ):
        super().__init__(num_classes, in_channels)
        if width_mult <= 0 or decoder_channels < 1:
            raise ValueError(
                f"width_mult must be > 0 and decoder_channels >= 1, got {width_mult}, {decoder_channels}"
            )
        adjust = partial(InvertedResidualConfig.adjust_channels, width_mult=width_mult)
        layers: List[nn.Module] = [
            Conv2dNormActivation(in_channels, adjust(16), 3, stride=2, norm_layer=_BN, activation_layer=nn.ReLU)
        ]
        c_in, taps = 16, []
        for kernel, expanded, c_out, stride in STAGES:
            if stride == 2:
                taps.append((len(layers) - 1, adjust(c_in)))  # the output of the previous stage
            cfg = InvertedResidualConfig(c_in, kernel, expanded, c_out, False, "RE", stride, 1, width_mult)
            layers.append(InvertedResidual(cfg, _BN))
            c_in = c_out
        self.encoder = nn.Sequential(*layers)
        (self._tap4, c4), (self._tap8, c8) = taps[1], taps[2]  # ends of the stride-4 and stride-8 stages
        self.project32 = Conv2dNormActivation(adjust(c_in), decoder_channels, 1, norm_layer=_BN)
        self.project8 = Conv2dNormActivation(c8, decoder_channels, 1, norm_layer=_BN)
        self.project4 = Conv2dNormActivation(c4, decoder_channels, 1, norm_layer=_BN)
        self.fuse8 = _separable(decoder_channels)
        self.fuse4 = _separable(decoder_channels)
        self.classifier = nn.Conv2d(decoder_channels, num_classes, 1)

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        for i, layer in enumerate(self.encoder):
            x = layer(x)
            if i == self._tap4:
                skip4 = x
            elif i == self._tap8:
                skip8 = x
        skip4, skip8 = self.decoder_input(skip4), self.decoder_input(skip8)
        y = self.project32(self.decoder_input(x))
        y = F.interpolate(y, size=skip8.shape[-2:], mode="bilinear", align_corners=False) + self.project8(skip8)
        y = self.fuse8(y)
        y = F.interpolate(y, size=skip4.shape[-2:], mode="bilinear", align_corners=False) + self.project4(skip4)
        y = self.fuse4(y)
        return F.interpolate(self.classifier(y), size=size, mode="bilinear", align_corners=False)


MobileFPN_Weights = weights_enum("MobileFPN_Weights", "mobile_fpn", __name__)


@register_model(weights_enum=MobileFPN_Weights)
def mobile_fpn(
    *,
    weights: Optional[MobileFPN_Weights | str] = None,
    progress: bool = True,
    num_classes: Optional[int] = None,
    in_channels: int = 3,
    **kwargs: Any,
) -> MobileFPN:
    """MobileFPN, CPU-first; ``width_mult`` (default 1.0) and ``decoder_channels`` (64) are keyword options."""
    return build(MobileFPN, MobileFPN_Weights, weights, progress, num_classes, in_channels, builder="mobile_fpn",
                 **kwargs)
