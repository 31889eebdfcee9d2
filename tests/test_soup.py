"""train_reference/soup.py: the average of published weights of one lineage, as a run folder for publish.py."""
from __future__ import annotations

import json
import sys

import pytest
import torch
from safetensors.torch import load_file

import petzoo
from conftest import ROOT

sys.path.insert(0, str(ROOT / "train_reference"))
import publish  # noqa: E402
import soup  # noqa: E402


def test_soup_of_published_weights_is_their_mean(tmp_path):
    out = tmp_path / "soup"
    # V3 left the tree: it loads from git history like any archived weight
    assert soup.main(["unet_efficientnet_lite2", "OXFORD_PET_V1", "OXFORD_PET_V3", "--out", str(out)]) == 0
    W = petzoo.UNetEfficientNetLite2_Weights
    states = [petzoo.unet_efficientnet_lite2(weights=w).state_dict() for w in (W.OXFORD_PET_V1, W.OXFORD_PET_V3)]
    mixed = load_file(str(out / "best.safetensors"))
    assert set(mixed) == set(states[0])
    for k, v in mixed.items():
        if v.is_floating_point():
            torch.testing.assert_close(v, (states[0][k].float() + states[1][k].float()) / 2)
        else:
            assert torch.equal(v, states[0][k])
    differs = [k for k in mixed if mixed[k].is_floating_point() and not torch.equal(states[0][k], states[1][k])]
    assert differs, "the two ingredients should differ somewhere"
    config = json.loads((out / "config.json").read_text())
    assert config["soup"]["root"] == "UNetEfficientNetLite2_Weights.OXFORD_PET_V1"
    assert [i["sha256"] for i in config["soup"]["ingredients"]] == [W.OXFORD_PET_V1.value.sha256,
                                                                    W.OXFORD_PET_V3.value.sha256]
    assert config["soup"]["backbone"] == W.OXFORD_PET_V1.meta["backbone"]
    assert config["command"].startswith("python train_reference/soup.py unet_efficientnet_lite2 OXFORD_PET_V1")
    run = json.loads((out / "eval.json").read_text())
    assert run["train_minutes"] == pytest.approx(W.OXFORD_PET_V1.meta["train_minutes"]
                                                 + W.OXFORD_PET_V3.meta["train_minutes"], abs=0.01)
    assert run["image_size"] == 256
    # what publish.py will say of it
    docs = publish.describe("unet_efficientnet_lite2", None, 256, None, config["soup"]["backbone"], config["soup"])
    assert "uniform average" in docs and "OXFORD_PET_V3" in docs and "ImageNet" in docs
    # nothing is overwritten
    with pytest.raises(SystemExit, match="exists"):
        soup.main(["unet_efficientnet_lite2", "OXFORD_PET_V1", "OXFORD_PET_V3", "--out", str(out)])


def test_soup_of_a_chain_of_rounds(tmp_path):
    """Rounds each fine-tuned from the one before (V16 from V15) are one lineage too: the first is the root, and the
    soup carries what every round learnt from (its teacher and unlabeled photos) and the ImageNet encoder that the
    root's own fine-tuning chain started from."""
    out = tmp_path / "chain"
    assert soup.main(["fpn_efficientnet_lite0", "OXFORD_PET_V16", "OXFORD_PET_V15", "--out", str(out)]) == 0
    W = petzoo.FPNEfficientNetLite0_Weights
    config = json.loads((out / "config.json").read_text())
    assert config["soup"]["root"] == "FPNEfficientNetLite0_Weights.OXFORD_PET_V15"
    assert config["soup"]["semi_supervised"] == W.OXFORD_PET_V16.meta["semi_supervised"]
    assert config["soup"]["backbone"] == W.OXFORD_PET_V1.meta["backbone"]
    assert json.loads(config["args"]["model_kwargs"]) == W.OXFORD_PET_V16.value.builder_kwargs
    docs = publish.describe("fpn_efficientnet_lite0", None, 128, None, config["soup"]["backbone"], config["soup"])
    assert "2684 unlabeled photos" in docs and "ImageNet" in docs


@pytest.mark.parametrize("argv, message", [
    (["unet_efficientnet_lite2", "OXFORD_PET_V1"], "two or more different weights"),
    (["unet_efficientnet_lite2", "OXFORD_PET_V1", "OXFORD_PET_V1"], "two or more different weights"),
    (["unet_efficientnet_lite2", "OXFORD_PET_V1", "OXFORD_PET_V9"], "has no weight OXFORD_PET_V9"),
    (["no_such_model", "OXFORD_PET_V1", "OXFORD_PET_V2"], "no model 'no_such_model'"),
    # two fine-tunes of V1 without V1 itself: two ingredients start outside the soup
    (["unet_efficientnet_lite2", "OXFORD_PET_V2", "OXFORD_PET_V3"], "exactly one ingredient must start the lineage"),
    # V6 was fine-tuned from V5 (a chain), but V5 from V4, and V1 from scratch: two starts
    (["unet", "OXFORD_PET_V6", "OXFORD_PET_V5", "OXFORD_PET_V1"], "2 of .* start outside it: OXFORD_PET_V5, OXFORD_PET_V1"),
])
def test_soup_refuses_what_is_not_one_lineage(tmp_path, argv, message):
    with pytest.raises(SystemExit, match=message):
        soup.main(argv + ["--out", str(tmp_path / "x")])
    assert not (tmp_path / "x").exists()


def test_average_checks_shapes():
    a = {"w": torch.ones(2), "n": torch.tensor(3)}
    b = {"w": torch.zeros(2), "n": torch.tensor(5)}
    mean = soup.average([a, b])
    assert torch.equal(mean["w"], torch.full((2,), 0.5)) and int(mean["n"]) == 3
    with pytest.raises(SystemExit, match="does not match"):
        soup.average([a, {"w": torch.ones(3), "n": torch.tensor(1)}])


def test_soup_folder_is_whole_or_absent(tmp_path, monkeypatch):
    def broken(path, obj):
        raise OSError(f"disk full writing {path.name}")

    monkeypatch.setattr(soup, "write_json", broken)
    with pytest.raises(OSError, match="disk full"):
        soup.main(["unet_efficientnet_lite2", "OXFORD_PET_V1", "OXFORD_PET_V2", "--out", str(tmp_path / "s")])
    assert list(tmp_path.iterdir()) == []
