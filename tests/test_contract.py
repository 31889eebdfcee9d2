"""torchvision parity and the layering: the seed snippet, one preprocessing path, no import cycles,
recipes as data, and weights that left the tree loading from git history."""
from __future__ import annotations

import ast
import json
import shlex
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import petzoo
from conftest import ROOT
from petzoo._weights import WeightsNotFoundError, read_manifest, sha256_of, to_weights

sys.path.insert(0, str(ROOT / "train_reference"))
import recipes  # noqa: E402


def photo(h=90, w=160, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_the_seed_snippet_runs_as_written_with_petzoo_names(tmp_path):
    from torchvision.io import read_image

    path = tmp_path / "pet.png"
    Image.fromarray(photo()).save(path)
    img = read_image(str(path))  # uint8 (3, H, W), as in torchvision's docs

    # --- the idiom users copy from torchvision, with petzoo names ---
    weights = petzoo.SegNetDSC_Weights.DEFAULT
    model = petzoo.segnet_dsc(weights=weights)
    model.eval()
    preprocess = weights.transforms()
    batch = preprocess(img).unsqueeze(0)
    prediction = model(batch)  # petzoo returns the logits tensor (torchvision: model(batch)["out"])
    # ---
    size = weights.meta["image_size"]
    assert prediction.shape == (1, len(weights.meta["categories"]), size, size)
    # the preset takes a PIL image, a uint8 tensor or a float tensor in [0, 1] alike
    pil = Image.open(path)
    torch.testing.assert_close(preprocess(pil), preprocess(img))
    # uint8 input is resized in uint8 (rounded): at most one grey level apart after normalisation
    torch.testing.assert_close(preprocess(img.float() / 255), preprocess(img), atol=1.01 / 255 / 0.224, rtol=0)
    assert preprocess(torch.stack([img, img])).shape == (2, 3, size, size)


def test_preset_honours_exif_orientation_as_segment_does(tmp_path):
    upright = photo(64, 128)
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: viewers turn it 90 degrees clockwise
    Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90).save(path, exif=exif, quality=100)
    preprocess = petzoo.UNet_Weights.DEFAULT.transforms()
    from_file = preprocess(Image.open(path))
    from_pixels = preprocess(np.array(Image.open(path).transpose(Image.Transpose.ROTATE_270)))
    torch.testing.assert_close(from_file, from_pixels)
    # segment() goes through the same preset: its mask is that of the preset's tensor, upright
    model = petzoo.unet(weights="DEFAULT").eval()
    mask = petzoo.segment(str(path), model="unet", optimize=False)
    assert mask.shape == upright.shape[:2]
    with torch.no_grad():
        logits = model(from_file[None])[0]
    small = torch.nn.functional.interpolate(
        torch.from_numpy(mask)[None, None].float(), size=logits.shape[-2:], mode="nearest-exact")[0, 0]
    assert (small.long() == logits.argmax(0)).float().mean() > 0.95


@pytest.mark.parametrize("bad, message", [
    (torch.full((3, 8, 8), 2.0), r"float values must lie in \[0, 1\]"),
    (torch.full((3, 8, 8), float("nan")), "NaN or infinite"),
    (torch.zeros(8, 8, 3, dtype=torch.uint8), r"permute\(2, 0, 1\)"),
    (torch.zeros(3, 8, 8, dtype=torch.int32), "expected uint8"),
    (torch.zeros(8, 8), r"expected \(C, H, W\) or \(N, C, H, W\)"),
])
def test_preset_rejects_bad_tensors_in_one_line(bad, message):
    with pytest.raises(ValueError, match=message):
        petzoo.UNet_Weights.DEFAULT.transforms()(bad)


