"""Real photos from phones: full-size results, nothing overwritten, every bad input a clear
error, soft cut-out edges. One regression test per defect of the issue (numbered as there)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import petzoo
import petzoo.inference as S
from conftest import ROOT
from petzoo.images import load_image, load_rgb


def subprocess_cli(*args, cwd=ROOT, timeout=300):
    return subprocess.run([sys.executable, "-m", "petzoo", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def cli(*args, cwd=None):
    """``petzoo ARGS`` in this process (a subprocess costs ~6 s of imports on 2 cores)."""
    import contextlib
    import io

    from petzoo.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse errors and --help
                code = exc.code
    finally:
        os.chdir(old)
    return Result(code, out.getvalue(), err.getvalue())


def one_line_error(out, *needles):
    assert out.returncode == 2, (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def phone_photo(path, w, h, orientation=1, quality=85):
    """A smooth synthetic photo (a bright ellipse on a gradient), saved as a JPEG as a phone would."""
    yy, xx = np.mgrid[0:h:8, 0:w:8]
    small = np.stack([xx * 255 // w, yy * 255 // h, np.full_like(xx, 90)], -1).astype(np.uint8)
    small[((yy - h / 2) / (h / 3)) ** 2 + ((xx - w / 2) / (w / 4)) ** 2 < 1] = (230, 180, 120)
    im = Image.fromarray(small).resize((w, h), Image.BILINEAR)
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    im.save(path, quality=quality, exif=exif)
    return path


# 1. Phone photos ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def photo_12mp(tmp_path_factory):
    return phone_photo(tmp_path_factory.mktemp("phone") / "IMG_0001.jpg", 4032, 3024)


def test_1_a_12mp_phone_photo_gets_a_full_size_mask_and_every_mode_works(photo_12mp, tmp_path):
    mask = petzoo.segment(photo_12mp, model="unet")
    assert mask.shape == (3024, 4032)
    assert petzoo.cutout(photo_12mp, mask).size == (4032, 3024)  # the README's segment() then cutout()
    for mode in ("mask", "cutout"):
        out = cli("predict", str(photo_12mp), "--mode", mode, "--model", "unet", "--out", str(tmp_path), "--quiet")
        assert out.returncode == 0, out.stderr
        assert Image.open(tmp_path / f"IMG_0001.{mode}.png").size == (4032, 3024)


def test_1_a_6000x4000_camera_photo_with_the_default_model(tmp_path):
    path = phone_photo(tmp_path / "DSC_0002.jpg", 6000, 4000, orientation=6)  # shown upright as 4000 x 6000
    mask = petzoo.segment(path)
    assert mask.shape == (6000, 4000)
    assert petzoo.replace_background(path, mask, (0, 128, 0)).size == (4000, 6000)


@settings(max_examples=8, deadline=None)
@given(w=st.integers(1, 6000), h=st.integers(1, 4500), orientation=st.sampled_from([1, 3, 6, 8]))
def test_1_every_result_has_the_photos_upright_size(tmp_path_factory, w, h, orientation):
    path = phone_photo(tmp_path_factory.mktemp("p") / "x.jpg", w, h, orientation, quality=60)
    upright = (w, h) if orientation in (6, 8) else (h, w)
    rgb, size = load_image(path, max_side=256)  # reduced for the model, size reported in full
    assert size == upright and rgb.shape[0] <= upright[0] and rgb.shape[1] <= upright[1]
    mask = petzoo.segment(path, model="unet")
    assert mask.shape == upright
    assert petzoo.overlay(path, mask).size == upright[::-1]


# 2. Silent overwrites --------------------------------------------------------------------

def test_2_same_names_from_two_folders_and_two_formats_give_distinct_outputs(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        phone_photo(tmp_path / folder / "cat.jpg", 64, 48)
    phone_photo(tmp_path / "dup.jpg", 64, 48)
    Image.open(tmp_path / "dup.jpg").save(tmp_path / "dup.png")
    out = tmp_path / "out"
    res = cli("predict", str(tmp_path / "a/cat.jpg"), str(tmp_path / "b/cat.jpg"), str(tmp_path / "dup.jpg"),
              str(tmp_path / "dup.png"), "--model", "unet", "--out", str(out), "--quiet")
    assert res.returncode == 0, res.stderr
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.png"))
    assert written == ["a/cat.mask.png", "b/cat.mask.png", "dup.jpg.mask.png", "dup.png.mask.png"]


def test_2_an_existing_output_is_never_replaced_without_overwrite(tmp_path):
    photo = phone_photo(tmp_path / "cat.jpg", 64, 48)
    out = tmp_path / "out"
    out.mkdir()
    (out / "cat.mask.png").write_bytes(b"keep me")
    one_line_error(cli("predict", str(photo), "--model", "unet", "--out", str(out)), "cat.mask.png exists", "--overwrite")
    assert (out / "cat.mask.png").read_bytes() == b"keep me"
    assert cli("predict", str(photo), "--model", "unet", "--out", str(out), "--overwrite", "--quiet").returncode == 0
    assert Image.open(out / "cat.mask.png").size == (64, 48)
    assert "--overwrite" in cli("predict", "--help").stdout


# 3. Tracebacks and hangs -----------------------------------------------------------------

def test_3_evaluate_with_no_weights_is_one_line():
    one_line_error(cli("evaluate", "--weights", "none"), "--weights none")


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1"])
def test_3_bench_rejects_non_finite_seconds_at_once(value):
    out = cli("bench", "--models", "unet", "--seconds", value)
    assert out.returncode == 2 and "--seconds" in out.stderr and "seconds > 0" in out.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_3_a_fifo_named_like_a_photo_is_skipped_not_waited_on(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    phone_photo(folder / "cat.jpg", 64, 48)
    os.mkfifo(folder / "pipe.jpg")
    out = subprocess_cli("predict", str(folder), "--model", "unet", "--out", str(tmp_path / "out"), "--quiet",
                         timeout=120)  # a subprocess, so that a hang ends in a timeout
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["cat.mask.png"]
    with pytest.raises(ValueError, match="pipe.jpg: not a regular file"):
        load_rgb(folder / "pipe.jpg")


def test_3_summary_include_matching_nothing_is_an_error():
    one_line_error(cli("summary", "--include", "zzz*"), "matches no model")


# 4. Silent garbage -----------------------------------------------------------------------

@pytest.mark.parametrize("bad, message", [
    (np.full((20, 30, 3), np.nan, np.float32), "NaN or infinite"),
    (np.full((20, 30, 3), np.inf, np.float32), "NaN or infinite"),
    (np.full((20, 30, 3), 3.5, np.float32), r"must lie in \[0, 1\]"),
    (np.full((20, 30, 3), -0.5, np.float64), r"must lie in \[0, 1\]"),
    (torch.full((3, 20, 30), 7.0), r"must lie in \[0, 1\]"),
])
def test_4_segment_rejects_non_finite_and_out_of_range_arrays(bad, message):
    with pytest.raises(ValueError, match=message):
        petzoo.segment(bad, model="unet")


def test_4_colours_alpha_and_mask_values_are_checked():
    rgb = np.zeros((8, 8, 3), np.uint8)
    mask = np.zeros((8, 8), np.uint8)
    with pytest.raises(ValueError, match=r"expected \(r, g, b\) integers 0..255"):
        petzoo.replace_background(rgb, mask, (300, -5, 0))
    for alpha in (2, -0.1, float("nan")):
        with pytest.raises(ValueError, match=r"alpha: expected a number in \[0, 1\]"):
            petzoo.overlay(rgb, mask, alpha=alpha)
    for helper in (petzoo.cutout, petzoo.overlay, S.mask_image):
        with pytest.raises(ValueError, match=r"mask: values must be 0 \(pet\), 1 \(background\) or 2 \(border\)"):
            helper(*(() if helper is S.mask_image else (rgb,)), np.full((8, 8), 3, np.uint8))


# 5. config.json that would load something else -------------------------------------------

@pytest.fixture
def folder(tmp_path, monkeypatch):
    def no_download(*a, **k):
        raise AssertionError("from_pretrained tried to download")

    monkeypatch.setattr(petzoo.hub, "hub_file", no_download)
    monkeypatch.setattr(petzoo.hub, "verified_hub_file", no_download)
    path = tmp_path / "m"
    petzoo.save_pretrained(petzoo.unet(width=4, depth=2), path, model_name="unet", image_size=32,
                           builder_kwargs={"width": 4, "depth": 2})
    return path


@pytest.mark.parametrize("model", ["hf-hub:org/x", "nope", 3])
def test_5_a_config_can_only_name_a_petzoo_builder(folder, model):
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model": model}))
    with pytest.raises(ValueError, match=r"config\.json: \"model\" must name a petzoo builder"):
        petzoo.from_pretrained(folder)


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ('{"model": "unet"}', "missing key 'categories'"),
    ("[1, 2]", "expected a JSON object"),
])
def test_5_a_malformed_config_names_the_file(folder, text, message):
    (folder / "config.json").write_text(text)
    with pytest.raises(ValueError, match=f"{folder.name}/config.json: {message}"):
        petzoo.from_pretrained(folder)


# 6. Colours and backgrounds ---------------------------------------------------------------

@pytest.mark.parametrize("text, rgb", [
    ("rgb(10,20,30)", (10, 20, 30)), ("hsl(120,100%,25%)", (0, 128, 0)), ("teal", (0, 128, 128)),
    ("#2e8b57", (46, 139, 87)), ("10, 20, 30", (10, 20, 30)),
])
def test_6_every_colour_pillow_knows_is_accepted(text, rgb):
    assert S.parse_colour(text) == rgb


@pytest.mark.parametrize("background, message", [
    ("a,b,c", "expected 'r,g,b' with three integers 0..255"),
    ("missing/bg.jpg", "missing/bg.jpg: no such file"),
    ("bg.png", "bg.png: no such file"),
])
def test_6_bad_backgrounds_are_one_clear_line(background, message, tmp_path):
    photo = phone_photo(tmp_path / "cat.jpg", 64, 48)
    one_line_error(cli("predict", str(photo), "--mode", "background", "--background", background,
                       "--out", str(tmp_path / "o"), cwd=tmp_path), message)


def test_6_unreadable_background_and_read_only_out_stop_before_any_work(tmp_path):
    photos = [phone_photo(tmp_path / f"p{i}.jpg", 64, 48) for i in range(3)]
    bad = tmp_path / "bg.png"
    bad.write_text("not an image")
    start = time.time()
    one_line_error(cli("predict", *map(str, photos), "--mode", "background", "--background", str(bad),
                       "--out", str(tmp_path / "o")), "bg.png: not a readable image")
    assert not (tmp_path / "o").exists()
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        one_line_error(cli("predict", *map(str, photos), "--out", str(ro)), "not a writable folder")
    blocker = tmp_path / "file"
    blocker.write_text("x")  # --out under a regular file can never be created, even by root
    one_line_error(cli("predict", *map(str, photos), "--out", str(blocker / "out")), "not a writable folder")
    assert time.time() - start < 120


# 7. Long names, re-runs into the input folder, deep PNGs, odd arguments --------------------

def test_7_a_250_character_name_is_written(tmp_path):
    photo = phone_photo(tmp_path / ("p" * 250 + ".jpg"), 64, 48)
    out = cli("predict", str(photo), "--mode", "background", "--background", "teal", "--model", "unet",
              "--out", str(tmp_path / "o"), "--quiet")
    assert out.returncode == 0, out.stderr
    [written] = list((tmp_path / "o").iterdir())
    assert written.name.endswith(".background.png") and len(written.name.encode()) <= 255


def test_7_rerunning_into_the_input_folder_does_not_read_outputs_back(tmp_path):
    phone_photo(tmp_path / "cat.jpg", 64, 48)
    for _ in range(2):
        out = cli("predict", str(tmp_path), "--model", "unet", "--out", str(tmp_path), "--overwrite", "--quiet")
        assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat.jpg", "cat.mask.png"]


def test_7_12_bit_data_in_a_16_bit_png_is_not_near_black(tmp_path):
    gray = (np.linspace(0, 4095, 64 * 48).reshape(48, 64)).astype(np.uint16)
    Image.fromarray(gray).save(tmp_path / "deep.png")
    assert load_rgb(tmp_path / "deep.png").max() == 255
    rgb16 = np.dstack([gray] * 3)
    import cv2

    cv2.imwrite(str(tmp_path / "deep_rgb.png"), rgb16)
    assert load_rgb(tmp_path / "deep_rgb.png").max() == 255


def test_7_model_names_are_case_insensitive_and_no_weights_is_clear(tmp_path):
    photo = phone_photo(tmp_path / "cat.jpg", 64, 48)
    assert cli("predict", str(photo), "--model", "UNET", "--out", str(tmp_path / "o"), "--quiet").returncode == 0
    one_line_error(cli("predict", str(photo), "--weights", "none", "--out", str(tmp_path / "o2")),
                   "--weights none: predict needs a published weight")


def test_7_bf16_and_hwc_tensors():
    x = torch.rand(3, 40, 60)
    assert petzoo.segment(x.to(torch.bfloat16), model="unet").shape == (40, 60)
    with pytest.raises(ValueError, match=r"use \.permute\(2, 0, 1\)"):
        petzoo.segment(x.permute(1, 2, 0).contiguous()[:, :, :3].expand(40, 60, 3).clone().reshape(40, 60, 3)[:, :7],
                       model="unet")


# Soft edges --------------------------------------------------------------------------------

def test_matting_makes_soft_edges_only_on_the_border_band():
    pytest.importorskip("pymatting")
    from skimage import data

    photo = data.chelsea()
    mask = petzoo.segment(photo)
    alpha = np.array(petzoo.cutout(photo, mask, matting=True))[..., 3]
    assert (alpha[mask == 0] == 255).all() and (alpha[mask == 1] == 0).all()
    band = alpha[mask == 2]
    assert len(np.unique(band)) > 20  # a real matte, not the flat 128 of the hard cut-out
    assert np.array(petzoo.cutout(photo, mask))[..., 3][mask == 2].tolist() == [128] * band.size


def test_matting_time_is_bounded_on_a_12mp_photo(photo_12mp):
    pytest.importorskip("pymatting")
    mask = petzoo.segment(photo_12mp, model="unet")
    start = time.time()
    alpha = S.estimate_alpha(photo_12mp, mask)
    assert alpha.shape == mask.shape and time.time() - start < 60


def test_clean_drops_islands_and_fills_holes():
    mask = np.ones((100, 100), np.uint8)  # background
    mask[20:80, 20:80] = 0  # the pet
    mask[45:50, 45:50] = 1  # a hole in its forehead
    mask[5:7, 90:92] = 0  # a speck
    cleaned = S.clean_mask(mask)
    assert (cleaned[20:80, 20:80] == 0).all() and (cleaned[5:7, 90:92] == 1).all()
    assert (cleaned[:20] == 1).all()  # background around stays background


def test_matting_that_does_not_converge_keeps_hard_edges_with_a_warning(monkeypatch):
    pymatting = pytest.importorskip("pymatting")
    from skimage import data

    def no_convergence(*args, **kwargs):
        assert kwargs["cg_kwargs"]["maxiter"] == S.MATTING_MAX_ITER  # bounded time
        raise ValueError("Conjugate gradient descent did not converge within 2000 iterations")

    monkeypatch.setattr(pymatting, "estimate_alpha_cf", no_convergence)
    photo = data.chelsea()
    mask = petzoo.segment(photo)
    with pytest.warns(RuntimeWarning, match="matting: Conjugate gradient .* keeps the hard trimap edges"):
        soft = petzoo.cutout(photo, mask, matting=True)
    assert np.array_equal(np.array(soft), np.array(petzoo.cutout(photo, mask)))
