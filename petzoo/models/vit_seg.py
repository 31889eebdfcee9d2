"""ViT segmenter: timm VisionTransformer tokens -> per-patch linear head -> pixels.

As in the seed's part 4: every patch token is mapped by one linear layer to the
logits of its ``patch x patch`` pixels, which are put back in place with
``pixel_shuffle``. The input size is fixed by the configuration (the position
embedding is learnt for that grid; timm's ``dynamic_img_size`` is not used), and
any other size is a ValueError. A weight of one grid starts a model of another
through :meth:`ViTSeg.resample_state_dict` (``train.py --finetune-from``), which
resamples the position embedding as timm does when it loads a checkpoint at a new
image size.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import torch
import torch.nn.functional as F
from timm.layers import resample_abs_pos_embed
from timm.models.vision_transformer import VisionTransformer
from torch import nn

from .._registry import register_model
from .._weights import weights_enum
from ._base import SegmentationModel
from ._builder import build

__all__ = ["ViTSeg", "ViTSeg_Weights", "vit_seg", "VIT_CONFIGS"]

VIT_CONFIGS: Dict[str, Dict[str, int]] = {
    # The seed article's model (86.3 M params): built and tested, no weights ship.
    "seed": dict(image_size=128, patch_size=16, embed_dim=768, depth=12, num_heads=8),
    # Small enough to train on a 2-core CPU; the configuration that gets weights.
    "small": dict(image_size=128, patch_size=8, embed_dim=192, depth=6, num_heads=3),
}


class ViTSeg(SegmentationModel):
    def __init__(
        self,
        num_classes: int = 3,
        in_channels: int = 3,
        image_size: int = 128,
        patch_size: int = 8,
        embed_dim: int = 192,
        depth: int = 6,
        num_heads: int = 3,
        mlp_ratio: float = 4.0,
        drop_path_rate: float = 0.0,
    ):
        super().__init__(num_classes, in_channels)
        if image_size % patch_size:
            raise ValueError(f"image_size {image_size} is not a multiple of patch_size {patch_size}")
        self.fixed_size = (image_size, image_size)
        self.size_multiple = patch_size
        self.image_size = image_size
        self.patch_size = patch_size
        self.encoder = VisionTransformer(
            img_size=image_size,
            patch_size=patch_size,
            in_chans=in_channels,
            num_classes=0,
            global_pool="",
            class_token=False,
            embed_dim=embed_dim,
            depth=depth,
            num_heads=num_heads,
            mlp_ratio=mlp_ratio,
            drop_path_rate=drop_path_rate,
        )
        self.head = nn.Linear(embed_dim, patch_size * patch_size * num_classes)

    def resample_state_dict(self, state):
        """(``state`` with its position embedding resampled to this model's grid, what was resampled): a weight
        trained at another ``image_size`` (same patch size) as the start of this one. Bicubic, as timm resamples
        a checkpoint's position embedding; a state already at this grid comes back unchanged."""
        key = "encoder.pos_embed"
        if key not in state:
            raise KeyError(f"{key} is missing")
        grid = self.image_size // self.patch_size
        old = state[key]
        if old.shape[-1] != self.encoder.pos_embed.shape[-1]:
            raise ValueError(f"{key} has width {old.shape[-1]}, the model {self.encoder.pos_embed.shape[-1]}")
        side = round(old.shape[1] ** 0.5)
        if side * side != old.shape[1]:
            raise ValueError(f"{key} has {old.shape[1]} positions, not a square grid")
        if side == grid:
            return state, []
        state = dict(state)
        state[key] = resample_abs_pos_embed(old, [grid, grid], [side, side], num_prefix_tokens=0)
        return state, [f"position embedding {side}x{side} -> {grid}x{grid}"]

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.head(self.decoder_input(self.encoder.forward_features(x)))  # (N, L, p*p*C)
        grid = self.image_size // self.patch_size
        n = x.shape[0]
        maps = tokens.transpose(1, 2).reshape(n, -1, grid, grid)
        return F.pixel_shuffle(maps, self.patch_size)


ViTSeg_Weights = weights_enum("ViTSeg_Weights", "vit_seg", __name__)


@register_model(weights_enum=ViTSeg_Weights)
def vit_seg(
    *,
    weights: Optional[ViTSeg_Weights | str] = None,
    progress: bool = True,
    num_classes: Optional[int] = None,
    in_channels: int = 3,
    config: str = "small",
    **kwargs: Any,
) -> ViTSeg:
    """ViT segmenter; ``config`` is "small" (CPU-trainable) or "seed" (86.3 M params).

    Keyword arguments override single fields of the configuration. A weight's own ``image_size`` (e.g. 192 for a
    weight trained at 192 px) overrides the configuration's and conflicts only with one passed here; its other
    fields must match the configuration (``config="seed"`` with a small weight is a one-line conflict).
    """
    if config not in VIT_CONFIGS:
        raise ValueError(f"unknown vit_seg config {config!r}; choose from {sorted(VIT_CONFIGS)}")
    weights = ViTSeg_Weights.verify(weights)
    own = weights.builder_kwargs if weights is not None else {}
    own_size = {"image_size": own["image_size"]} if "image_size" in own else {}
    kwargs = {**VIT_CONFIGS[config], **own_size, **kwargs}
    return build(ViTSeg, ViTSeg_Weights, weights, progress, num_classes, in_channels, builder="vit_seg", **kwargs)