def _petzoo_imports(path, module):
    """Modules of petzoo that ``path`` imports, at top level or inside functions."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("petzoo"):
                found.add(target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("petzoo")}
    return found


def test_petzoo_has_no_import_cycle_and_keeps_its_layers():
    modules = {}
    for path in (ROOT / "petzoo").rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        modules[name] = path
    graph = {name: {t for t in _petzoo_imports(path, name) if t in modules and t != name} for name, path in modules.items()}
    # layers: registry (bottom) <- weights/loading <- hub <- factory
    assert graph["petzoo._registry"] == set()
    assert not graph["petzoo._weights"] & {"petzoo.hub", "petzoo._factory", "petzoo"}
    assert not graph["petzoo.hub"] & {"petzoo._factory", "petzoo"}
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                raise AssertionError("import cycle: " + " -> ".join(stack + [node, nxt]))
            if nxt not in state:
                visit(nxt, stack + [node])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def test_categories_are_defined_once():
    hits = [p for p in (ROOT / "petzoo").rglob("*.py") if '["pet", "background", "border"]' in p.read_text()]
    assert [p.name for p in hits] == ["_registry.py"]


def test_recipes_render_each_published_weights_exact_command():
    checked = 0
    for model, entries in read_manifest().items():
        for entry in entries:
            recipe = entry["meta"]["recipe"]
            name = recipes.FINAL[entry["name"]][model]
            argv = ["--model", model, *recipes.render(recipes.candidates(model)[name])]
            # quoted as the shell needs it (a --model-kwargs JSON has spaces), as train.py records its command
            assert recipe.startswith("python train_reference/train.py " + shlex.join(argv) + " --test-splits ''"), recipe
            checked += 1
    assert checked == sum(len(e) for e in read_manifest().values())


def test_validation_stage_refuses_recipes_with_published_teachers(tmp_path):
    assert recipes.candidates("mobile_fpn")["distill"]["teachers"] == recipes.ENSEMBLE_V1
    with pytest.raises(SystemExit, match="saw the validation images"):
        recipes.commands("val", tmp_path, ["mobile_fpn"], "", ["distill"], "OXFORD_PET_V1")
    final = recipes.commands("final", tmp_path, ["mobile_fpn"], "", [], "OXFORD_PET_V1")["mobile_fpn_distill"]
    at = final.index("--teachers")
    assert final[at + 1:at + 1 + len(recipes.ENSEMBLE_V1)] == recipes.ENSEMBLE_V1 and "--distill" in final


def test_long_recipes_differ_from_short_ones_for_every_model():
    for model in recipes.MODELS:
        c = recipes.candidates(model)
        assert c["ce_long"]["epochs"] != c["ce"]["epochs"] and c["ce_dice_long"]["epochs"] != c["ce_dice"]["epochs"]


def test_weights_folder_keeps_defaults_within_80_mb():
    total = sum(f.stat().st_size for f in (ROOT / "weights").rglob("*") if f.is_file())
    assert total <= 80e6, total
    for model, entries in read_manifest().items():
        for entry in entries:
            in_tree = (ROOT / "weights" / entry["local_dir"]).is_dir()
            assert in_tree != bool(entry.get("archived")), entry["name"]
            if entry.get("default"):
                assert in_tree


def _git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo_with_removed_weight(tmp_path, monkeypatch):
    """A git repo whose first commit holds weights/w_v1/model.safetensors and whose second removed it."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    folder = repo / "weights" / "w_v1"
    folder.mkdir(parents=True)
    model = petzoo.unet(width=4, depth=2)
    petzoo.save_pretrained(model, folder, model_name="unet", image_size=32, builder_kwargs={"width": 4, "depth": 2})
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "weights")
    commit = _git(repo, "rev-parse", "HEAD")
    config = json.loads((folder / "config.json").read_text())
    shutil.rmtree(folder)
    (repo / "weights" / "keep.txt").write_text("the DEFAULTs stay here\n")
    monkeypatch.setenv("PETZOO_WEIGHTS_DIR", str(repo / "weights"))
    monkeypatch.setenv("PETZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    entry = {"local_dir": "w_v1", "hub_repo": "petzoo/w-v1", "sha256": config["sha256"], "size": config["size"],
             "transforms": config["transforms"], "meta": {"categories": petzoo.CATEGORIES, "image_size": 32},
             "builder_kwargs": {"width": 4, "depth": 2}, "archived": {"git_commit": commit, "path": "weights/w_v1"}}
    return repo, entry, model


def test_a_weight_removed_from_the_tree_loads_from_git_history(repo_with_removed_weight, tmp_path):
    repo, entry, model = repo_with_removed_weight
    enum = petzoo.WeightsEnum("W", [("V1", to_weights(entry))])
    state = enum.V1.get_state_dict()
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    cached = list((tmp_path / "cache" / "git-weights").rglob("model.safetensors"))
    assert len(cached) == 1 and sha256_of(cached[0]) == entry["sha256"]
    loaded = petzoo.unet(width=4, depth=2)
    loaded.load_state_dict(enum.V1.get_state_dict())  # second time: from the verified cache


