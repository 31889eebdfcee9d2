"""The published weights: offline loading, recorded metrics, publishing a run."""
from __future__ import annotations

import json
import sys

import pytest
import torch

import petzoo
from conftest import ROOT, require_git_history
from petzoo._weights import read_manifest, to_weights
from petzoo.hub import sha256_of, weights_root

sys.path.insert(0, str(ROOT / "train_reference"))
import huggingface_hub  # noqa: E402
import publish  # noqa: E402
import train  # noqa: E402
from petzoo.hub import find_weights_file, load_weights_file  # noqa: E402


@pytest.mark.parametrize("name", petzoo.list_models())
def test_default_weights_load_offline_from_the_checkout(name, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    weights = petzoo.get_model_weights(name).DEFAULT
    model = petzoo.get_model(name, weights="DEFAULT").eval()
    x = weights.transforms()(torch.randint(0, 256, (3, 200, 300), dtype=torch.uint8))[None]
    assert x.shape[-2:] == (weights.meta["image_size"],) * 2
    with torch.no_grad():
        assert model(x).shape == (1, 3, *x.shape[-2:])


def test_manifest_matches_the_weight_folders():
    total = 0
    for model, entries in read_manifest().items():
        for entry in entries:
            if entry.get("archived"):  # left the tree: checked against git history in test_archived_weights_load
                continue
            folder = weights_root() / entry["local_dir"]
            path = folder / entry["filename"]
            assert sha256_of(path) == entry["sha256"] and path.stat().st_size == entry["size"]
            config = json.loads((folder / "config.json").read_text())
            assert config["_metrics"] == entry["meta"]["_metrics"]
            card = (folder / "README.md").read_text()
            assert card.startswith("---\n") and '"license": "cc-by-sa-4.0"' in card
            assert '"pipeline_tag": "image-segmentation"' in card and "model-index" in card
            total += sum(f.stat().st_size for f in folder.iterdir())
    assert total <= 80e6


@pytest.mark.parametrize("entry", [e for es in read_manifest().values() for e in es if e.get("archived")],
                         ids=lambda e: f"{e['enum']}.{e['name']}")
def test_archived_weights_load_from_git_history(entry, tmp_path, monkeypatch):
    require_git_history(entry)
    monkeypatch.setenv("PETZOO_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not (weights_root() / entry["local_dir"]).exists()
    path = find_weights_file(to_weights(entry))
    assert sha256_of(path) == entry["sha256"] and path.stat().st_size == entry["size"]


@pytest.mark.slow
def test_segnet_dsc_reevaluated_on_test_matches_its_recorded_accuracy(data_root):
    weights = petzoo.SegNetDSC_Weights.DEFAULT
    res = train.main(train.get_args_parser().parse_args([
        "--model", "segnet_dsc", "--data-path", str(data_root), "--test-only", "--weights", "SegNetDSC_Weights.DEFAULT",
        "--image-size", str(weights.meta["image_size"]), "--test-splits", "test", "--no-progress", "--device", "cpu",
    ]))
    measured = res["test"]["label_resolution"]["pixel_acc"]
    assert measured == pytest.approx(weights.meta["_metrics"]["test"]["pixel_acc"], abs=0.0005)


def test_publish_dry_run_writes_a_loadable_hub_folder(synthetic_root, tmp_path, monkeypatch):
    (synthetic_root / "annotations" / "other_breeds.txt").write_text(
        (synthetic_root / "annotations" / "test.txt").read_text())
    run = tmp_path / "run"
    argv = ["--model", "segnet_dsc", "--data-path", str(synthetic_root), "--image-size", "32", "--epochs", "1",
            "--batch-size", "4", "--no-progress", "--test-splits", "", "--output-dir", str(run)]
    train.main(train.get_args_parser().parse_args(argv), argv)
    out, manifest = tmp_path / "weights", tmp_path / "weights.json"
    publish_args = [str(run), "--device", "cpu", "--data-path", str(synthetic_root), "--weights-dir", str(out),
                    "--manifest", str(manifest)]
    pushes = []

    class FakeApi:  # what --push would send to the Hub
        def create_repo(self, repo_id, **kw):
            pushes.append(("create_repo", repo_id, kw))

        def upload_folder(self, **kw):
            pushes.append(("upload_folder", kw))
            return type("Commit", (), {"oid": "c0ffee" * 6 + "abcd"})()

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    assert publish.main([*publish_args, "--dry-run", "--push", "petzoo/x"]) == 0
    assert pushes == []  # --dry-run never uploads
    entry = json.loads(manifest.read_text())["segnet_dsc"][0]
    assert entry["revision"] is None and entry["default"] and entry["meta"]["_storage_dtype"] == "float16"
    assert entry["meta"]["recipe"].startswith("python train_reference/train.py --model segnet_dsc")
    assert set(entry["meta"]["_metrics"]["test"]) >= {"pixel_acc", "miou", "seed_iou", "iou"}
    test_photos = len((synthetic_root / "annotations" / "test.txt").read_text().splitlines())
    closeups = entry["meta"]["_closeup"]  # one test photo in 4, its centre half of each side
    assert closeups["crops"] == len(range(0, test_photos, 4)) and (closeups["every"], closeups["zoom"]) == (4, 2.0)
    assert 0 <= closeups["pixel_acc"] <= 1 and 0 <= closeups["miou"] <= 1
    monkeypatch.setenv("PETZOO_WEIGHTS_DIR", str(out))
    model = petzoo.segnet_dsc()
    model.load_state_dict(load_weights_file(to_weights(entry)), strict=True)
    assert all(v.dtype == torch.float32 for v in model.state_dict().values() if v.is_floating_point())
    # the folder round-trips through from_pretrained
    again = petzoo.from_pretrained(out / entry["local_dir"]).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(again(x), model.eval()(x))

    assert publish.main([*publish_args, "--push", "petzoo/segnet-dsc-test"]) == 0
    folder = str(out / entry["local_dir"])
    assert pushes == [
        ("create_repo", "petzoo/segnet-dsc-test", {"repo_type": "model", "exist_ok": True}),
        ("upload_folder", {"repo_id": "petzoo/segnet-dsc-test", "folder_path": folder, "repo_type": "model"}),
    ]
    pushed = json.loads(manifest.read_text())["segnet_dsc"][0]
    assert pushed["hub_repo"] == "petzoo/segnet-dsc-test" and pushed["revision"] == "c0ffee" * 6 + "abcd"
