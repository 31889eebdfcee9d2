"""Weight downloads through the real huggingface_hub client against a loopback server."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

import petzoo
from conftest import ROOT
from hub_server import FakeHub

REPO = "petzoo/tiny-segnet-dsc"


def client(code: str, env: dict) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (huggingface_hub reads its env at import)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def hub(tmp_path):
    torch.manual_seed(0)
    model = petzoo.segnet_dsc().eval()
    folder = tmp_path / "folder"
    config = petzoo.save_pretrained(model, folder, model_name="segnet_dsc", image_size=64, half=True)
    server = FakeHub()
    commit = server.add_folder(REPO, folder)
    url = server.start()
    env = {"HF_ENDPOINT": url, "HF_HUB_CACHE": str(tmp_path / "cache"), "HF_HUB_DISABLE_TELEMETRY": "1"}
    yield server, env, config, commit, tmp_path
    server.stop()


LOAD = (
    "import petzoo, torch; m = petzoo.from_pretrained('hf-hub:{name}').eval(); "
    "print('OK', m(torch.zeros(1, 3, 64, 64)).shape[1], m.pretrained_cfg['sha256'])"
)


def cached_blobs(cache):
    return [p for p in cache.rglob("blobs/*") if p.is_file()]


def test_download_then_offline_cache(hub):
    server, env, config, commit, tmp = hub
    out = client(LOAD.format(name=REPO), env)
    assert out.returncode == 0, out.stderr
    assert f"OK 3 {config['sha256']}" in out.stdout
    assert ("GET", "model.safetensors") in server.log
    server.stop()
    offline = client(LOAD.format(name=REPO), {**env, "HF_HUB_OFFLINE": "1"})
    assert offline.returncode == 0, offline.stderr
    pinned = client(LOAD.format(name=f"{REPO}@{commit}"), {**env, "HF_HUB_OFFLINE": "1"})
    assert pinned.returncode == 0, pinned.stderr


def test_corrupt_cached_file_is_fetched_again(hub):
    server, env, config, _, tmp = hub
    assert client(LOAD.format(name=REPO), env).returncode == 0
    blob = max(cached_blobs(tmp / "cache"), key=lambda p: p.stat().st_size)
    blob.write_bytes(b"\0" * blob.stat().st_size)
    gets_before = server.log.count(("GET", "model.safetensors"))
    out = client(LOAD.format(name=REPO), env)
    assert out.returncode == 0, out.stderr
    assert server.log.count(("GET", "model.safetensors")) == gets_before + 1


def test_truncated_download_is_an_error_and_leaves_no_cache_entry(hub):
    server, env, _, _, tmp = hub
    server.truncate.add("model.safetensors")
    out = client(LOAD.format(name=REPO), env)
    assert out.returncode != 0
    assert "could not download" in out.stderr and "model.safetensors" in out.stderr
    snapshots = list((tmp / "cache").rglob("snapshots/*/model.safetensors"))
    assert snapshots == []


def test_missing_repo_is_a_clear_error(hub):
    _, env, _, _, _ = hub
    out = client(LOAD.format(name="petzoo/nope"), env)
    assert out.returncode != 0
    assert "could not download hf-hub:petzoo/nope" in out.stderr and "petzoo/nope/resolve/main/config.json" in out.stderr


ENUM_LOAD = (
    "import json, sys, petzoo; from petzoo._weights import to_weights; "
    "w = to_weights(json.loads(sys.argv[1])); sd = petzoo.WeightsEnum('W', [('V1', w)]).V1.get_state_dict(); "
    "print('OK', len(sd))"
)


def enum_entry(config, commit, sha256=None):
    return {
        "local_dir": "not_in_checkout", "hub_repo": REPO, "sha256": sha256 or config["sha256"], "size": config["size"],
        "revision": commit, "transforms": config["transforms"], "meta": {"categories": config["categories"]},
    }


def test_pushed_weight_downloads_by_revision_and_checks_its_hash(hub):
    server, env, config, commit, tmp = hub
    env = {**env, "PETZOO_WEIGHTS_DIR": str(tmp / "empty")}
    out = subprocess.run([sys.executable, "-c", ENUM_LOAD, json.dumps(enum_entry(config, commit))],
                         cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("OK"), out.stderr
    bad = enum_entry(config, commit, sha256="0" * 64)
    out = subprocess.run([sys.executable, "-c", ENUM_LOAD, json.dumps(bad)],
                         cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert f"sha256 is {config['sha256']}, expected {'0' * 64}" in out.stderr
    # one GET for the first load; with the bad hash the cached copy fails, is re-fetched once, fails again
    assert server.log.count(("GET", "model.safetensors")) == 2


def test_local_folder_round_trip(tmp_path):
    torch.manual_seed(1)
    model = petzoo.unet(width=8).eval()
    petzoo.save_pretrained(model, tmp_path / "u", model_name="unet", image_size=32, builder_kwargs={"width": 8})
    loaded = petzoo.from_pretrained(tmp_path / "u").eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    (tmp_path / "u" / "model.safetensors").write_bytes(b"broken")
    with pytest.raises(petzoo.hub.HashMismatchError, match="sha256 is"):
        petzoo.from_pretrained(tmp_path / "u")


def test_get_model_accepts_hf_hub_names(hub):
    _, env, _, _, _ = hub
    code = f"import petzoo; m = petzoo.get_model('hf-hub:{REPO}'); print('OK', type(m).__name__)"
    out = client(code, env)
    assert out.returncode == 0 and "OK SegNet" in out.stdout, out.stderr


def test_bad_hf_hub_names_are_rejected():
    with pytest.raises(ValueError, match="expected 'hf-hub:org/name"):
        petzoo.from_pretrained("hf-hub:justaname")
