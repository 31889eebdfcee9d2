"""Per-model behaviour: shapes, gradients, batch independence, export, compile."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import petzoo
from petzoo import WeightsEnum, _registry
from petzoo.models import SegmentationModel
from petzoo.models._blocks import max_unpool2x
from petzoo.models._builder import build
from petzoo.models.fcn import bilinear_upsampler

#: Every registered family, plus "tiny_family": a family registered here with no
#: published weight, which must pass the same contract tests (as torchvision allows).
SIZE = 64  # tests run at 64 px, or at a fixed-size model's own size
#: Small options for families whose defaults are slow to test (data, not a name branch in the tests).
SMALL_OPTIONS = {"vit_seg": dict(image_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3)}


class TinyNet(SegmentationModel):
    """The smallest model that states the contract: two convs at stride 2, no weights."""

    size_multiple = 2

    def __init__(self, num_classes: int = 3, in_channels: int = 3, width: int = 4):
        super().__init__(num_classes, in_channels)
        self.down = torch.nn.Conv2d(in_channels, width, 3, stride=2, padding=1)
        self.head = torch.nn.Conv2d(width, num_classes, 1)

    def forward_logits(self, x):
        feature = self.decoder_input(torch.relu(self.down(x)))
        return F.interpolate(self.head(feature), size=x.shape[-2:], mode="bilinear")


TinyNet_Weights = WeightsEnum("TinyNet_Weights", [])


def tiny_family(*, weights=None, progress=True, num_classes=None, in_channels=3, **kwargs):
    return build(TinyNet, TinyNet_Weights, weights, progress, num_classes, in_channels, builder="tiny_family", **kwargs)


@pytest.fixture(scope="module", autouse=True)
def registered_tiny_family():
    petzoo.register_model("tiny_family", TinyNet_Weights)(tiny_family)
    yield
    _registry._MODELS.pop("tiny_family")
    _registry._WEIGHTS.pop("tiny_family")


ZOO = petzoo.list_models()
MODELS = ZOO + ["tiny_family"]


def build_small(name, **kw):
    torch.manual_seed(0)
    return petzoo.get_model(name, **{**SMALL_OPTIONS.get(name, {}), **kw})


def sample(model, n=2, size=SIZE):
    torch.manual_seed(1)
    return torch.randn(n, model.in_channels, *model.valid_size(size))


def test_registry_lists_the_five_families_and_a_registered_one():
    assert set(ZOO) >= {"fcn", "segnet", "segnet_dsc", "unet", "vit_seg"}  # a new family adds to it
    assert "tiny_family" in petzoo.list_models()


@pytest.mark.parametrize("name", MODELS)
def test_every_model_states_the_contract(name):
    model = build_small(name)
    assert isinstance(model, SegmentationModel)
    assert isinstance(model.size_multiple, int) and model.size_multiple >= 1
    assert model.fixed_size is None or all(s % model.size_multiple == 0 for s in model.fixed_size)
    enum = petzoo.get_model_weights(name)
    assert issubclass(enum, WeightsEnum)
    for member in enum:  # every published weight's input size is one the model takes
        full = petzoo.get_model(name, **member.builder_kwargs)
        assert full.valid_size(member.meta["image_size"]) == member.transforms().size


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
    model = build_small(name, num_classes=num_classes).eval()
    x = sample(model)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (x.shape[0], num_classes, *x.shape[-2:])
    assert y.dtype == torch.float32 and torch.isfinite(y).all()


@pytest.mark.parametrize("name", MODELS)
def test_outputs_are_raw_logits_of_both_signs(name):
    # The seed notebook ended in BN+ReLU (outputs >= 0); petzoo models do not.
    model = build_small(name).train()
    y = model(sample(model, n=4))
    assert (y < 0).any() and (y > 0).any()


@pytest.mark.parametrize("name", MODELS)
def test_backward_reaches_every_parameter(name):
    model = build_small(name).train()
    x = sample(model)
    target = torch.randint(0, 3, (x.shape[0], *x.shape[-2:]))
    F.cross_entropy(model(x), target).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing


@pytest.mark.parametrize("name", MODELS)
def test_decoder_reads_encoder_features_through_decoder_input(name):
    # UniMatch's feature perturbation reaches a model only through decoder_input: every family routes
    # its encoder features there (the output depends on what it returns), and with nothing set, or the
    # identity, the output is the plain forward's.
    model = build_small(name).train()
    x = sample(model)
    seen, noise = [], torch.full((), 0.5, requires_grad=True)

    def add_noise(feature):
        seen.append(tuple(feature.shape))
        return feature + noise * torch.randn_like(feature)

    torch.manual_seed(2)
    model.feature_perturbation = add_noise
    (model(x) ** 2).mean().backward()
    assert seen and all(shape[0] == x.shape[0] for shape in seen)
    assert noise.grad is not None and noise.grad.abs() > 0
    model.eval()
    with torch.no_grad():
        model.feature_perturbation = lambda feature: feature
        same = model(x)
        model.feature_perturbation = None
        torch.testing.assert_close(same, model(x))


@pytest.mark.parametrize("name", MODELS)
def test_eval_batch_equals_samples_one_by_one(name):
    model = build_small(name).eval()
    x = sample(model, n=3)
    with torch.no_grad():
        batch = model(x)
        single = torch.cat([model(x[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(batch, single, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", MODELS)
def test_input_checks_name_the_model_and_what_it_takes(name):
    model = build_small(name).eval()
    cls = type(model).__name__
    h, w = model.valid_size(SIZE)
    if model.fixed_size is not None:
        with pytest.raises(ValueError, match=f"{cls}: .*fixed by the configuration"):
            model(torch.zeros(1, 3, h + model.size_multiple, w))
    elif model.size_multiple > 1:
        with pytest.raises(ValueError, match=f"{cls}: input height and width must be multiples of {model.size_multiple}"):
            model(torch.zeros(1, 3, h + model.size_multiple // 2, w))
    with pytest.raises(ValueError, match=f"{cls}: expected 3 input channels"):
        model(torch.zeros(1, 4, h, w))
    with pytest.raises(ValueError, match=f"{cls}: expected a floating-point batch"):
        model(torch.zeros(1, 3, h, w, dtype=torch.uint8))
    with pytest.raises(ValueError, match=f"{cls}: expected a 4-D batch"):
        model(torch.zeros(3, h, w))


@pytest.mark.parametrize("name", MODELS)
def test_models_without_a_fixed_size_accept_non_square_inputs(name):
    model = build_small(name).eval()
    if model.fixed_size is not None:
        pytest.skip(f"{name} takes only {model.fixed_size}")
    h, w = model.valid_size(64), model.valid_size(96)
    with torch.no_grad():
        assert model(torch.zeros(1, 3, h[0], w[0])).shape == (1, 3, h[0], w[0])


def test_vit_takes_only_its_configured_size():
    model = build_small("vit_seg").eval()
    assert model.fixed_size == (32, 32) and model.valid_size(128) == (32, 32)
    with pytest.raises(ValueError, match="fixed by the configuration"):
        model(torch.zeros(1, 3, 64, 64))


def test_segnet_variants_cannot_be_switched_by_a_keyword():
    with pytest.raises(TypeError, match=r"segnet\(\) sets separable=False itself"):
        petzoo.segnet(separable=True)
    with pytest.raises(TypeError, match=r"segnet_dsc\(\) sets separable=True itself"):
        petzoo.segnet_dsc(separable=False)
    with pytest.raises(TypeError, match=r"unet\(\) got an unexpected keyword argument 'widht'"):
        petzoo.unet(widht=8)


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
    model = build_small(name).eval()
    x = sample(model, n=1)
    exported = torch.export.export(model, (x,))
    with torch.no_grad():
        torch.testing.assert_close(exported.module()(x), model(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_torch_compile_smoke(name):
    torch._dynamo.reset()  # each family compiles afresh: the shared forward's recompiles must not add up
    model = build_small(name).eval()
    x = sample(model, n=1)
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_torch_compile_inductor_segnet_dsc():
    model = build_small("segnet_dsc").eval()
    x = sample(model, n=1)
    with torch.no_grad():
        torch.testing.assert_close(torch.compile(model)(x), model(x), atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("name", MODELS)
def test_onnx_export_matches_eager_on_onnxruntime(name, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from petzoo.export import export_onnx

    model = build_small(name).eval()
    x = sample(model, n=1)
    path = export_onnx(model, x.shape[-2:], tmp_path / f"{name}.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = torch.from_numpy(session.run(None, {"image": x.numpy()})[0])
    with torch.no_grad():
        ref = model(x)
    torch.testing.assert_close(got, ref, atol=1e-4, rtol=1e-3)
    agree = (got.argmax(1) == ref.argmax(1)).float().mean().item()
    assert agree >= 0.999


def test_vit_position_embedding_resamples_to_another_grid():
    """resample_state_dict: a 32 px (4x4 grid) state dict starts a 48 px (6x6) model; a smooth embedding stays
    smooth (a constant one stays that constant), the other tensors are untouched, the same grid is a no-op and a
    non-square embedding is an error naming the tensor."""
    small = petzoo.vit_seg(**SMALL_OPTIONS["vit_seg"])
    larger = petzoo.vit_seg(**{**SMALL_OPTIONS["vit_seg"], "image_size": 48})
    state = small.state_dict()
    state["encoder.pos_embed"] = torch.full_like(state["encoder.pos_embed"], 0.25)
    resampled, done = larger.resample_state_dict(state)
    assert done == ["position embedding 4x4 -> 6x6"]
    assert resampled["encoder.pos_embed"].shape == (1, 36, 48)
    torch.testing.assert_close(resampled["encoder.pos_embed"], torch.full((1, 36, 48), 0.25))
    assert all(resampled[k] is v for k, v in state.items() if k != "encoder.pos_embed")
    larger.load_state_dict(resampled, strict=True)
    same, done = small.resample_state_dict(state)
    assert same is state and done == []
    state["encoder.pos_embed"] = state["encoder.pos_embed"][:, :15]
    with pytest.raises(ValueError, match="encoder.pos_embed has 15 positions, not a square grid"):
        larger.resample_state_dict(state)


def test_a_vit_weight_of_another_image_size_builds_at_its_own_size(monkeypatch):
    """A vit_seg weight's own image_size overrides the "small" configuration's 128 (a 192 px weight builds a 192 px
    model from vit_seg(weights=...)); a caller's explicit other size is a one-line conflict."""
    import petzoo._weights as weights_module

    weight = petzoo.get_model_weights("vit_seg").DEFAULT
    at192 = petzoo.vit_seg(image_size=192)
    state, _ = at192.resample_state_dict(petzoo.vit_seg(weights=weight).state_dict())
    monkeypatch.setitem(weight.value.builder_kwargs, "image_size", 192)
    monkeypatch.setattr(weights_module, "load_weights_file", lambda *args, **kwargs: state)
    model = petzoo.vit_seg(weights=weight)
    assert model.fixed_size == (192, 192) and model.builder_kwargs["image_size"] == 192
    with pytest.raises(ValueError, match=rf"^image_size=128 conflicts with {weight!r} \(image_size=192\)"):
        petzoo.vit_seg(weights=weight, image_size=128)
    with pytest.raises(ValueError, match=rf"^patch_size=16 conflicts with {weight!r} \(patch_size=8\)"):
        petzoo.vit_seg(weights=weight, config="seed")
