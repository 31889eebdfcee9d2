"""Real-world image input: modes, bit depths, orientation, sizes, broken files."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import petzoo.inference as S
from petzoo.images import ImageLoadError, load_rgb


def save(tmp_path, im, name, **kw):
    path = tmp_path / name
    im.save(path, **kw)
    return path


@pytest.mark.parametrize("mode", ["L", "1", "RGBA", "LA", "P", "CMYK", "RGB"])
def test_colour_modes_become_rgb(tmp_path, mode):
    im = Image.new("RGB", (40, 30), (200, 100, 50)).convert(mode)
    path = save(tmp_path, im, "a.jpg" if mode == "CMYK" else "a.png")
    rgb = load_rgb(path)
    assert rgb.shape == (30, 40, 3) and rgb.dtype == np.uint8


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    arr = np.array([[0, 32768, 65535]], dtype=np.uint16).repeat(2, axis=0)
    path = save(tmp_path, Image.fromarray(arr), "deep.png")
    assert Image.open(path).mode.startswith("I")
    assert load_rgb(path)[0, :, 0].tolist() == [0, 128, 255]


def test_exif_orientation_is_applied(tmp_path):
    im = Image.new("RGB", (60, 20), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    path = save(tmp_path, im, "rot.jpg", exif=exif.tobytes())
    assert load_rgb(path).shape == (60, 20, 3)


def test_huge_jpeg_is_decoded_at_reduced_scale(tmp_path):
    path = save(tmp_path, Image.new("RGB", (4000, 3000), "gray"), "big.jpg", quality=50)
    rgb = load_rgb(path, max_side=1024)
    assert max(rgb.shape[:2]) <= 1024 * 2 and rgb.shape[0] * 4 == rgb.shape[1] * 3


def test_truncated_and_non_image_files_name_the_file(tmp_path):
    good = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(good, format="JPEG")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    with pytest.raises(ImageLoadError, match=r"cut\.jpg: not a readable image"):
        load_rgb(cut)
    text = tmp_path / "notes.png"
    text.write_text("hello")
    with pytest.raises(ImageLoadError, match=r"notes\.png: not a readable image"):
        load_rgb(text)
    with pytest.raises(ImageLoadError, match=r"gone\.png: no such file"):
        load_rgb(tmp_path / "gone.png")


def test_arrays_and_tensors():
    assert load_rgb(np.zeros((5, 7), np.uint8)).shape == (5, 7, 3)
    assert load_rgb(np.ones((5, 7, 4), np.float32))[0, 0].tolist() == [255, 255, 255]
    assert load_rgb(torch.rand(3, 9, 11)).shape == (9, 11, 3)
    with pytest.raises(ImageLoadError, match="expected"):
        load_rgb(np.zeros((5, 7, 2), np.uint8))


@settings(max_examples=25, deadline=None)
@given(
    h=st.integers(1, 300), w=st.integers(1, 300),
    mode=st.sampled_from(["RGB", "L", "RGBA", "P", "I;16"]), seed=st.integers(0, 2**16),
)
def test_segment_returns_a_mask_at_the_original_size(h, w, mode, seed):
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        im = Image.fromarray(rng.integers(0, 65535, (h, w), dtype=np.uint16))
    else:
        im = Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).convert(mode)
    mask = S.segment(im)
    assert mask.shape == (h, w) and mask.dtype == np.uint8 and mask.max() <= 2


def _jpeg_bytes():
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_corrupted_bytes_give_a_mask_or_the_documented_error(tmp_path_factory, data):
    raw = bytearray(_jpeg_bytes())
    for _ in range(data.draw(st.integers(1, 20))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    path = tmp_path_factory.mktemp("fuzz") / "x.jpg"
    path.write_bytes(bytes(raw[:cut]))
    try:
        mask = S.segment(path)
    except ImageLoadError as err:
        assert "x.jpg" in str(err)
    else:
        assert mask.ndim == 2 and mask.max() <= 2
