"""segment()'s inference path: BatchNorm folded into convs and channels_last, same answers."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

import petzoo
from petzoo.inference import fuse_conv_bn, prepare_for_inference, segment


@pytest.mark.parametrize("name", petzoo.list_models())
def test_prepared_model_matches_eager(name):
    published = "DEFAULT" in petzoo.get_model_weights(name).__members__
    torch.manual_seed(0)
    model = petzoo.get_model(name, weights="DEFAULT" if published else None).eval()
    if not published:  # BatchNorm statistics that are not the identity, so folding them is tested
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    fast = prepare_for_inference(copy.deepcopy(model))
    x = torch.randn(2, 3, *model.valid_size(128), generator=torch.Generator().manual_seed(0))  # a ViT: its own size
    with torch.inference_mode():
        ref, out = model(x), fast(x.contiguous(memory_format=torch.channels_last))
    close = torch.isclose(out, ref, atol=1e-4, rtol=1e-3).float().mean()
    # SegNet's 2x2 max-pool can pick the other index of a near-tie under ~1e-6 changes,
    # moving single activations (as with its ONNX export); every other model keeps all logits in tolerance.
    assert close >= (0.98 if name.startswith("segnet") else 1.0)
    assert (out.argmax(1) == ref.argmax(1)).float().mean() >= 0.999


def test_fuse_folds_every_conv_bn_pair_and_needs_eval():
    model = petzoo.segnet_dsc()
    with pytest.raises(ValueError, match="eval-mode"):
        fuse_conv_bn(model)
    fuse_conv_bn(model.eval())
    for seq in (m for m in model.modules() if isinstance(m, torch.nn.Sequential)):
        pairs = zip(seq[:-1], seq[1:])
        assert not any(isinstance(a, torch.nn.Conv2d) and isinstance(b, torch.nn.BatchNorm2d) for a, b in pairs)
    # What is left is only the input normalisation, which no conv precedes.
    assert [type(m).__name__ for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)] == ["BatchNorm2d"]


def test_segment_optimized_agrees_with_plain_model():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (150, 210, 3), dtype=np.uint8)
    fast, plain = segment(photo), segment(photo, optimize=False)
    assert fast.shape == plain.shape == (150, 210)
    assert (fast == plain).mean() >= 0.999


def _fresh_backend_caches():
    import petzoo.inference as S

    S._onnx_runner.cache_clear()
    S.choose_backend.cache_clear()


def test_onnxruntime_backend_exports_once_checks_and_agrees_with_torch(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from skimage import data

    import petzoo.inference as S

    monkeypatch.setenv("PETZOO_CACHE", str(tmp_path))
    _fresh_backend_caches()
    photo = data.astronaut()
    ref = S.segment(photo, model="unet")
    got = S.segment(photo, model="unet", backend="onnxruntime")
    assert got.shape == ref.shape and (got == ref).mean() >= 0.999
    [onnx] = list((tmp_path / "onnx").glob("*.onnx"))
    assert onnx.stem == petzoo.UNet_Weights.DEFAULT.sha256 and not list((tmp_path / "onnx").glob(".*"))
    stamp = onnx.stat().st_mtime_ns
    _fresh_backend_caches()
    S.segment(photo, model="unet", backend="onnxruntime")
    assert onnx.stat().st_mtime_ns == stamp  # reused, not exported again
    choice = S.choose_backend("unet")
    record = json.loads((tmp_path / "onnx" / f"{onnx.stem}.choice.json").read_text())
    assert choice == record["backend"] in ("torch", "onnxruntime") and record["torch_ms"] > 0
    assert (S.segment(photo, model="unet", backend="auto") == ref).mean() >= 0.999
    with pytest.raises(ValueError, match="backend: expected one of torch, onnxruntime, auto"):
        S.segment(photo, model="unet", backend="tensorrt")
    _fresh_backend_caches()


def test_an_export_that_disagrees_with_torch_is_not_cached(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import petzoo.inference as S

    monkeypatch.setenv("PETZOO_CACHE", str(tmp_path))
    monkeypatch.setattr(S, "ONNX_MIN_AGREEMENT", 1.01)  # no export can pass
    _fresh_backend_caches()
    with pytest.raises(RuntimeError, match="ONNX export agrees with PyTorch on only"):
        S.onnx_file("unet")
    assert not [p for p in (tmp_path / "onnx").iterdir()]
    _fresh_backend_caches()


def test_predict_backend_flag(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from PIL import Image

    from petzoo.cli import main

    monkeypatch.setenv("PETZOO_CACHE", str(tmp_path / "cache"))
    _fresh_backend_caches()
    for backend in ("torch", "onnxruntime"):
        assert main(["predict", "skimage:coffee", "--model", "unet", "--backend", backend, "--quiet",
                     "--out", str(tmp_path / backend)]) == 0
    a, b = (np.array(Image.open(tmp_path / k / "coffee.mask.png")) for k in ("torch", "onnxruntime"))
    assert a.shape == b.shape and (a == b).mean() >= 0.999
    _fresh_backend_caches()


class _CountingNet(torch.nn.Module):
    """A 1x1 conv that records the batch size of every pass."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 3, 1)
        self.passes = []

    def forward(self, x):
        self.passes.append(len(x))
        return self.conv(x)


def test_forward_batched_splits_a_large_cpu_batch_by_pixels_with_the_same_answer():
    from petzoo.inference import CPU_BATCH_PIXELS, forward_batched

    net = _CountingNet().eval()
    x = torch.randn(32, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        whole = net(x)
        net.passes.clear()
        split = forward_batched(net, x)
    per_pass = CPU_BATCH_PIXELS // (128 * 128)
    assert 1 <= per_pass < 32 and net.passes == [per_pass] * (32 // per_pass) + ([32 % per_pass] if 32 % per_pass else [])
    assert torch.equal(split, whole)
    net.passes.clear()
    with torch.inference_mode():
        forward_batched(net, x[:3], max_pixels=2 * 128 * 128)  # 2 images a pass, the rest in a last pass
        forward_batched(net, x[:2, :, :, :64])  # fits: one pass
        forward_batched(net, x[:2], max_pixels=1)  # at least one image a pass
    assert net.passes == [2, 1, 2, 1, 1]
    with pytest.raises(ValueError, match="max_pixels"):
        forward_batched(net, x, max_pixels=0)


def test_segment_runs_a_folder_batch_through_forward_batched(monkeypatch, tmp_path):
    """iter_segment's batches reach the network as forward_batched's passes (a tiny budget: one image a pass)."""
    from PIL import Image

    import petzoo.inference as S

    seen = []
    real = S.forward_batched

    def spy(net, x, max_pixels=1):
        return real(lambda part: (seen.append(len(part)), net(part))[1], x, max_pixels)

    monkeypatch.setattr(S, "forward_batched", spy)
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"{i}.png")
        Image.new("RGB", (40 + i, 30), (i * 60, 100, 50)).save(paths[-1])
    masks = S.segment([str(p) for p in paths], model="mobile_fpn")
    assert [m.shape for m in masks] == [(30, 40), (30, 41), (30, 42)] and seen == [1, 1, 1]
