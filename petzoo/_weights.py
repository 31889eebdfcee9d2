"""Weight descriptors and their files: find (checkout, git history, HF cache, Hub), verify, load.

The enums are built from ``petzoo/weights.json``, the manifest that
``train_reference/publish.py`` generates: no sha256, size or metric is typed into
the code. This layer sits on :mod:`petzoo._registry` and below :mod:`petzoo.hub`.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Type, Union

import torch
from safetensors.torch import load_file

from ._io import atomic_write, cache_dir
from .transforms import SegmentationPresetEval

__all__ = [
    "Weights",
    "WeightsEnum",
    "WeightsNotFoundError",
    "HashMismatchError",
    "find_weights_file",
    "read_safetensors",
    "load_weights_file",
    "to_float32",
    "sha256_of",
    "weights_root",
]

HF_URL = "https://huggingface.co/{repo_id}/resolve/{revision}/{filename}"
MANIFEST = Path(__file__).with_name("weights.json")


class WeightsNotFoundError(FileNotFoundError):
    """No copy of a weight file could be found or downloaded."""


class HashMismatchError(RuntimeError):
    """A weight file's sha256 is not the one its ``Weights`` entry records."""


@dataclass(frozen=True)
class Weights:
    """One published weight: where its file lives, how to preprocess, what it scored.

    ``transforms`` is a callable that *builds* the preprocessing preset, as in
    torchvision: ``preprocess = weights.transforms(); batch = preprocess(img)[None]``.
    ``local_dir`` names the folder under the checkout's ``weights/``; ``archived``
    (``{"git_commit", "path"}``) says which commit still holds a folder that left the
    tree; ``hub_repo``/``filename`` say where it lives on the Hugging Face Hub;
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
    archived: Optional[Dict[str, str]] = None

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
        """Find (checkout, git history, HF cache, Hub), verify sha256 and load the safetensors file."""
        return load_weights_file(self.value, progress=progress, check_hash=check_hash)

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"

    def __getattr__(self, name: str) -> Any:
        # Let callers write weights.meta / weights.transforms as in torchvision.
        if name in Weights.__dataclass_fields__ or name in ("url", "pushed"):
            return getattr(self.value, name)
        raise AttributeError(name)


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


def check_sha256(path: Path, expected: Optional[str], what: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise HashMismatchError(f"{path}: sha256 is {actual}, expected {expected} for {what}")


def to_float32(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """A state dict with floating tensors cast to float32 (weights may be stored as fp16)."""
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def hub_file(repo: str, filename: str, revision: Optional[str], force: bool = False) -> Path:
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(repo, filename, revision=revision, force_download=force))


def verified_hub_file(repo: str, filename: str, revision: Optional[str], sha256: Optional[str]) -> Path:
    """Cached or downloaded file with the given sha256; a corrupt copy is dropped and fetched once more."""
    path = hub_file(repo, filename, revision)
    if sha256_of(path) != sha256:
        path.resolve().unlink(missing_ok=True)
        path.unlink(missing_ok=True)
        path = hub_file(repo, filename, revision, force=True)
        check_sha256(path, sha256, repo)
    return path


def describe_error(err: BaseException) -> str:
    """One line: the error and, where it wraps one, its cause (e.g. the HTTP status)."""
    text = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    cause = err.__cause__
    if cause is not None:
        text += f" (caused by {type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''})"
    return text


def _git_history_file(weights: Weights) -> tuple[Optional[Path], str]:
    """(verified copy of an archived weight read from the git history of the checkout, or None; what was tried)."""
    commit, folder = weights.archived["git_commit"], weights.archived["path"]
    spec = f"{commit}:{folder}/{weights.filename}"
    root = weights_root()
    where = root if root.is_dir() else root.parent
    cached = cache_dir() / "git-weights" / weights.sha256 / weights.filename
    if cached.is_file() and sha256_of(cached) == weights.sha256:
        return cached, f"git {spec} (cached at {cached})"
    try:
        proc = subprocess.run(["git", "-C", str(where), "cat-file", "blob", spec], capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as err:
        return None, f"git history of {where} ({type(err).__name__}: {err})"
    if proc.returncode != 0:
        reason = proc.stderr.decode(errors="replace").strip().splitlines()
        return None, f"git history of {where} ({reason[-1] if reason else 'git failed'})"
    atomic_write(cached, lambda tmp: Path(tmp).write_bytes(proc.stdout))
    check_sha256(cached, weights.sha256, f"{weights.hub_repo} from git {spec}")
    return cached, f"git {spec}"


def find_weights_file(weights: Weights, check_hash: bool = True) -> Path:
    """Path of a verified copy of ``weights``' file, or a clear error saying what was tried.

    Order: the checkout's ``weights/`` folder; for a weight that left the tree, the
    git history of the checkout (copied once into ``$PETZOO_CACHE``); then the
    Hugging Face cache / Hub (only for pushed weights).
    """
    local = weights_root() / weights.local_dir / weights.filename
    if local.is_file():
        if check_hash:
            check_sha256(local, weights.sha256, weights.hub_repo)  # a tracked file is never deleted, only reported
        return local
    tried: List[str] = [str(local)]
    if weights.archived:
        found, attempt = _git_history_file(weights)
        if found is not None:
            return found
        tried.append(attempt)
    hint = (
        f" It left the tree: git commit {weights.archived['git_commit']} of petzoo holds it at "
        f"{weights.archived['path']}/ (use a git clone of petzoo, not an archive)."
        if weights.archived else " Use a source checkout of petzoo (its weights/ folder) or set PETZOO_WEIGHTS_DIR."
    )
    if not weights.pushed:
        raise WeightsNotFoundError(
            f"weights {weights.hub_repo!r} are not published on the Hugging Face Hub yet and "
            f"no local copy was found; tried: {'; '.join(tried)}.{hint}"
        )
    try:
        if not check_hash:
            return hub_file(weights.hub_repo, weights.filename, weights.revision)
        return verified_hub_file(weights.hub_repo, weights.filename, weights.revision, weights.sha256)
    except HashMismatchError:
        raise
    except Exception as err:  # huggingface_hub raises many kinds (offline, 404, network)
        tried.append(f"{weights.url} ({describe_error(err)})")
        raise WeightsNotFoundError(
            f"could not get weights {weights.hub_repo!r}; tried: {'; '.join(tried)}.{hint}"
        ) from err


def read_safetensors(path: Union[str, Path]) -> Dict[str, torch.Tensor]:
    """A safetensors file's tensors as float32 (fp16 storage is cast); a file that is not one (corrupt header,
    truncated) is a ValueError naming it. safetensors parses a JSON header and raw tensor bytes only: nothing
    in the file is ever executed."""
    from safetensors import SafetensorError

    try:
        return to_float32(load_file(str(path)))
    except SafetensorError as err:
        raise ValueError(f"{path}: not a readable safetensors file ({err})") from None


def load_weights_file(
    weights: Weights, progress: bool = True, check_hash: bool = True
) -> Dict[str, torch.Tensor]:
    """Verified safetensors state dict of ``weights`` (fp16 storage is cast to fp32)."""
    del progress  # huggingface_hub shows its own progress bars
    return read_safetensors(find_weights_file(weights, check_hash))


def read_manifest() -> Dict[str, List[Dict[str, Any]]]:
    return json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else {}


def preset_factory(transforms: Dict[str, Any]) -> Callable[..., SegmentationPresetEval]:
    """The manifest's ``transforms`` entry as a callable that builds the preset (torchvision semantics)."""
    return functools.partial(
        SegmentationPresetEval,
        size=tuple(transforms["size"]),
        mean=tuple(transforms["mean"]),
        std=tuple(transforms["std"]),
        interpolation=transforms["interpolation"],
    )


