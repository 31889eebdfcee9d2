"""Finding, verifying and loading weight files (checkout -> HF cache/Hub)."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ._api import Weights


class WeightsNotFoundError(FileNotFoundError):
    """No copy of a weight file could be found or downloaded."""


class HashMismatchError(RuntimeError):
    """A weight file's sha256 is not the one its ``Weights`` entry records."""


def weights_root() -> Path:
    """``$PETZOO_WEIGHTS_DIR`` or the ``weights/`` folder of this source checkout."""
    env = os.environ.get("PETZOO_WEIGHTS_DIR")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "weights"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check(path: Path, expected: Optional[str], what: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise HashMismatchError(f"{path}: sha256 is {actual}, expected {expected} for {what}")


def _hub_file(repo: str, filename: str, revision: Optional[str], force: bool = False) -> Path:
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(repo, filename, revision=revision, force_download=force))


def _verified_hub_file(repo: str, filename: str, revision: Optional[str], sha256: Optional[str]) -> Path:
    """Cached or downloaded file with the given sha256; a corrupt copy is dropped and fetched once more."""
    path = _hub_file(repo, filename, revision)
    if sha256_of(path) != sha256:
        path.resolve().unlink(missing_ok=True)
        path.unlink(missing_ok=True)
        path = _hub_file(repo, filename, revision, force=True)
        _check(path, sha256, repo)
    return path


def _describe(err: BaseException) -> str:
    """One line: the error and, where it wraps one, its cause (e.g. the HTTP status)."""
    text = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    cause = err.__cause__
    if cause is not None:
        text += f" (caused by {type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''})"
    return text


def find_weights_file(weights: Weights, check_hash: bool = True) -> Path:
    """Path of a verified copy of ``weights``' file, or a clear error saying what was tried."""
    local = weights_root() / weights.local_dir / weights.filename
    if local.is_file():
        if check_hash:
            _check(local, weights.sha256, weights.hub_repo)  # a tracked file is never deleted, only reported
        return local
    tried: List[str] = [str(local)]
    if not weights.pushed:
        raise WeightsNotFoundError(
            f"weights {weights.hub_repo!r} are not published on the Hugging Face Hub yet and "
            f"no local copy exists; tried: {', '.join(tried)}. Use a source checkout of petzoo "
            f"(its weights/ folder) or set PETZOO_WEIGHTS_DIR."
        )
    try:
        if not check_hash:
            return _hub_file(weights.hub_repo, weights.filename, weights.revision)
        return _verified_hub_file(weights.hub_repo, weights.filename, weights.revision, weights.sha256)
    except HashMismatchError:
        raise
    except Exception as err:  # huggingface_hub raises many kinds (offline, 404, network)
        tried.append(f"{weights.url} ({_describe(err)})")
        raise WeightsNotFoundError(
            f"could not get weights {weights.hub_repo!r}; tried: {'; '.join(tried)}"
        ) from err


def load_weights_file(
    weights: Weights, progress: bool = True, check_hash: bool = True
) -> Dict[str, torch.Tensor]:
    """Verified safetensors state dict of ``weights`` (fp16 storage is cast to fp32)."""
    del progress  # huggingface_hub shows its own progress bars
    state = load_file(str(find_weights_file(weights, check_hash)))
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


HF_PREFIX = "hf-hub:"
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


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
    from ._api import CATEGORIES
    from ._io import atomic_write, write_json
    from .transforms import IMAGENET_MEAN, IMAGENET_STD

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
    from ._api import get_model

    name = str(name_or_path)
    if name.startswith(HF_PREFIX):
        repo, revision = parse_hf_name(name)
        try:
            config = json.loads(_hub_file(repo, CONFIG_NAME, revision).read_text())
            weights_path = _verified_hub_file(repo, WEIGHTS_NAME, revision, config.get("sha256"))
        except HashMismatchError:
            raise
        except Exception as err:  # offline, 404, network, truncated transfer
            raise WeightsNotFoundError(f"could not download {name} ({CONFIG_NAME}, {WEIGHTS_NAME}): {_describe(err)}") from err
    else:
        folder = Path(name)
        if not (folder / CONFIG_NAME).is_file():
            raise FileNotFoundError(f"{folder / CONFIG_NAME} not found: not a petzoo model folder")
        config = json.loads((folder / CONFIG_NAME).read_text())
        weights_path = folder / WEIGHTS_NAME
        _check(weights_path, config.get("sha256"), f"{folder / CONFIG_NAME}")
    build_kwargs = {**config.get("builder_kwargs", {}), **kwargs}
    build_kwargs.setdefault("num_classes", len(config["categories"]))
    model = get_model(config["model"], **build_kwargs)
    state = load_file(str(weights_path))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()}, strict=True)
    model.pretrained_cfg = config
    return model
