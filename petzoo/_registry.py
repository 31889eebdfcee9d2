"""The bottom layer: class names and the model registry (imports nothing else of petzoo).

Layers, each importing only those below it:

1. ``_registry`` (this module): ``CATEGORIES``, class ids, builders and their weight enums;
2. ``_weights``: the ``Weights``/``WeightsEnum`` descriptors and finding/verifying/loading
   their files (checkout, git history, Hugging Face cache, Hub);
3. ``hub``: Hub-format folders (``save_pretrained`` / ``from_pretrained``);
4. ``_factory``: ``get_model`` (registry names and ``hf-hub:`` names) and ``get_weight``.
"""
from __future__ import annotations

import fnmatch
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

from torch import nn

__all__ = [
    "CATEGORIES",
    "PET",
    "BACKGROUND",
    "BORDER",
    "register_model",
    "list_models",
    "get_model_builder",
    "get_model_weights",
]

#: The model ``petzoo.segment()`` and the CLI use unless told otherwise: the best accuracy among the
#: models at real-time CPU speed, as ``benchmarks/default_model.py`` measures (docs/default-model.md).
DEFAULT_MODEL = "unet_efficientnet_lite2"

#: Class index -> name. Trimap value v maps to class v - 1.
CATEGORIES = ["pet", "background", "border"]
PET, BACKGROUND, BORDER = (CATEGORIES.index(c) for c in ("pet", "background", "border"))

_MODELS: Dict[str, Callable[..., nn.Module]] = {}
_WEIGHTS: Dict[str, Any] = {}  # name -> WeightsEnum subclass (defined one layer up)


def register_model(
    name: Optional[str] = None, weights_enum: Optional[Any] = None
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator adding a builder (and its weight enum, which may have no member yet) to the registry."""

    def wrapper(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        key = name or fn.__name__
        if key in _MODELS:
            raise ValueError(f"a model is already registered as {key!r}")
        _MODELS[key] = fn
        if weights_enum is not None:
            _WEIGHTS[key] = weights_enum
        return fn

    return wrapper


def _as_patterns(p: Union[str, Iterable[str], None]) -> List[str]:
    if p is None:
        return []
    return [p] if isinstance(p, str) else list(p)


def list_models(
    include: Union[str, Iterable[str], None] = None,
    exclude: Union[str, Iterable[str], None] = None,
) -> List[str]:
    """Sorted registered names, filtered by fnmatch ``include``/``exclude`` patterns."""
    names = set(_MODELS)
    inc = _as_patterns(include)
    if inc:
        names = {n for n in names if any(fnmatch.fnmatch(n, p) for p in inc)}
    for pattern in _as_patterns(exclude):
        names = {n for n in names if not fnmatch.fnmatch(n, pattern)}
    return sorted(names)


def get_model_builder(name: str) -> Callable[..., nn.Module]:
    if not isinstance(name, str):
        raise TypeError(f"model name must be a string, got {type(name).__name__}")
    try:
        return _MODELS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(list_models())}") from None


def get_model_weights(name: Union[str, Callable[..., nn.Module]]) -> Any:
    """The weight enum of a model, given its name or its builder."""
    if callable(name):
        name = next((k for k, fn in _MODELS.items() if fn is name), getattr(name, "__name__", ""))
    get_model_builder(name)  # error for unknown names
    try:
        return _WEIGHTS[name.lower()]
    except KeyError:
        raise ValueError(f"model {name!r} has no weight enum") from None


def model_of_weights(enum_cls: Any) -> str:
    """The registered model name whose weight enum is ``enum_cls``."""
    for name, registered in _WEIGHTS.items():
        if registered is enum_cls:
            return name
    raise ValueError(f"{getattr(enum_cls, '__name__', enum_cls)!r} is not a registered weight enum")


def weight_enums() -> List[Any]:
    """Every registered weight enum (for looking a weight up by its full name)."""
    return list(_WEIGHTS.values())
