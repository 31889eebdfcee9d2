"""Nothing lost, every error names its culprit (issue 24): one regression test per reported defect."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

import petzoo
from conftest import ROOT
from petzoo.cli import LOCK_NAME


def cli(*args, cwd=ROOT, timeout=600):
    return subprocess.run([sys.executable, "-m", "petzoo", *args], cwd=cwd, capture_output=True, timeout=timeout)


def err(out) -> str:
    return out.stderr.decode("utf-8", "backslashreplace")


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    skimage = pytest.importorskip("skimage.data")
    path = tmp_path_factory.mktemp("photo") / "cat.jpg"
    Image.fromarray(skimage.chelsea()).resize((240, 160)).save(path, quality=90)
    return path


def folder_of(photo: Path, folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        (folder / f"p{i:03d}.jpg").write_bytes(photo.read_bytes())
    return folder


# -- lost or wrong results ---------------------------------------------------------------------------------------

def test_a_second_run_into_a_locked_out_folder_stops_at_once(photo, tmp_path):
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    with open(out / LOCK_NAME, "a") as held:  # what a running `petzoo predict --out out` holds
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        start = time.time()
        res = cli("predict", str(photo), "--out", str(out), "--quiet")
        took = time.time() - start
    assert res.returncode == 2
    assert err(res).strip() == f"petzoo predict: error: --out {out}: another petzoo predict is writing into it; " \
                               "wait for it to finish or choose another --out"
    assert list(out.glob("*.png")) == []
    assert took < 60  # before the model is loaded


def test_two_concurrent_runs_into_one_folder_lose_nothing(photo, tmp_path):
    """Two real runs at once: one writes every output, the other stops with one line; nothing is overwritten."""
    inputs = folder_of(photo, tmp_path / "in", 30)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "petzoo", "predict", str(inputs), "--out", str(out), "--quiet"]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read().decode()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(text for code, text in results if code == 2)
    assert len(loser.strip().splitlines()) == 1
    assert "another petzoo predict is writing into it" in loser or "exists" in loser
    assert len(list(out.glob("*.mask.png"))) == 30


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_midway_ends_with_one_line_and_keeps_what_was_written(photo, tmp_path, sig, code):
    inputs = folder_of(photo, tmp_path / "in", 400)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "petzoo", "predict", str(inputs), "--out", str(out), "--quiet",
                             "--mode", "cutout"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while time.time() < deadline and len(list(out.glob("*.png"))) < 3:
        time.sleep(0.05)
    proc.send_signal(sig)
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == code, stderr
    written = len(list(out.glob("*.cutout.png")))
    assert 3 <= written < 400
    assert stderr.strip().splitlines() == [f"petzoo predict: interrupted: {written} of 400 written"]
    assert list(out.glob(".petzoo-*.tmp")) == []
    for png in out.glob("*.cutout.png"):  # every file there is whole
        Image.open(png).load()


def test_the_next_run_removes_temp_files_a_killed_run_left(photo, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".petzoo-k1llz8.tmp").write_bytes(b"")  # SIGKILL mid-write leaves these
    (out / "cat.mask.png").write_bytes(b"existing")
    res = cli("predict", str(photo), "--out", str(out), "--quiet")
    assert res.returncode == 2  # the existing output still stops the run, but the leftovers are gone
    assert "removed 1 temp file(s) an interrupted run left" in err(res)
    assert not (out / ".petzoo-k1llz8.tmp").exists()
    assert (out / "cat.mask.png").read_bytes() == b"existing"


def test_a_non_utf8_name_is_a_photo_like_any_other(photo, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "good.jpg").write_bytes(photo.read_bytes())
    odd = os.path.join(os.fsencode(inputs), b"caf\xe9.jpg")
    with open(odd, "wb") as f:
        f.write(photo.read_bytes())
    out = tmp_path / "out"
    res = cli("predict", str(inputs), "--out", str(out), "--quiet")
    assert res.returncode == 0, err(res)
    assert sorted(os.listdir(os.fsencode(out))) == [b"caf\xe9.mask.png", b"good.mask.png"]


def test_a_symlink_loop_is_one_failed_input_beside_a_good_photo(photo, tmp_path):
    loop = tmp_path / "loop.jpg"
    os.symlink(tmp_path / "loop2.jpg", loop)
    os.symlink(loop, tmp_path / "loop2.jpg")
    out = tmp_path / "out"
    res = cli("predict", str(photo), str(loop), "--out", str(out), "--quiet")
    assert res.returncode == 1
    assert "1 of 2 inputs failed" in err(res) and "loop.jpg" in err(res) and "Traceback" not in err(res)
    assert (out / "cat.mask.png").is_file()


def test_a_folder_takes_photos_by_content_and_says_what_it_skipped(photo, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "IMG_1.heic").write_bytes(photo.read_bytes())  # JPEG content, another extension
    (inputs / "notes.txt").write_text("not a photo")
    res = cli("predict", str(inputs), "--out", str(tmp_path / "out"), "--quiet")
    assert res.returncode == 0, err(res)
    assert (tmp_path / "out" / "IMG_1.mask.png").is_file()
    assert "skipped 1 file(s) that are not images (by extension and content): notes.txt" in err(res)


# -- errors that come late or name nothing -------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["predict", "x.jpg", "--out", ""], "--out '': name an output folder"),
    (["predict", "x.jpg", "--mode", "background", "--background", "rgb(300,0,0)"], "colour 'rgb(300,0,0)': out of range"),
    (["predict", "x.jpg", "--mode", "background", "--background", "hsl(400,200%,50%)"], "out of range"),
    (["evaluate", "--splits", ""], "--splits '': name at least one split"),
    (["evaluate", "--splits", ","], "--splits ',': name at least one split"),
    (["bench", "--seconds", "1e9"], "expected a finite number of seconds > 0, at most 600, got '1e9'"),
])
def test_bad_arguments_are_refused_before_any_work(args, message, tmp_path):
    res = cli(*args, cwd=tmp_path, timeout=120)
    assert res.returncode == 2 and message in err(res), err(res)
    assert len([line for line in err(res).splitlines() if not line.startswith("usage:") and line.startswith("petzoo")]) == 1
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a folder


def test_evaluate_a_split_with_no_images_is_one_line(tmp_path):
    (tmp_path / "annotations").mkdir(parents=True)
    (tmp_path / "images").mkdir()
    (tmp_path / "annotations" / "empty.txt").write_text("")
    res = cli("evaluate", "--splits", "empty", "--data-path", str(tmp_path), timeout=120)
    assert res.returncode == 2
    assert err(res).strip() == f"petzoo evaluate: error: --splits: empty has no labeled images in {tmp_path}; " \
                               "nothing to evaluate"


@pytest.mark.parametrize("args", [["evaluate", "--json", "taken.json"], ["export", "--out", "taken.json"]])
def test_evaluate_json_and_export_out_never_replace_a_file_silently(args, tmp_path):
    (tmp_path / "taken.json").write_text("mine")
    res = cli(*args, cwd=tmp_path, timeout=120)
    assert res.returncode == 2
    assert err(res).strip().endswith("taken.json exists; pass --overwrite to replace it")
    assert (tmp_path / "taken.json").read_text() == "mine"


def test_corrupt_cache_entries_are_rebuilt_with_a_warning_naming_them(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import petzoo.inference as S

    monkeypatch.setenv("PETZOO_CACHE", str(tmp_path))
    S._onnx_runner.cache_clear()
    S.choose_backend.cache_clear()
    path = S.onnx_file("mobile_fpn")
    path.write_bytes(b"\x08garbage")
    with pytest.warns(RuntimeWarning, match=f"{path}: corrupt cached ONNX file; exporting it again"):
        assert S.onnx_file("mobile_fpn") == path
    S.OnnxRunner(path)  # loads again
    record = path.with_name(path.stem + ".choice.json")
    record.write_text('{"backend": ')
    with pytest.warns(RuntimeWarning, match=f"{record}: corrupt cached backend choice; measuring again"):
        assert S.choose_backend("mobile_fpn") in ("torch", "onnxruntime")
    assert json.loads(record.read_text())["backend"] in ("torch", "onnxruntime")
    S._onnx_runner.cache_clear()
    S.choose_backend.cache_clear()


@pytest.mark.parametrize("value, shown", [("3", "'3' (str)"), (2.5, "2.5 (float)"), (True, "True (bool)")])
def test_builder_names_a_num_classes_of_the_wrong_type(value, shown):
    with pytest.raises(TypeError) as info:
        petzoo.unet(num_classes=value)
    assert str(info.value).splitlines()[0] == f"UNet: num_classes must be an int >= 1, got {shown}"


def test_summary_names_a_bad_image_size():
    with pytest.raises(ValueError, match=r"^summary\('unet'\): image_size must be an int >= 1, got 0$"):
        petzoo.summary("unet", image_size=0)


@pytest.mark.parametrize("change, says", [
    ({"model": "segnet_dsc"}, "missing"),
    ({"builder_kwargs": {"width": 8}}, "down.0.0.0.weight is (16, 3, 3, 3) in the file, (8, 3, 3, 3) in the model"),
    ({"categories": ["pet", "other"]}, "classifier.weight is (3, 16, 1, 1) in the file, (2, 16, 1, 1) in the model"),
])
def test_from_pretrained_says_in_one_line_what_does_not_fit(tmp_path, change, says):
    from petzoo.hub import ConfigError, save_pretrained

    save_pretrained(petzoo.unet(), tmp_path, model_name="unet", image_size=64)
    config = json.loads((tmp_path / "config.json").read_text())
    config.update(change)
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError) as info:
        petzoo.from_pretrained(tmp_path)
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"{tmp_path / 'config.json'}: ") and says in text
    assert f"do not describe {tmp_path / 'model.safetensors'}" in text


def test_a_safetensors_file_with_a_corrupt_header_is_named_and_nothing_in_it_runs(tmp_path):
    import hashlib
    import pickle

    from petzoo.hub import save_pretrained

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    save_pretrained(petzoo.unet(), tmp_path, model_name="unet", image_size=64)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes((100).to_bytes(8, "little") + b"{not json" + pickle.dumps(Payload()))
    config = json.loads((tmp_path / "config.json").read_text())
    config["sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError) as info:
        petzoo.from_pretrained(tmp_path)
    assert str(info.value).startswith(f"{weights}: not a readable safetensors file (")
    assert not marker.exists()
    assert torch.__version__  # (the process is still healthy)