def to_weights(entry: Dict[str, Any]) -> Weights:
    return Weights(
        transforms=preset_factory(entry["transforms"]),
        meta=entry["meta"],
        local_dir=entry["local_dir"],
        hub_repo=entry["hub_repo"],
        sha256=entry["sha256"],
        size=entry["size"],
        filename=entry.get("filename", "model.safetensors"),
        revision=entry.get("revision"),
        builder_kwargs=entry.get("builder_kwargs", {}),
        archived=entry.get("archived"),
    )


@functools.lru_cache(maxsize=1)
def _manifest_entries() -> Dict[str, List[Dict[str, Any]]]:
    return read_manifest()


def weights_enum(enum_name: str, model: str, module: str) -> Type[WeightsEnum]:
    """The enum of ``model``'s published weights (possibly none); ``DEFAULT`` is the entry marked default."""
    entries = _manifest_entries().get(model, [])
    members = [(entry["name"], to_weights(entry)) for entry in entries]
    default = [e["name"] for e in entries if e.get("default")]
    if default:
        members.append(("DEFAULT", dict(members)[default[-1]]))
    enum = WeightsEnum(enum_name, members, module=module, qualname=enum_name)
    enum.__doc__ = f"Published weights of :func:`petzoo.{model}` (see docs/models.md)."
    return enum
