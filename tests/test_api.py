"""Registry, weight enums and weight loading, with a weight file made here."""
from __future__ import annotations

import functools
import sys

import pytest
import torch
from safetensors.torch import save_file

import petzoo
from petzoo import Weights, WeightsEnum
from petzoo.hub import HashMismatchError, WeightsNotFoundError, sha256_of
from petzoo.models import SegNet
from petzoo.models._builder import build
from petzoo.profile import profile
from petzoo.transforms import SegmentationPresetEval
from conftest import ROOT, require_git_history

REQUIRED_META = {"categories", "num_params", "min_size", "_metrics", "_ops", "_file_size", "recipe", "license", "_docs"}


def make_weights_enum(folder, model, image_size=64, revision=None):
    """Write ``model`` as a petzoo weight folder and describe it in a fresh WeightsEnum."""
    path = folder / "tmp_segnet_dsc" / "model.safetensors"
    path.parent.mkdir(parents=True)
    save_file(model.state_dict(), str(path))
    stats = profile(model, image_size)
    weights = Weights(
        transforms=functools.partial(SegmentationPresetEval, image_size),
        meta={
            "categories": petzoo.CATEGORIES,
            "num_params": stats["num_params"],
            "min_size": (16, 16),
            "_metrics": {},
            "_ops": stats["gmacs"],
            "_file_size": path.stat().st_size / 2**20,
            "recipe": "made by tests/test_api.py",
            "license": "CC-BY-SA-4.0",
            "_docs": "test weight",
            "image_size": image_size,
        },
        local_dir="tmp_segnet_dsc",
        hub_repo="petzoo/tmp-segnet-dsc",
        sha256=sha256_of(path),
        size=path.stat().st_size,
        revision=revision,
    )
    return WeightsEnum("TmpWeights", [("V1", weights), ("DEFAULT", weights)]), path


@pytest.fixture
def trained(tmp_path, monkeypatch):
    monkeypatch.setenv("PETZOO_WEIGHTS_DIR", str(tmp_path))
    torch.manual_seed(3)
    model = petzoo.segnet_dsc().eval()
    for m in model.modules():  # non-default buffers, so a strict load is visible
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
    enum, path = make_weights_enum(tmp_path, model)
    return model, enum, path


def test_list_models_include_exclude():
    assert petzoo.list_models(include="segnet*") == ["segnet", "segnet_dsc"]
    assert petzoo.list_models(exclude=["segnet*", "vit*", "mobile*", "*efficientnet*"]) == ["fcn", "unet"]
    assert petzoo.list_models(include=["u*", "f*"]) == ["fcn", "fpn_efficientnet_lite0", "unet", "unet_efficientnet_lite2"]


def test_get_model_and_builder():
    assert petzoo.get_model_builder("segnet_dsc") is petzoo.segnet_dsc
    assert isinstance(petzoo.get_model("segnet_dsc"), SegNet)
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        petzoo.get_model("nope")


def test_get_model_weights_by_name_and_builder():
    assert petzoo.get_model_weights("unet") is petzoo.UNet_Weights
    assert petzoo.get_model_weights(petzoo.segnet_dsc) is petzoo.SegNetDSC_Weights


def test_register_model_refuses_duplicates():
    with pytest.raises(ValueError, match="already registered"):
        petzoo.register_model("unet")(lambda **kw: None)


def test_builders_are_keyword_only():
    with pytest.raises(TypeError):
        petzoo.segnet_dsc(None)


def test_enum_without_weights_gives_a_clear_error():
    empty = WeightsEnum("EmptyWeights", [])
    with pytest.raises(ValueError, match="available: none published yet"):
        empty.verify("DEFAULT")


def test_unknown_member_lists_the_available_ones():
    published = [name for name in petzoo.UNet_Weights.__members__ if name != "DEFAULT"]
    assert published[:5] == ["OXFORD_PET_V1", "OXFORD_PET_V2", "OXFORD_PET_V3", "OXFORD_PET_V4", "OXFORD_PET_V5"]
    with pytest.raises(ValueError, match=f"available: {', '.join(published)}, DEFAULT$"):
        petzoo.unet(weights="V9")


