"""The common body of every keyword-only builder."""
from __future__ import annotations

import inspect
from typing import Any, Dict, Optional, Type

from .._registry import CATEGORIES
from .._weights import WeightsEnum
from ._base import SegmentationModel


def build(
    model_cls: Type[SegmentationModel],
    weights_enum: Type[WeightsEnum],
    weights: Any,
    progress: bool,
    num_classes: Optional[int],
    in_channels: int,
    *,
    builder: str,
    fixed: Optional[Dict[str, Any]] = None,
    **kwargs: Any,
) -> SegmentationModel:
    """Resolve ``weights``, reconcile arguments with them, build, load strictly.

    ``fixed``: constructor arguments the builder itself sets (e.g. ``separable`` for
    SegNet-DSC); a caller passing one gets a clear error, never a different model.
    The model's ``builder_kwargs`` records the options it was built with (what a
    weight's manifest entry stores).
    """
    fixed = fixed or {}
    accepted = set(inspect.signature(model_cls.__init__).parameters) - {"self", "num_classes", "in_channels"}
    for key in kwargs:
        if key in fixed:
            raise TypeError(f"{builder}() sets {key}={fixed[key]!r} itself; it cannot be passed")
        if key not in accepted:
            raise TypeError(
                f"{builder}() got an unexpected keyword argument {key!r}; "
                f"options: weights, progress, num_classes, in_channels, {', '.join(sorted(accepted - set(fixed)))}"
            )
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
            if key in kwargs and _as_json(kwargs[key]) != _as_json(value):  # a tuple matches the config's list
                raise ValueError(f"{key}={kwargs[key]!r} conflicts with {weights!r} ({key}={value!r})")
            kwargs[key] = value
    model = model_cls(
        num_classes=len(CATEGORIES) if num_classes is None else num_classes,
        in_channels=in_channels,
        **fixed,
        **kwargs,
    )
    model.builder_kwargs = dict(kwargs)
    if weights is not None:
        model.load_state_dict(weights.get_state_dict(progress=progress), strict=True)
    return model


def _as_json(value: Any) -> Any:
    """``value`` as a weight's config.json holds it (tuples become lists)."""
    if isinstance(value, (list, tuple)):
        return [_as_json(v) for v in value]
    return value
