"""Model registry and weight descriptors, with torchvision.models semantics."""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Dict, Iterable, List, Optional, Type, Union

from torch import nn

__all__ = [
    "CATEGORIES",
    "Weights",
    "WeightsEnum",
    "register_model",
    "list_models",
    "get_model",
    "get_model_builder",
    "get_model_weights",
    "get_weight",
]

#: Class index -> name. Trimap value v maps to class v - 1.
CATEGORIES = ["pet", "background", "border"]

HF_URL = "https://huggingface.co/{repo_id}/resolve/{revision}/{filename}"


@dataclass(frozen=True)
class Weights:
    """One published weight: where its file lives, how to preprocess, what it scored.

    ``local_dir`` names the folder under the checkout's ``weights/``;
    ``hub_repo``/``filename`` say where it lives on the Hugging Face Hub;
    ``revision`` is None until the folder has actually been pushed (never guessed).
    """

    transforms: Callable[..., Any]
    meta: Dict[str, Any]
    local_dir: str
    hub_repo: str
    sha256: str
    size: int
    filename: str = "model.safetensors"
    revision: Optional[str] = None
    builder_kwargs: Dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return HF_URL.format(
            repo_id=self.hub_repo, revision=self.revision or "main", filename=self.filename
        )

    @property
    def pushed(self) -> bool:
        return self.revision is not None

    def __hash__(self) -> int:  # dict fields are unhashable; identity is the file
        return hash((self.hub_repo, self.filename, self.sha256))


class WeightsEnum(Enum):
    """Base class of each model's weight enum; members hold :class:`Weights`."""

    @classmethod
    def verify(cls, obj: Any) -> Optional["WeightsEnum"]:
        """Turn None / member / "DEFAULT" / "NAME" / "Enum.NAME" into a member of ``cls``."""
        if obj is None or isinstance(obj, cls):
            return obj
        if isinstance(obj, WeightsEnum):
            raise TypeError(f"weights must be a {cls.__name__}, got {type(obj).__name__}.{obj.name}")
        if not isinstance(obj, str):
            raise TypeError(f"weights must be None, a {cls.__name__} or a string, got {type(obj).__name__}")
        name = obj
        if "." in name:
            prefix, name = name.split(".", 1)
            if prefix != cls.__name__:
                raise ValueError(f"weights {obj!r} do not belong to {cls.__name__}")
        try:
            return cls[name]
        except KeyError:
            available = [m for m in cls.__members__] or ["none published yet"]
            raise ValueError(
                f"unknown weights {obj!r} for {cls.__name__}; available: {', '.join(available)}"
            ) from None

    def get_state_dict(self, progress: bool = True, check_hash: bool = True) -> Dict[str, Any]:
        """Find (checkout, HF cache, Hub), verify sha256 and load the safetensors file."""
        from .hub import load_weights_file

        return load_weights_file(self.value, progress=progress, check_hash=check_hash)

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"

    def __getattr__(self, name: str) -> Any:
        # Let callers write weights.meta / weights.transforms as in torchvision.
        if name in Weights.__dataclass_fields__ or name in ("url", "pushed"):
            return getattr(self.value, name)
        raise AttributeError(name)


_MODELS: Dict[str, Callable[..., nn.Module]] = {}
_WEIGHTS: Dict[str, Type[WeightsEnum]] = {}


def register_model(
    name: Optional[str] = None, weights_enum: Optional[Type[WeightsEnum]] = None
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator adding a builder (and its weight enum) to the registry."""

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
    name = name.lower()
    try:
        return _MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(list_models())}") from None


def get_model(name: str, **config: Any) -> nn.Module:
    """Build a registered model by name, or load a petzoo Hub repo ("hf-hub:org/name[@rev]")."""
    if name.startswith("hf-hub:"):
        from .hub import from_pretrained

        return from_pretrained(name, **config)
    return get_model_builder(name)(**config)


def get_model_weights(name: Union[str, Callable[..., nn.Module]]) -> Type[WeightsEnum]:
    """The weight enum of a model, given its name or its builder."""
    if callable(name):
        name = next((k for k, fn in _MODELS.items() if fn is name), getattr(name, "__name__", ""))
    get_model_builder(name)  # error for unknown names
    try:
        return _WEIGHTS[name]
    except KeyError:
        raise ValueError(f"model {name!r} has no weight enum") from None


def get_weight(name: str) -> WeightsEnum:
    """Look up a weight by its full name, e.g. ``"SegNetDSC_Weights.OXFORD_PET_V1"``."""
    if "." not in name:
        raise ValueError(f"weight name {name!r} must look like 'EnumName.MEMBER'")
    enum_name, member = name.split(".", 1)
    for enum_cls in _WEIGHTS.values():
        if enum_cls.__name__ == enum_name:
            return enum_cls.verify(member)
    raise ValueError(f"unknown weight enum {enum_name!r} in {name!r}")