def test_default_moved_to_v9_and_older_versions_still_load():
    w = petzoo.SegNetDSC_Weights
    require_git_history(w.OXFORD_PET_V1.value)  # V1 to V8 left the tree: they load from git history
    assert w.DEFAULT is w.OXFORD_PET_V9  # moved off V8 by publish.py --default-if-better
    assert petzoo.get_weight("SegNetDSC_Weights.DEFAULT") is w.OXFORD_PET_V9
    assert "closeup_default.py" in w.OXFORD_PET_V8.meta["default_reason"]  # V8 had moved off V5 on close-ups
    sys.path.insert(0, str(ROOT / "train_reference"))
    import publish  # the DEFAULT rule itself: better than V8 on both splits in pixel accuracy and mIoU
    assert publish.beats(w.OXFORD_PET_V9.meta["_metrics"], {"name": "OXFORD_PET_V8", "meta": w.OXFORD_PET_V8.meta})[0]
    heads = [petzoo.segnet_dsc(weights=v).state_dict()["classifier.1.weight"]
             for v in ("OXFORD_PET_V1", "OXFORD_PET_V2", "OXFORD_PET_V3", "OXFORD_PET_V5", "OXFORD_PET_V8", "DEFAULT")]
    assert all(not torch.equal(a, b) for a, b in zip(heads, heads[1:]))


def test_fine_tuned_weight_names_its_start_and_its_own_input_size():
    v3 = petzoo.SegNetDSC_Weights.OXFORD_PET_V3
    assert v3.meta["finetuned_from"] == "SegNetDSC_Weights.OXFORD_PET_V2"
    assert "--finetune-from SegNetDSC_Weights.OXFORD_PET_V2" in v3.meta["recipe"]
    assert v3.transforms().size == (v3.meta["image_size"],) * 2 != petzoo.SegNetDSC_Weights.OXFORD_PET_V2.transforms().size
    v5 = petzoo.SegNetDSC_Weights.OXFORD_PET_V5  # distilled from the pretrained tier (issue 22), at V3's size
    assert v5.meta["finetuned_from"] == "SegNetDSC_Weights.OXFORD_PET_V3"
    assert "--teachers UNetEfficientNetLite2_Weights.OXFORD_PET_V1" in v5.meta["recipe"]
    assert v5.transforms().size == v3.transforms().size


def test_verify_accepts_member_default_name_and_qualified_name(trained):
    _, enum, _ = trained
    assert enum.verify(None) is None
    assert enum.verify(enum.V1) is enum.V1
    assert enum.verify("DEFAULT") is enum.V1
    assert enum.verify("V1") is enum.V1
    assert enum.verify("TmpWeights.V1") is enum.V1
    with pytest.raises(ValueError, match="do not belong"):
        enum.verify("SegNet_Weights.V1")
    with pytest.raises(ValueError, match="unknown weights 'V9'"):
        enum.verify("V9")
    with pytest.raises(TypeError):
        enum.verify(3)


def test_weights_attributes_read_through_the_member(trained):
    _, enum, _ = trained
    w = enum.DEFAULT
    assert w.meta["categories"] == ["pet", "background", "border"]
    assert w.url == "https://huggingface.co/petzoo/tmp-segnet-dsc/resolve/main/model.safetensors"
    assert not w.pushed
    assert isinstance(w.transforms(), SegmentationPresetEval)


def test_builder_loads_a_weight_file_strictly(trained):
    model, enum, _ = trained
    loaded = build(SegNet, enum, "DEFAULT", True, None, 3, builder="t", fixed={"separable": True}).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_num_classes_conflicting_with_weights_is_an_error(trained):
    _, enum, _ = trained
    with pytest.raises(ValueError, match="num_classes=5 conflicts"):
        build(SegNet, enum, "DEFAULT", True, 5, 3, builder="t", fixed={"separable": True})


def test_tracked_file_with_wrong_hash_is_reported_not_deleted(trained):
    _, enum, path = trained
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    with pytest.raises(HashMismatchError, match="sha256 is"):
        enum.DEFAULT.get_state_dict()
    assert path.exists()


def test_unpublished_missing_weight_says_so(trained):
    _, enum, path = trained
    path.unlink()
    with pytest.raises(WeightsNotFoundError, match="not published on the Hugging Face Hub yet"):
        enum.DEFAULT.get_state_dict()


def test_weight_meta_schema_matches_the_model(trained):
    _, enum, _ = trained
    check_meta(enum.DEFAULT, build(SegNet, enum, "DEFAULT", True, None, 3, builder="t", fixed={"separable": True}))


def check_meta(weights, model):
    meta = weights.meta
    assert REQUIRED_META <= set(meta), REQUIRED_META - set(meta)
    assert meta["categories"] == petzoo.CATEGORIES
    stats = profile(model, meta["image_size"])
    assert meta["num_params"] == stats["num_params"]
    assert meta["_ops"] == pytest.approx(stats["gmacs"], rel=1e-3)


@pytest.mark.parametrize("name", petzoo.list_models())
def test_every_published_weight_meets_the_schema(name):
    enum = petzoo.get_model_weights(name)
    for member in enum:
        if member.archived:
            require_git_history(member.value)
        check_meta(member, petzoo.get_model(name, weights=member))
        assert petzoo.get_weight(f"{enum.__name__}.{member.name}") is member
