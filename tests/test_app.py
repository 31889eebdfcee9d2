"""The app side end to end: segment() and `petzoo predict/evaluate/export` on real photos."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import petzoo
import petzoo.inference as S
from conftest import ROOT


def petzoo_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "petzoo", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def photos(data_root):
    stems = [line.split()[0] for line in (data_root / "annotations" / "test.txt").read_text().splitlines()[:3]]
    return [data_root / "images" / f"{s}.jpg" for s in stems]


def test_segment_a_real_photo_agrees_with_its_trimap(photos, data_root):
    mask = S.segment(photos[0])
    trimap = np.array(Image.open(data_root / "annotations" / "trimaps" / f"{photos[0].stem}.png")) - 1
    assert mask.shape == trimap.shape
    assert (mask == trimap).mean() > 0.6


def test_segment_batch_matches_single_calls(photos):
    masks = S.segment([str(p) for p in photos])
    assert all(np.array_equal(m, S.segment(p)) for m, p in zip(masks, photos))


def test_iter_segment_keeps_input_order_and_reports_a_bad_photo_in_a_batch(photos, tmp_path):
    from petzoo.images import ImageLoadError

    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not really")
    items = [photos[0], bad, photos[1], photos[2], photos[0]]
    out = list(S.iter_segment(items, batch_size=2, workers=3))
    assert [i for i, _ in out] == list(range(len(items)))
    assert isinstance(out[1][1], ImageLoadError) and "broken.jpg" in str(out[1][1])
    for (_, mask), item in zip(out, items):
        if item != bad:
            assert np.array_equal(mask, S.segment(item))
    with pytest.raises(ValueError, match="batch_size and workers"):
        next(S.iter_segment(items, batch_size=0))


def test_helpers_produce_the_documented_outputs(photos):
    mask = S.segment(photos[0])
    cut = np.array(S.cutout(photos[0], mask))
    assert cut.shape[2] == 4 and set(np.unique(cut[..., 3])) <= {0, 128, 255}
    assert (cut[..., 3][mask == 0] == 255).all() and (cut[..., 3][mask == 1] == 0).all()
    green = np.array(S.replace_background(photos[0], mask, (0, 255, 0)))
    assert (green[mask == 1] == [0, 255, 0]).all()
    assert S.overlay(photos[0], mask).size == Image.open(photos[0]).size


def test_predict_cli_writes_every_mode_and_reports_failures(photos, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not really")
    out = petzoo_cli("predict", str(photos[0]), str(photos[1]), str(bad), "--out", str(tmp_path / "o"), "--quiet")
    assert out.returncode == 1
    assert "1 of 3 inputs failed" in out.stderr and "broken.jpg: not a readable image" in out.stderr
    assert "Traceback" not in out.stderr
    mask = Image.open(tmp_path / "o" / f"{photos[0].stem}.mask.png")
    assert mask.mode == "P" and set(np.unique(np.array(mask))) <= {0, 1, 2}
    for i, (mode, extra) in enumerate([("overlay", []), ("cutout", []), ("background", ["--background", str(photos[2])]),
                                       ("background", ["--background", "10,20,30"])]):
        res = petzoo_cli("predict", str(photos[0]), "--mode", mode, *extra, "--out", str(tmp_path / f"{mode}{i}"),
                         "--quiet")
        assert res.returncode == 0, res.stderr
        assert (tmp_path / f"{mode}{i}" / f"{photos[0].stem}.{mode}.png").is_file()


def test_predict_cli_on_a_folder_and_on_the_bundled_demo_photo(photos, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for p in photos:
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "readme.txt").write_text("not an image, not picked up")
    out = petzoo_cli("predict", str(folder), "skimage:chelsea", "--out", str(tmp_path / "o"), "--quiet")
    assert out.returncode == 0, out.stderr
    assert len(list((tmp_path / "o").glob("*.mask.png"))) == len(photos) + 1
    assert Image.open(tmp_path / "o" / "chelsea.mask.png").size == (451, 300)
    # batched and threaded, the outputs are the same files' masks
    out = petzoo_cli("predict", str(folder), "--out", str(tmp_path / "b"), "--quiet", "--batch-size", "2",
                     "--workers", "3", "--mode", "cutout")
    assert out.returncode == 0, out.stderr
    for p in photos:
        alpha = np.array(Image.open(tmp_path / "b" / f"{p.stem}.cutout.png"))[..., 3]
        assert np.array_equal(alpha, np.array(S.cutout(p, S.segment(p)))[..., 3])


@pytest.mark.parametrize("args, message", [
    (["predict", "x.jpg", "--mode", "background"], "--mode background needs --background"),
    (["predict", "x.jpg", "--mode", "background", "--background", "notacolour"], "colour 'notacolour'"),
    (["predict", "x.jpg", "--weights", "V9"], "unknown weights 'V9'"),
    (["predict", "skimage:nosuchphoto"], "scikit-image ships no photo called 'nosuchphoto'"),
])
def test_bad_arguments_exit_2_with_one_line(args, message):
    out = petzoo_cli(*args)
    assert out.returncode == 2 and message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("flag, value", [("--batch-size", "0"), ("--workers", "-1")])
def test_predict_batch_and_worker_counts_are_checked(flag, value):
    out = petzoo_cli("predict", "x.jpg", flag, value)
    assert out.returncode == 2 and f"argument {flag}: expected an integer >= 1, got '{value}'" in out.stderr


def test_evaluate_cli_on_real_data(data_root, tmp_path):
    out = petzoo_cli("evaluate", "--model", "unet", "--splits", "other_breeds", "--data-path", str(data_root), "--quiet")
    assert out.returncode == 0, out.stderr
    recorded = petzoo.UNet_Weights.DEFAULT.meta["_metrics"]["other_breeds"]["pixel_acc"]
    assert f"pixel_acc {recorded:.4f}" in out.stdout


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_cli_matches_eager(fmt, tmp_path):
    target = tmp_path / f"m.{fmt}"
    out = petzoo_cli("export", "--model", "segnet_dsc", "--format", fmt, "--out", str(target))
    assert out.returncode == 0, out.stderr
    weights = petzoo.SegNetDSC_Weights.DEFAULT
    model = petzoo.segnet_dsc(weights=weights).eval()
    size = weights.meta["image_size"]  # exports are fixed at the weight's input size
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = model(x)
    if fmt == "onnx":
        ort = pytest.importorskip("onnxruntime")
        got = torch.from_numpy(ort.InferenceSession(str(target)).run(None, {"image": x.numpy()})[0])
    else:
        got = torch.jit.load(str(target))(x)
    # SegNet's unpooling is discontinuous: where two values of a 2x2 pooling window
    # nearly tie, a 1e-6 difference can flip the pooled index and move that activation
    # by a pixel. So: nearly all logits within tolerance, and the classes agree.
    close = (got - ref).abs() <= 1e-4 + 1e-3 * ref.abs()
    assert close.float().mean() >= 0.99
    assert (got.argmax(1) == ref.argmax(1)).float().mean() >= 0.999
