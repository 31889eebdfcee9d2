"""The top layer: build a model by registry name or ``hf-hub:`` name; look weights up by full name."""
from __future__ import annotations

from typing import Any, Optional, Tuple

from torch import nn

from ._registry import get_model_builder, get_model_weights, weight_enums
from ._weights import WeightsEnum
from .hub import HF_PREFIX, from_pretrained

__all__ = ["get_model", "get_weight", "get_model_and_weights"]


def get_model(name: str, **config: Any) -> nn.Module:
    """Build a registered model by name, or load a petzoo Hub repo ("hf-hub:org/name[@rev]")."""
    if isinstance(name, str) and name.startswith(HF_PREFIX):
        return from_pretrained(name, **config)
    return get_model_builder(name)(**config)


def get_model_and_weights(name: str, weights: Any = "DEFAULT", **config: Any) -> Tuple[nn.Module, Optional[WeightsEnum]]:
    """(model with ``weights`` loaded, the resolved weight member or None): the one
    "name -> weight member -> model" path of the CLI and :func:`petzoo.segment`."""
    member = get_model_weights(name).verify(weights)
    return get_model_builder(name)(weights=member, **config), member


def get_weight(name: str) -> WeightsEnum:
    """Look up a weight by its full name, e.g. ``"SegNetDSC_Weights.OXFORD_PET_V1"``."""
    if "." not in name:
        raise ValueError(f"weight name {name!r} must look like 'EnumName.MEMBER'")
    enum_name, member = name.split(".", 1)
    for enum_cls in weight_enums():
        if enum_cls.__name__ == enum_name:
            return enum_cls.verify(member)
    raise ValueError(f"unknown weight enum {enum_name!r} in {name!r}")
