"""U-Net (Ronneberger et al., 2015) with BatchNorm and padded convs.

Double conv3x3+BN+ReLU blocks, ``depth`` 2x2 max-pools on the way down,
2x2 transposed convs on the way up, skip concatenation at each level.
``width`` is the channel count of the first level (doubling per level).
"""
from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

from .._registry import register_model
from .._weights import weights_enum
from ._base import SegmentationModel
from ._blocks import conv_stack
from ._builder import build

__all__ = ["UNet", "UNet_Weights", "unet"]

#: Default first-level width. 16 keeps U-Net trainable on a 2-core CPU
#: (see docs/models.md for params, GMACs and img/s at 16, 32 and 64).
DEFAULT_WIDTH = 16


class UNet(SegmentationModel):
    def __init__(
        self, num_classes: int = 3, in_channels: int = 3, width: int = DEFAULT_WIDTH, depth: int = 4
    ):
        super().__init__(num_classes, in_channels)
        if width < 1 or depth < 1:
            raise ValueError(f"width and depth must be >= 1, got width={width}, depth={depth}")
        self.size_multiple = 2**depth
        chans = [width * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList(
            conv_stack([c_in, c, c]) for c_in, c in zip([in_channels] + chans[:-1], chans)
        )
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(c, c // 2, 2, stride=2) for c in reversed(chans[1:])
        )
        self.up_convs = nn.ModuleList(conv_stack([c, c // 2, c // 2]) for c in reversed(chans[1:]))
        self.classifier = nn.Conv2d(width, num_classes, 1)

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        x = self.decoder_input(skips.pop())
        for up, block in zip(self.up, self.up_convs):
            x = block(torch.cat([self.decoder_input(skips.pop()), up(x)], dim=1))
        return self.classifier(x)


UNet_Weights = weights_enum("UNet_Weights", "unet", __name__)


@register_model(weights_enum=UNet_Weights)
def unet(
    *,
    weights: Optional[UNet_Weights | str] = None,
    progress: bool = True,
    num_classes: Optional[int] = None,
    in_channels: int = 3,
    **kwargs: Any,
) -> UNet:
    """U-Net; ``width`` (default 16) and ``depth`` (default 4) are keyword options."""
    return build(UNet, UNet_Weights, weights, progress, num_classes, in_channels, builder="unet", **kwargs)
