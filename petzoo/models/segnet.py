"""SegNet and SegNet-DSC (depthwise-separable), after the seed articles.

Input BatchNorm2d(3) in place of fixed normalisation; encoder 3->64->128->256->512
with 2, 2, 3, 3 conv3x3+BN+ReLU per stage and max-pool with indices; a mirrored
decoder that max-unpools with those indices.

Difference from the published notebook: its last decoder layer ended in
BatchNorm+ReLU, so its "logits" were non-negative and normalised. We measured
that to stall training, so petzoo's last layer is a plain conv with bias
producing raw logits.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn

from .._registry import register_model
from .._weights import weights_enum
from ._base import SegmentationModel
from ._blocks import DecoderStage, EncoderStage
from ._builder import build

__all__ = ["SegNet", "SegNet_Weights", "SegNetDSC_Weights", "segnet", "segnet_dsc"]

_WIDTHS = (64, 128, 256, 512)
_DEPTHS = (2, 2, 3, 3)


class SegNet(SegmentationModel):
    """SegNet encoder-decoder; ``separable=True`` gives SegNet-DSC."""

    size_multiple = 2 ** len(_WIDTHS)

    def __init__(self, num_classes: int = 3, in_channels: int = 3, separable: bool = False):
        super().__init__(num_classes, in_channels)
        self.input_norm = nn.BatchNorm2d(in_channels)
        chans = (in_channels,) + _WIDTHS
        self.encoder = nn.ModuleList(
            EncoderStage([chans[i]] + [chans[i + 1]] * d, separable)
            for i, d in enumerate(_DEPTHS)
        )
        decoder = []
        for i in reversed(range(1, len(_WIDTHS))):
            decoder.append(DecoderStage([chans[i + 1]] * _DEPTHS[i] + [chans[i]], separable))
        # Last stage: convs at 64 channels, then a plain conv to raw logits.
        decoder.append(DecoderStage([chans[1]] * _DEPTHS[0], separable))
        self.decoder = nn.ModuleList(decoder)
        self.classifier = (
            nn.Sequential(
                nn.Conv2d(chans[1], chans[1], 3, padding=1, groups=chans[1], bias=False),
                nn.Conv2d(chans[1], num_classes, 1),
            )
            if separable
            else nn.Conv2d(chans[1], num_classes, 3, padding=1)
        )

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_norm(x)
        skips = []
        for stage in self.encoder:
            x, indices, size = stage(x)
            skips.append((indices, size))
        x = self.decoder_input(x)  # the decoder's only feature input (the skips are pooling indices)
        for stage, (indices, size) in zip(self.decoder, reversed(skips)):
            x = stage(x, indices, size)
        return self.classifier(x)


SegNet_Weights = weights_enum("SegNet_Weights", "segnet", __name__)


SegNetDSC_Weights = weights_enum("SegNetDSC_Weights", "segnet_dsc", __name__)


@register_model(weights_enum=SegNet_Weights)
def segnet(
    *,
    weights: Optional[SegNet_Weights | str] = None,
    progress: bool = True,
    num_classes: Optional[int] = None,
    in_channels: int = 3,
    **kwargs: Any,
) -> SegNet:
    """SegNet (15.27 M params) with plain 3x3 convs."""
    return build(SegNet, SegNet_Weights, weights, progress, num_classes, in_channels,
                 builder="segnet", fixed={"separable": False}, **kwargs)


@register_model(weights_enum=SegNetDSC_Weights)
def segnet_dsc(
    *,
    weights: Optional[SegNetDSC_Weights | str] = None,
    progress: bool = True,
    num_classes: Optional[int] = None,
    in_channels: int = 3,
    **kwargs: Any,
) -> SegNet:
    """SegNet-DSC (1.75 M params): every 3x3 conv depthwise-separable."""
    return build(SegNet, SegNetDSC_Weights, weights, progress, num_classes, in_channels,
                 builder="segnet_dsc", fixed={"separable": True}, **kwargs)
