"""Shared fixtures: slow-test gating and the real dataset location."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="run tests marked slow (CI=true does too)")


def pytest_collection_modifyitems(config, items):
    if IN_CI or config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow or CI=true")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def require_git_history(weights) -> None:
    """Skip (naming the commit) where this checkout lacks the commit an archived weight lives in,
    e.g. a shallow clone; everywhere else archived weights must load."""
    import shutil
    import subprocess

    archived = getattr(weights, "archived", None) or (weights.get("archived") if isinstance(weights, dict) else None)
    if not archived:
        return
    ok = shutil.which("git") and subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{archived['git_commit']}^{{commit}}"], capture_output=True
    ).returncode == 0
    if not ok:
        pytest.skip(f"this checkout lacks git commit {archived['git_commit']} (shallow clone?)")


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The shared Oxford-IIIT Pet copy; skipped where absent, a failure under CI=true."""
    env = os.environ.get("PETZOO_DATA")
    root = Path(env) if env else ROOT.parent / "shared" / "data" / "oxford-iiit-pet"
    if not (root / "annotations" / "trimaps").is_dir():
        msg = f"Oxford-IIIT Pet not found at {root} (set PETZOO_DATA)"
        if IN_CI:
            pytest.fail(msg + "; CI=true requires the dataset")
        pytest.skip(msg)
    return root


def make_synthetic_pet(root: Path, n_trainval: int = 16, n_test: int = 8, seed: int = 0) -> Path:
    """A tiny Oxford-layout dataset with images of varying sizes (like the full original).

    Each image has an elliptic "pet" (trimap 1) with a border ring (3) on background (2);
    colours depend on the class so that a model can learn them.
    """
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "annotations" / "trimaps").mkdir(parents=True)
    lists = {"trainval": [], "test": []}
    for i in range(n_trainval + n_test):
        h, w = int(rng.integers(40, 90)), int(rng.integers(40, 90))
        yy, xx = np.mgrid[:h, :w]
        cy, cx = rng.uniform(0.35, 0.65) * h, rng.uniform(0.35, 0.65) * w
        r = ((yy - cy) / (0.3 * h)) ** 2 + ((xx - cx) / (0.3 * w)) ** 2
        trimap = np.where(r < 0.8, 1, np.where(r < 1.2, 3, 2)).astype(np.uint8)
        colours = np.array([[0, 0, 0], [200, 120, 40], [40, 90, 200], [120, 120, 120]])
        image = colours[trimap] + rng.integers(-30, 30, (h, w, 3))
        stem = f"Synthetic_{i}"
        Image.fromarray(image.clip(0, 255).astype(np.uint8)).save(root / "images" / f"{stem}.jpg", quality=95)
        Image.fromarray(trimap).save(root / "annotations" / "trimaps" / f"{stem}.png")
        lists["trainval" if i < n_trainval else "test"].append(f"{stem} 1 1 1")
    for name, lines in lists.items():
        (root / "annotations" / f"{name}.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def synthetic_root(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PETZOO_CACHE", str(tmp_path / "cache"))
    return make_synthetic_pet(tmp_path / "pets")
