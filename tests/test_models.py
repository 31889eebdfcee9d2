"""Per-model behaviour: shapes, gradients, batch independence, export, compile."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import petzoo
from petzoo.models._blocks import max_unpool2x
from petzoo.models.fcn import bilinear_upsampler

MODELS = ["fcn", "segnet", "segnet_dsc", "unet", "vit_seg"]
SIZE = 64  # CNN tests at 64 px; vit_seg at its fixed size
VIT_SMALL_TEST = dict(image_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3)


def build(name, **kw):
    torch.manual_seed(0)
    if name == "vit_seg":
        kw = {**VIT_SMALL_TEST, **kw}
    return petzoo.get_model(name, **kw)


def sample(name, n=2, size=SIZE):
    torch.manual_seed(1)
    s = VIT_SMALL_TEST["image_size"] if name == "vit_seg" else size
    return torch.randn(n, 3, s, s)


def test_registry_lists_the_five_families():
    assert petzoo.list_models() == MODELS


@pytest.mark.parametrize(
    "name, kwargs, expected_m",
    [("segnet", {}, 15.27), ("segnet_dsc", {}, 1.75), ("vit_seg", {"config": "seed"}, 86.3)],
)
def test_param_counts_match_the_seed_articles(name, kwargs, expected_m):
    n = sum(p.numel() for p in petzoo.get_model(name, **kwargs).parameters()) / 1e6
    assert abs(n - expected_m) / expected_m < 0.01, n


def test_fcn_stays_under_20m_params():
    assert sum(p.numel() for p in petzoo.fcn().parameters()) <= 20e6


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("num_classes", [3, 5])
def test_output_is_logits_at_input_resolution(name, num_classes):
    model = build(name, num_classes=num_classes).eval()
    x = sample(name)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (x.shape[0], num_classes, *x.shape[-2:])
    assert y.dtype == torch.float32 and torch.isfinite(y).all()


@pytest.mark.parametrize("name", MODELS)
def test_outputs_are_raw_logits_of_both_signs(name):
    # The seed notebook ended in BN+ReLU (outputs >= 0); petzoo models do not.
    y = build(name).train()(sample(name, n=4))
    assert (y < 0).any() and (y > 0).any()


@pytest.mark.parametrize("name", MODELS)
def test_backward_reaches_every_parameter(name):
    model = build(name).train()
    x = sample(name)
    target = torch.randint(0, 3, (x.shape[0], *x.shape[-2:]))
    F.cross_entropy(model(x), target).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing


@pytest.mark.parametrize("name", MODELS)
def test_eval_batch_equals_samples_one_by_one(name):
    model = build(name).eval()
    x = sample(name, n=3)
    with torch.no_grad():
        batch = model(x)
        single = torch.cat([model(x[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(batch, single, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ["fcn", "segnet", "segnet_dsc", "unet"])
def test_cnn_rejects_sizes_that_are_not_a_multiple_of_its_stride(name):
    model = build(name).eval()
    stride = 32 if name == "fcn" else 16
    with pytest.raises(ValueError, match=f"multiples of {stride}"):
        model(torch.zeros(1, 3, stride * 2 + 8, stride * 2))


@pytest.mark.parametrize("name", ["fcn", "segnet", "segnet_dsc", "unet"])
def test_cnn_accepts_non_square_inputs(name):
    model = build(name).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 64, 96)).shape == (1, 3, 64, 96)


def test_vit_rejects_a_size_other_than_its_configuration():
    model = build("vit_seg").eval()
    with pytest.raises(ValueError, match="fixed by the configuration"):
        model(torch.zeros(1, 3, 64, 64))


def test_vit_unknown_config_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown vit_seg config"):
        petzoo.vit_seg(config="huge")


def test_in_channels_option():
    model = petzoo.segnet_dsc(in_channels=1).eval()
    assert model(torch.zeros(1, 1, 32, 32)).shape == (1, 3, 32, 32)


def test_scatter_unpool_equals_max_unpool2d():
    x = torch.randn(2, 4, 10, 14)
    pooled, idx = F.max_pool2d(x, 2, 2, return_indices=True)
    expected = F.max_unpool2d(pooled, idx, 2, 2, output_size=x.shape[-2:])
    assert torch.equal(max_unpool2x(pooled, idx, x.shape[-2:]), expected)


def test_fcn_upsampler_starts_as_bilinear_interpolation():
    up = bilinear_upsampler(2, 2)
    x = torch.randn(1, 2, 8, 8)
    ref = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    # Equal away from the border (the transposed conv zero-pads, interpolate clamps).
    torch.testing.assert_close(up(x)[..., 2:-2, 2:-2], ref[..., 2:-2, 2:-2], atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", MODELS)
def test_torch_export_matches_eager(name):
    model = build(name).eval()
    x = sample(name, n=1)
    exported = torch.export.export(model, (x,))
    with torch.no_grad():
        torch.testing.assert_close(exported.module()(x), model(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_torch_compile_smoke(name):
    model = build(name).eval()
    x = sample(name, n=1)
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_torch_compile_inductor_segnet_dsc():
    model = build("segnet_dsc").eval()
    x = sample("segnet_dsc", n=1)
    with torch.no_grad():
        torch.testing.assert_close(torch.compile(model)(x), model(x), atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("name", MODELS)
def test_onnx_export_matches_eager_on_onnxruntime(name, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from petzoo.export import export_onnx

    model = build(name).eval()
    x = sample(name, n=1)
    path = export_onnx(model, x.shape[-2:], tmp_path / f"{name}.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = torch.from_numpy(session.run(None, {"image": x.numpy()})[0])
    with torch.no_grad():
        ref = model(x)
    torch.testing.assert_close(got, ref, atol=1e-4, rtol=1e-3)
    agree = (got.argmax(1) == ref.argmax(1)).float().mean().item()
    assert agree >= 0.999