def test_a_removed_weight_outside_a_git_clone_names_its_commit(repo_with_removed_weight):
    repo, entry, _ = repo_with_removed_weight
    shutil.rmtree(repo / ".git")  # e.g. torch.hub's archive download of the repo
    enum = petzoo.WeightsEnum("W", [("V1", to_weights(entry))])
    with pytest.raises(WeightsNotFoundError, match=f"git commit {entry['archived']['git_commit']} .* weights/w_v1"):
        enum.V1.get_state_dict()


def test_a_tampered_history_copy_is_refused(repo_with_removed_weight):
    _, entry, _ = repo_with_removed_weight
    bad = dict(entry, sha256="0" * 64)
    enum = petzoo.WeightsEnum("W", [("V1", to_weights(bad))])
    with pytest.raises(RuntimeError, match="sha256 is"):
        enum.V1.get_state_dict()


def test_semi_validation_arms_differ_only_in_method_and_zoom(tmp_path):
    arms = ["semi_sup", "semi_st", "semi_st_zoom", "semi_fixmatch", "semi_fixmatch_zoom",
            "semi_ft_sup", "semi_ft_st", "semi_ft_fixmatch_zoom", "semi_ft_unimatch_zoom", "semi_ft_distill_zoom"]
    for model in ("unet", "segnet_dsc"):
        cmds = recipes.commands("val", tmp_path, [model], "--seed 1", arms, "OXFORD_PET_V1")
        args = {name[len(model) + 1:]: cmd for name, cmd in cmds.items()}
        for cmd in args.values():  # every arm: validation split, same size and augmentation, the seed passed on
            assert cmd[cmd.index("--val-split") + 1] == "0.1" and cmd[-2:] == ["--seed", "1"]
            assert cmd[cmd.index("--image-size") + 1] == "64" and cmd[cmd.index("--aug") + 1] == "strong"
        st = args["semi_st"]
        # self-training's teacher is this stage's supervised run: trained on the train part only
        assert st[st.index("--teachers-files") + 1] == f"{model}:64:{tmp_path}/{model}_semi_sup/best.safetensors"
        assert "--teachers" not in st and "--semi" not in st
        assert "--zoom" not in st and args["semi_st_zoom"][args["semi_st_zoom"].index("--zoom") + 1] == "2"
        assert args["semi_fixmatch"][args["semi_fixmatch"].index("--semi") + 1] == "fixmatch"
        for arm in ("st", "fixmatch"):  # the zoom arm is its arm plus --zoom 2, nothing else
            zoom, plain = args[f"semi_{arm}_zoom"], args[f"semi_{arm}"]
            at = zoom.index("--zoom")
            assert zoom[at + 1] == "2"
            assert [c.replace(f"_semi_{arm}_zoom", f"_semi_{arm}") for c in zoom[:at] + zoom[at + 2:]] == plain
        assert "--unlabeled-limit" not in args["semi_sup"] and "--unlabeled-limit" not in args["semi_ft_sup"]
        sup = f"{tmp_path}/{model}_semi_sup/best.safetensors"
        for arm in ("semi_ft_sup", "semi_ft_st", "semi_ft_fixmatch_zoom", "semi_ft_distill_zoom"):
            # a fine-tuning round of the same seed's supervised run, as the published V2 weights are of V1
            assert args[arm][args[arm].index("--finetune-from") + 1] == sup
        uni, fix = args["semi_ft_unimatch_zoom"], args["semi_ft_fixmatch_zoom"]  # FixMatch + feature perturbation
        at = uni.index("--semi")
        assert uni[at + 1] == "unimatch" and fix[at + 1] == "fixmatch"
        assert [c.replace("unimatch", "fixmatch") for c in uni] == fix
        distill = args["semi_ft_distill_zoom"]
        assert "--distill" in distill and distill[distill.index("--teachers-files") + 1].endswith(sup)


def test_select_recipe_compares_recipes_on_their_mean_over_seeds(tmp_path, capsys):
    import select_recipe

    def run(folder, name, miou):
        d = tmp_path / folder / name
        d.mkdir(parents=True)
        (d / "metrics.jsonl").write_text(json.dumps({"epoch": 0}) + "\n")
        scores = {"pixel_acc": 0.8, "miou": miou, "seed_iou": 0.6}
        (d / "eval.json").write_text(json.dumps({"results": {"val": {"label_resolution": scores}}}))
        return str(d)

    # "a" wins seed 0 by a little, "b" wins seed 1 by a lot: the mean picks "b"
    runs = [run("s0", "a", 0.62), run("s0", "b", 0.61), run("s1", "a", 0.60), run("s1", "b", 0.65)]
    assert select_recipe.main(runs) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "b" and "miou 0.6300" in lines[0] and "per seed miou 0.6100 0.6500" in lines[0]


