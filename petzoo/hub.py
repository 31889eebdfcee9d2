"""Hugging Face Hub-format folders: ``save_pretrained`` and ``from_pretrained``.

Sits on :mod:`petzoo._weights` (finding and verifying files) and
:mod:`petzoo._registry` (builders); :func:`petzoo.get_model` dispatches
``hf-hub:`` names here.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

from safetensors.torch import save_file
from torch import nn

from ._io import atomic_write, write_json
from ._registry import CATEGORIES, get_model_builder
from ._weights import (  # noqa: F401 (re-exported: the loading API's public home)
    HashMismatchError,
    WeightsNotFoundError,
    check_sha256,
    describe_error,
    find_weights_file,
    hub_file,
    load_weights_file,
    read_safetensors,
    sha256_of,
    to_float32,
    verified_hub_file,
    weights_root,
)
from .transforms import IMAGENET_MEAN, IMAGENET_STD

HF_PREFIX = "hf-hub:"
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


class ConfigError(ValueError):
    """A petzoo folder's config.json is malformed, partial or names no petzoo builder."""


def _read_config(path: Path, where) -> Dict[str, Any]:
    """config.json checked enough to build from: valid JSON, ``model`` a registered petzoo
    builder (never an ``hf-hub:`` name or anything else that would load more), ``categories`` a list."""
    from ._registry import list_models

    try:
        config = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{where}: not valid JSON ({err})") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{where}: expected a JSON object, got {type(config).__name__}")
    for key in ("model", "categories"):
        if key not in config:
            raise ConfigError(f"{where}: missing key {key!r}")
    model = config["model"]
    if not isinstance(model, str) or model.lower() not in list_models():
        raise ConfigError(f"{where}: \"model\" must name a petzoo builder ({', '.join(list_models())}), got {model!r}")
    if not isinstance(config["categories"], list) or not config["categories"]:
        raise ConfigError(f"{where}: \"categories\" must be a non-empty list")
    if not isinstance(config.get("builder_kwargs", {}), dict):
        raise ConfigError(f"{where}: \"builder_kwargs\" must be an object")
    return config


def _check_fits(model: nn.Module, state: Dict[str, Any], config: Dict[str, Any], where, weights_path) -> None:
    """One line (ConfigError) where the weights are not the model config.json describes: which folder, which
    keys of config.json, what the weights hold; never torch's list of every state_dict key."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if not (missing or unexpected or shapes):
        return
    first = (f"{shapes[0]} is {tuple(state[shapes[0]].shape)} in the file, {tuple(own[shapes[0]].shape)} in the "
             f"model" if shapes else f"e.g. {(missing or unexpected)[0]!r} {'missing' if missing else 'unexpected'}")
    raise ConfigError(
        f"{where}: \"model\" {config['model']!r}, \"builder_kwargs\" {config.get('builder_kwargs', {})} and "
        f"{len(config['categories'])} \"categories\" do not describe {weights_path} ({len(state)} tensors: "
        f"{len(missing)} missing, {len(unexpected)} unexpected, {len(shapes)} of another shape; {first})")


def parse_hf_name(name: str) -> Tuple[str, Optional[str]]:
    """"hf-hub:org/name[@revision]" -> ("org/name", revision or None)."""
    if not name.startswith(HF_PREFIX):
        raise ValueError(f"{name!r} is not an 'hf-hub:org/name[@revision]' name")
    repo, _, revision = name[len(HF_PREFIX):].partition("@")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise ValueError(f"{name!r}: expected 'hf-hub:org/name[@revision]'")
    return repo, revision or None


def save_pretrained(
    model: nn.Module,
    folder: Union[str, Path],
    *,
    model_name: str,
    image_size: int,
    builder_kwargs: Optional[Dict[str, Any]] = None,
    interpolation: str = "bilinear",
    half: bool = False,
    card: Optional[str] = None,
    **meta: Any,
) -> Dict[str, Any]:
    """Write a petzoo Hub folder: model.safetensors, config.json (with its sha256), README.md.

    Returns the config written. ``meta`` is stored in config.json as is.
    """
    folder = Path(folder)
    state = {
        k: (v.half() if half and v.is_floating_point() else v).detach().cpu().contiguous()
        for k, v in model.state_dict().items()
    }
    path = atomic_write(folder / WEIGHTS_NAME, lambda tmp: save_file(state, tmp, metadata={"format": "pt"}))
    config = {
        "model": model_name,
        "builder_kwargs": dict(builder_kwargs or {}),
        "categories": meta.pop("categories", CATEGORIES),
        "image_size": image_size,
        "transforms": {
            "size": [image_size, image_size], "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD),
            "interpolation": interpolation,
        },
        "sha256": sha256_of(path),
        "size": path.stat().st_size,
        "_file_size": round(path.stat().st_size / 2**20, 3),
        **meta,
    }
    write_json(folder / CONFIG_NAME, config)
    if card is not None:
        atomic_write(folder / "README.md", lambda tmp: Path(tmp).write_text(card))
    return config


def from_pretrained(name_or_path: Union[str, Path], **kwargs: Any) -> nn.Module:
    """Build and load a model from a petzoo Hub folder: "hf-hub:org/name[@revision]" or a local path.

    The weight file's sha256 is checked against config.json; a corrupt cached
    download is fetched once more, then reported. ``model.pretrained_cfg`` holds the config.
    """
    name = str(name_or_path)
    if name.startswith(HF_PREFIX):
        repo, revision = parse_hf_name(name)
        try:
            config = _read_config(hub_file(repo, CONFIG_NAME, revision), f"{name} {CONFIG_NAME}")
            weights_path = verified_hub_file(repo, WEIGHTS_NAME, revision, config.get("sha256"))
        except (HashMismatchError, ConfigError):
            raise
        except Exception as err:  # offline, 404, network, truncated transfer
            raise WeightsNotFoundError(f"could not download {name} ({CONFIG_NAME}, {WEIGHTS_NAME}): {describe_error(err)}") from err
    else:
        folder = Path(name)
        if not (folder / CONFIG_NAME).is_file():
            raise FileNotFoundError(f"{folder / CONFIG_NAME} not found: not a petzoo model folder")
        config = _read_config(folder / CONFIG_NAME, folder / CONFIG_NAME)
        weights_path = folder / WEIGHTS_NAME
        if not weights_path.is_file():
            raise FileNotFoundError(f"{weights_path} not found: the folder has a config.json but no weights")
        check_sha256(weights_path, config.get("sha256"), f"{folder / CONFIG_NAME}")
    build_kwargs = {**config.get("builder_kwargs", {}), **kwargs}
    build_kwargs.setdefault("num_classes", len(config["categories"]))
    where = f"{name} {CONFIG_NAME}" if name.startswith(HF_PREFIX) else str(Path(name) / CONFIG_NAME)
    try:
        model = get_model_builder(config["model"])(**build_kwargs)  # a registered name only: never a second download
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: cannot build {config['model']!r} with builder_kwargs "
                          f"{config.get('builder_kwargs', {})} and {kwargs or 'no other arguments'}: "
                          f"{str(err).splitlines()[0]}") from None
    state = read_safetensors(weights_path)
    _check_fits(model, state, config, where, weights_path)
    model.load_state_dict(state, strict=True)
    model.pretrained_cfg = config
    return model
