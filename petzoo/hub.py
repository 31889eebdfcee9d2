"""Finding, verifying and loading weight files (checkout -> HF cache/Hub)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Dict, List

import torch
from safetensors.torch import load_file

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


def _check(path: Path, weights: Weights) -> None:
    actual = sha256_of(path)
    if actual != weights.sha256:
        raise HashMismatchError(
            f"{path}: sha256 is {actual}, expected {weights.sha256} for {weights.hub_repo}"
        )


def _from_hub(weights: Weights, check_hash: bool) -> Path:
    from huggingface_hub import hf_hub_download

    def fetch(force: bool) -> Path:
        return Path(
            hf_hub_download(
                weights.hub_repo, weights.filename, revision=weights.revision, force_download=force
            )
        )

    path = fetch(force=False)
    if not check_hash:
        return path
    try:
        _check(path, weights)
    except HashMismatchError:
        # A corrupt cached copy: drop it and fetch once more.
        path.resolve().unlink(missing_ok=True)
        path.unlink(missing_ok=True)
        path = fetch(force=True)
        _check(path, weights)
    return path


def find_weights_file(weights: Weights, check_hash: bool = True) -> Path:
    """Path of a verified copy of ``weights``' file, or a clear error saying what was tried."""
    local = weights_root() / weights.local_dir / weights.filename
    if local.is_file():
        if check_hash:
            _check(local, weights)  # a tracked file is never deleted, only reported
        return local
    tried: List[str] = [str(local)]
    if not weights.pushed:
        raise WeightsNotFoundError(
            f"weights {weights.hub_repo!r} are not published on the Hugging Face Hub yet and "
            f"no local copy exists; tried: {', '.join(tried)}. Use a source checkout of petzoo "
            f"(its weights/ folder) or set PETZOO_WEIGHTS_DIR."
        )
    try:
        return _from_hub(weights, check_hash)
    except HashMismatchError:
        raise
    except Exception as err:  # huggingface_hub raises many kinds (offline, 404, network)
        tried.append(f"{weights.url} ({type(err).__name__}: {err})")
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