def test_select_recipe_names_a_folder_that_is_not_a_run(tmp_path, capsys):
    import select_recipe
    (tmp_path / "empty").mkdir()
    assert select_recipe.main([str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "empty" in err and "metrics.jsonl" in err


def test_unlabeled_limit_spreads_over_the_sorted_split():
    import train
    stems = [f"breed{b}_{i}" for b in range(10) for i in range(30)]
    picked = train.spread(stems, 20)
    assert len(picked) == 20 and len({s.split("_")[0] for s in picked}) == 10 and picked == sorted(picked)
    assert train.spread(stems[:5], 20) == stems[:5]


def test_semi_table_reads_each_arm_and_seed_from_the_runs_logs(tmp_path):
    import semi_table

    def run(seed, arm, miou, args, semi=None, confident=None):
        d = tmp_path / f"s{seed}" / f"unet_{arm}"
        d.mkdir(parents=True)
        row = {"epoch": 0, **({"confident_share": confident} if confident is not None else {})}
        (d / "metrics.jsonl").write_text(json.dumps(row) + "\n")
        scores = {"pixel_acc": 0.8, "miou": miou, "seed_iou": 0.6}
        (d / "eval.json").write_text(json.dumps({"train_minutes": 2.5, "results": {"val": {"label_resolution": scores}}}))
        base = {"epochs": 10, "image_size": 64, "zoom": 1.0, "semi": None, "teachers": [], "teachers_files": []}
        config = {"args": {**base, **args}, "train_size": 450, "val_size": 50, "semi_supervised": semi}
        (d / "config.json").write_text(json.dumps(config))

    for seed, m in ((0, 0.60), (1, 0.64)):
        run(seed, "semi_sup", m, {"epochs": 30})
    run(0, "semi_st", 0.66, {"teachers_files": ["t"], "pseudo_threshold": 0.9},
        {"unlabeled_images": 900, "ignored_share": 0.25})
    run(0, "semi_fixmatch_zoom", 0.7, {"semi": "fixmatch", "pseudo_threshold": 0.95, "zoom": 2.0},
        {"unlabeled_images": 900}, confident=0.5)
    run(0, "semi_ft_distill_zoom", 0.65, {"teachers_files": ["t"], "distill": True, "zoom": 2.0,
                                           "finetune_from": str(tmp_path / "s0" / "unet_semi_sup" / "best.safetensors")},
        {"unlabeled_images": 900})
    out = tmp_path / "table.md"
    assert semi_table.main([str(tmp_path / "s0"), str(tmp_path / "s1"), "--markdown", str(out)]) == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| semi_")]
    assert rows == [
        "| semi_sup | scratch | supervised | - | 0 | 30 | - | 0.6000 | 0.6400 | 0.6200 | 0.8000 | 0.6000 | 2.5 / 2.5 |",
        "| semi_st | scratch | self-training (threshold 0.9) | - | 900 | 10 | 25.0% ignored | 0.6600 | - | 0.6600* | 0.8000* "
        "| 0.6000* | 2.5 |",
        "| semi_fixmatch_zoom | scratch | fixmatch (threshold 0.95) | 2x | 900 | 10 | 50.0% confident (last epoch) | 0.7000 "
        "| - | 0.7000* | 0.8000* | 0.6000* | 2.5 |",
        "| semi_ft_distill_zoom | unet_semi_sup | distillation (soft targets) | 2x | 900 | 10 | - | 0.6500 | - | 0.6500* "
        "| 0.8000* | 0.6000* | 2.5 |",
    ]
    assert "64 px, 900 photos of the unlabeled split" in out.read_text()
    assert semi_table.main([str(tmp_path / "nowhere")]) == 2


def test_pretrained_teacher_arms_use_the_seeds_own_fold_teacher_and_equal_samples(tmp_path):
    arms = ["semi_ft128_sup", "semi_ft128_ptdistill", "semi_ft128_ptdistill_zoom", "semi_ft128_ptdistill_lab"]
    cmds = recipes.commands("val", tmp_path, ["unet"], "--seed 1", arms, "OXFORD_PET_V1")
    args = {name[len("unet_"):]: cmd for name, cmd in cmds.items()}

    def value(cmd, flag):
        return cmd[cmd.index(flag) + 1] if flag in cmd else None

    labeled = 450
    for name, cmd in args.items():
        # every arm continues the same seed's supervised start at 128 px on the validation split
        assert value(cmd, "--finetune-from") == f"{tmp_path}/unet_semi_sup/best.safetensors"
        assert value(cmd, "--image-size") == "128" and value(cmd, "--val-split") == "0.1"
        images = labeled + int(value(cmd, "--unlabeled-limit") or 0)
        assert images * int(value(cmd, "--epochs")) == labeled * 15, name  # equal samples
        if name != "semi_ft128_sup":  # the teacher never saw this seed's validation images
            assert value(cmd, "--teachers-files") == \
                f"unet_efficientnet_lite2:192:{tmp_path}/unet_efficientnet_lite2_pt192/best.safetensors"
            assert "--teachers" not in cmd and "--distill" in cmd
    assert value(args["semi_ft128_ptdistill_zoom"], "--zoom") == "2" and "--zoom" not in args["semi_ft128_ptdistill"]
    assert value(args["semi_ft128_ptdistill_lab"], "--distill-labeled") == "0.5"


def test_each_seed_family_has_a_ptdistill_round_from_its_earlier_default():
    for model in ("fcn", "segnet", "segnet_dsc", "unet", "vit_seg", "mobile_fpn"):
        recipe = recipes.candidates(model)["ptdistill_ft"]
        start = petzoo.get_weight(recipe["finetune-from"])
        assert type(start) is petzoo.get_model_weights(model)
        assert recipe["image-size"] == str(start.meta["image_size"])  # at the start's own resolution
        assert recipe["teachers"] == [recipes.PT_TEACHER] and recipe["pseudo-size"] == "256"
        versions = [v for v, chosen in recipes.FINAL.items() if chosen.get(model) == "ptdistill_ft"]
        assert len(versions) == 1 and versions[0] not in ("OXFORD_PET_V1", start.name)
        enum = petzoo.get_model_weights(model)
        if versions[0] in enum.__members__:  # published: its meta says where it came from and how
            new = enum[versions[0]]
            assert new.meta["finetuned_from"] == recipe["finetune-from"]
            assert f"--teachers {recipes.PT_TEACHER}" in new.meta["recipe"]


def test_pretrained_table_reads_each_arm_against_its_control_seed_by_seed(tmp_path):
    import pretrained_table

    def run(seed, recipe, miou, loss="ce", model_kwargs="{}"):
        folder = tmp_path / f"s{seed}" / f"fpn_efficientnet_lite0_{recipe}"
        folder.mkdir(parents=True)
        args = {"model": "fpn_efficientnet_lite0", "image_size": 128, "epochs": 9, "lr": 2.5e-4, "loss": loss,
                "finetune_from": None, "weights_backbone": "IMAGENET1K", "model_kwargs": model_kwargs}
        (folder / "config.json").write_text(json.dumps({"args": args, "train_size": 450}))
        (folder / "metrics.jsonl").write_text(json.dumps({"epoch": 0}) + "\n")
        scores = {"pixel_acc": 0.9, "miou": miou, "seed_iou": 0.7}
        (folder / "eval.json").write_text(json.dumps({"train_minutes": 1.0,
                                                      "results": {"val": {"label_resolution": scores}}}))

    run(0, "ft", 0.70), run(1, "ft", 0.72), run(0, "ft_dice", 0.71, "ce+dice"), run(1, "ft_dice", 0.715, "ce+dice")
    run(0, "lonely", 0.5, model_kwargs='{"encoder_depths": [1, 1, 2, 3, 3], "decoder_channels": 32}')
    # ("lonely": no control named: no difference; a control with no run in the folder: none either)
    rows = {r["recipe"]: r for r in pretrained_table.table([tmp_path / "s0", tmp_path / "s1"],
                                                             {"ft_dice": "ft", "lonely": "missing",
                                                              "unet_efficientnet_lite2:ft_dice": "lonely",
                                                              "fpn_efficientnet_lite0:ft": "ft_dice"})}
    assert rows["ft_dice"]["against"] == "ft" and rows["ft_dice"]["Δ val mIoU per seed (pt)"] == "+1.00 / -0.50"
    assert rows["ft_dice"]["loss"] == "ce+dice"
    # "model:recipe" keys apply to that model's runs only
    assert rows["ft"]["against"] == "ft_dice" and rows["ft"]["Δ val mIoU per seed (pt)"] == "-1.00 / +0.50"
    assert rows["lonely"]["Δ val mIoU per seed (pt)"] == "-" and rows["lonely"]["seeds"] == "1"
    assert rows["lonely"]["builder options"] == "encoder_depths=[1, 1, 2, 3, 3], decoder_channels=32"
    assert rows["ft"]["builder options"] == "defaults"
    assert "against" not in pretrained_table.table([tmp_path / "s0"])[0]  # the first table has no such columns
    # every arm named in recipes.ST_CONTROLS and its control are recipes of the same model
    for arm, control in recipes.ST_CONTROLS.items():
        model, _, arm = arm.rpartition(":")
        models = [model] if model else [m for m in ("unet_efficientnet_lite2", "fpn_efficientnet_lite0")
                                         if arm in recipes.candidates(m)]
        assert models and all(arm in recipes.candidates(m) and control in recipes.candidates(m) for m in models), \
            (arm, control)


def benchmark_module(name: str):
    """benchmarks/<name>.py as a module (its sibling benchmark modules importable, as when it runs as a script)."""
    import importlib.util

    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_logit_grid_scores_each_grid_and_its_own_resolution_best_at_a_fine_grid(synthetic_root, capsys):
    """benchmarks/logit_grid.py: one row per grid plus the weight's own resolution; a 1 x 1 grid (one class per
    photo) cannot beat the weight's own logits, and a grid size below 1 is refused in one line."""
    logit_grid = benchmark_module("logit_grid")
    assert logit_grid.main(["--weight", "FPNEfficientNetLite0_Weights.OXFORD_PET_V9", "--grids", "1",
                            "--data-path", str(synthetic_root), "--threads", "1"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 1") or "(own)" in line]
    own, one = (float(r.split("|")[2].strip(" %")) for r in rows)
    assert rows[0].startswith("| 128 x 128 (own)") and rows[1].startswith("| 1 x 1 |") and own >= one
    with pytest.raises(SystemExit):
        logit_grid.main(["--grids", "0"])
    assert "--grids: sizes must be >= 1, got [0]" in capsys.readouterr().err


def test_fast_model_expansions_arg_builds_the_design_or_names_what_is_wrong():
    """benchmarks/fast_model.py --expansions: a JSON object of encoder_expansions the builder accepts comes back as
    it is; anything else is one argparse error naming the value and why."""
    import argparse

    fast_model = benchmark_module("fast_model")
    assert fast_model.expansions_arg('{"1.0": 64, "1.1": 96}') == {"1.0": 64, "1.1": 96}
    for value, why in [('{"1.0": 7000}', "block's 96 channels"), ("x", "Expecting value"),
                       ('{"9.9": 7}', "not an inverted-residual block"), ("[1]", "must map 'stage.block'")]:
        with pytest.raises(argparse.ArgumentTypeError, match="expected a JSON object") as err:
            fast_model.expansions_arg(value)
        assert repr(value) in str(err.value) and why in str(err.value) and "\n" not in str(err.value)


def test_fast_model_target_verdict_names_each_part_that_fails():
    """benchmarks/fast_model.py's per-weight target line: met only at the table's size, >= 90.5 % test and >= 1.0x
    LR-ASPP in all three readings; otherwise it names each failing part with its number."""
    from types import SimpleNamespace

    fast_model = benchmark_module("fast_model")

    def weight(acc, px):
        return SimpleNamespace(meta={"_metrics": {"test": {"pixel_acc": acc}}, "image_size": px})

    def verdict_of(w, ratios):
        return fast_model.target_verdict(w, fast_model.target_misses(w, 128, ratios))

    fast = {("passes", "b1 speed x lraspp"): 1.5, ("passes", "b32 x lraspp"): 1.3, ("fused", "b32 x lraspp"): 1.2}
    assert fast_model.target_misses(weight(0.905013, 128), 128, fast) == []
    assert verdict_of(weight(0.905013, 128), fast) == "test 90.501 % at 128 px: target met"
    assert verdict_of(weight(0.90484, 128), fast).endswith("(test 90.484 % < 90.5 %)")
    slow = {**fast, ("fused", "b32 x lraspp"): 0.86}
    verdict = verdict_of(weight(0.9117, 192), slow)
    assert verdict.startswith("test 91.170 % at 192 px: target not met (")
    assert "its input is 192 px, not 128" in verdict and "fused b32 0.86x < 1.0x" in verdict
    assert "passes" not in verdict
