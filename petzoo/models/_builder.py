"""The common body of every keyword-only builder."""
from __future__ import annotations

from typing import Any, Optional, Type

from torch import nn

from .._api import CATEGORIES, WeightsEnum


def build(
    model_cls: Type[nn.Module],
    weights_enum: Type[WeightsEnum],
    weights: Any,
    progress: bool,
    num_classes: Optional[int],
    in_channels: int,
    **kwargs: Any,
) -> nn.Module:
    """Resolve ``weights``, reconcile arguments with them, build, load strictly."""
    weights = weights_enum.verify(weights)
    if weights is not None:
        n_weights = len(weights.meta["categories"])
        if num_classes is not None and num_classes != n_weights:
            raise ValueError(
                f"num_classes={num_classes} conflicts with {weights!r}, "
                f"which has {n_weights} categories"
            )
        num_classes = n_weights
        if in_channels != 3:
            raise ValueError(f"in_channels={in_channels} conflicts with {weights!r} (RGB, 3 channels)")
        for key, value in weights.builder_kwargs.items():
            if key in kwargs and kwargs[key] != value:
                raise ValueError(f"{key}={kwargs[key]!r} conflicts with {weights!r} ({key}={value!r})")
            kwargs[key] = value
    model = model_cls(
        num_classes=len(CATEGORIES) if num_classes is None else num_classes,
        in_channels=in_channels,
        **kwargs,
    )
    if weights is not None:
        model.load_state_dict(weights.get_state_dict(progress=progress), strict=True)
    return model
