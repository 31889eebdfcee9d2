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
