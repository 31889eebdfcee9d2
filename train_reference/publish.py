"""Turn a training run into a published petzoo weight (a Hugging Face model-repo folder).

    python train_reference/publish.py runs/final/segnet_dsc_ce --dry-run
    python train_reference/publish.py runs/final/segnet_dsc_ce --push petzoo/segnet_dsc-oxford-pet-v1

Evaluates the run's best.safetensors on test and other_breeds, and on close-ups (benchmarks/closeup.py: 2x
centre crops of one test photo in 4); stores fp16 when that changes test pixel accuracy by < 0.05 pt; writes
weights/<name>/ (model.safetensors, config.json, README.md) and the entry of petzoo/weights.json that the weight
enums are built from. Every number written comes from this evaluation. With --default-if-better the weight
becomes DEFAULT only if it beats the current DEFAULT on test and other_breeds (pixel accuracy and mIoU) and
scores no lower than it on the close-ups (measured here on the same crops): the whole-photo splits alone let a
round that lost close-ups through (issue 22).
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

import petzoo
from petzoo._io import atomic_write, write_json
from petzoo._weights import MANIFEST
from petzoo.datasets import OxfordIIITPet
from petzoo.engine import evaluate_splits, oxford_splits
from petzoo.hub import WEIGHTS_NAME, save_pretrained, to_float32
from petzoo.inference import prepare_for_inference
from petzoo.profile import describe_device, profile
from petzoo.transforms import IMAGENET_MEAN, IMAGENET_STD, SegmentationPresetEval

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import closeup  # noqa: E402

#: config.json keys that describe the folder rather than the weight's meta.
FOLDER_ONLY_KEYS = ("model", "builder_kwargs", "transforms", "sha256", "size", "petzoo_version")


REPO = Path(__file__).resolve().parent.parent
FP16_TOLERANCE_PT = 0.05
SPLITS = ("test", "other_breeds")
DATASET_CREDIT = (
    "Oxford-IIIT Pet (O. M. Parkhi, A. Vedaldi, A. Zisserman, C. V. Jawahar, \"Cats and Dogs\", "
    "CVPR 2012), CC BY-SA 4.0"
)


def eval_preset(size: int, interpolation: str) -> SegmentationPresetEval:
    """The preprocessing the published weight's ``transforms()`` will build (ImageNet mean/std at ``size``)."""
    return SegmentationPresetEval(size, IMAGENET_MEAN, IMAGENET_STD, interpolation)


def evaluate(model, state, size, interpolation, data_path, device, splits):
    model.load_state_dict(to_float32(state), strict=True)
    prep = eval_preset(size, interpolation)
    return evaluate_splits(model.to(device), oxford_splits(data_path, splits), prep, device, progress=False, report=None)


def semi_supervised_meta(cfg: dict) -> dict:
    """What a semi-supervised run learnt from (method, teachers, unlabeled images, threshold), from its config."""
    semi, targs = cfg.get("semi_supervised"), cfg["args"]
    if not semi:
        return {}
    if semi.get("method") in ("fixmatch", "unimatch"):
        name = {"fixmatch": "FixMatch", "unimatch": "UniMatch: FixMatch plus feature perturbation"}[semi["method"]]
        method = f"online weak-to-strong consistency ({name}, threshold {semi['threshold']})"
        teachers = {"teachers": []}
    else:
        method = "offline " + ("distillation from the teachers' soft predictions" if targs.get("distill")
                               else f"self-training on hard pseudo-labels (threshold {targs['pseudo_threshold']})")
        teachers = {"teachers": semi["teacher_names"], "teacher_sha256": semi["teachers"], "teacher_flip_tta": semi["tta"]}
    return {"semi_supervised": {
        "method": f"{method} on labeled + unlabeled photos",
        **teachers,
        "labeled_images": semi["labeled_images"], "unlabeled_images": semi["unlabeled_images"],
        "unlabeled_split": "official trainval photos without a trimap, held-out breeds excluded (never official test)",
        "unlabeled_fingerprint": semi["unlabeled_fingerprint"],
        **{k: semi[k] for k in ("threshold", "ignored_share") if k in semi},
        "augmentation": {"aug": targs["aug"], "zoom": targs["zoom"], "cutmix": targs["cutmix"]},
    }}


def backbone_meta(targs: dict, model) -> dict:
    """The ImageNet encoder a run started from (--weights-backbone): package, version, sha256, pretraining."""
    if not targs.get("weights_backbone"):
        return {}
    return {"backbone": model.backbone_weights_enum.verify(targs["weights_backbone"]).value.provenance()}


def describe(model_name: str, finetuned_from, size: int, semi: dict = None, backbone: dict = None,
             soup: dict = None) -> str:
    """The weight's one-line ``_docs``."""
    data = "the 500 labeled trainval images of the shared Oxford-IIIT Pet copy"

    def unlabeled(semi: dict) -> str:  # what a semi-supervised run added to the labels
        how = semi["method"].split(" on ")[0]
        learnt = f"{how} of {len(semi['teachers'])} petzoo weight(s)" if semi["teachers"] else how
        return f" plus {semi['unlabeled_images']} unlabeled photos, {learnt}"

    if soup:
        names = ", ".join(i["weight"] for i in soup["ingredients"])
        encoder = (f"; its {backbone['arch']} encoder started from ImageNet weights ({backbone['package']} "
                   f"{backbone['package_version']})" if backbone else "")
        added = unlabeled(soup["semi_supervised"]) if soup.get("semi_supervised") else ""
        return (f"{model_name}: the uniform average of the parameters of {names} (a model soup), each trained on "
                f"{data}{added}{encoder}.")
    if backbone:
        return (f"{model_name}: its {backbone['arch']} encoder starts from ImageNet weights "
                f"({backbone['package']} {backbone['package_version']}), then trained on {data}.")
    if semi:
        start = f"{finetuned_from} fine-tuned at {size} px" if finetuned_from else "trained from scratch"
        return f"{model_name} {start} on {data}{unlabeled(semi)}."
    if finetuned_from:
        return f"{model_name}: {finetuned_from} fine-tuned at {size} px on {data} (its recipe is in that weight's meta)."
    return f"{model_name} trained from scratch on {data}."


def closeup_row(c) -> str:
    """The model card's line for meta ``_closeup`` (weights published before it was measured have none)."""
    if not c:
        return ""
    return (f"| close-ups: centre 1/{c['zoom']:g} of each side of one {c['split']} photo in {c['every']} "
            f"(benchmarks/closeup.py) | {c['crops']} | {c['pixel_acc'] * 100:.2f} % | {c['miou']:.4f} | | |\n")


def model_card(entry: dict) -> str:
    m = entry["meta"]
    test = m["_metrics"]["test"]
    other = m["_metrics"]["other_breeds"]
    yaml = {
        "license": "cc-by-sa-4.0",
        "library_name": "petzoo",
        "pipeline_tag": "image-segmentation",
        "tags": ["image-segmentation", "semantic-segmentation", "oxford-iiit-pet", entry["model"]],
        "datasets": ["oxford-iiit-pet"],
        "model-index": [{
            "name": entry["hub_repo"],
            "results": [{
                "task": {"type": "image-segmentation", "name": "Semantic segmentation"},
                "dataset": {"type": "oxford-iiit-pet", "name": f"Oxford-IIIT Pet, labeled subset, {split}", "split": split},
                "metrics": [
                    {"type": "accuracy", "name": "pixel accuracy", "value": round(res["pixel_acc"] * 100, 2)},
                    {"type": "mean_iou", "name": "mIoU", "value": round(res["miou"], 4)},
                ],
            } for split, res in (("test", test), ("other_breeds", other))],
        }],
    }
    header = json.dumps(yaml, indent=1)  # JSON is valid YAML
    semi = m.get("semi_supervised")
    learnt = (
        f"\nSemi-supervised: {semi['method']}: {semi['labeled_images']} labeled and {semi['unlabeled_images']} "
        f"unlabeled photos ({semi['unlabeled_split']}); teachers: {', '.join(semi['teachers'])}"
        f"{' with horizontal-flip averaging' if semi['teacher_flip_tta'] else ''}"
        + (f"; pixels below {semi['threshold']} ignored ({semi['ignored_share'] * 100:.1f} %)" if 'threshold' in semi else "")
        + ".\n" if semi else ""
    )
    bb = m.get("backbone")
    pretrained = (
        f"\nEncoder: `{bb['arch']}` (timm's architecture) starting from {bb['pretraining']}, file from the PyPI "
        f"package `{bb['package']}` {bb['package_version']} (sha256 {bb['sha256']}, {bb['license']}); install it "
        "(`pip install \"petzoo[train]\"`) only to retrain: this file holds the whole model.\n" if bb else ""
    )
    start = (
        f"\nIt starts from `{m['finetuned_from']}`: train that weight first (its model card gives the command).\n"
        if m.get("finetuned_from") else ""
    )
    if m.get("soup"):
        start = (f"\nIt averages {', '.join('`' + i['weight'] + '`' for i in m['soup']['ingredients'])}: train those "
                 "first (each model card gives its command); the minutes above are theirs added up.\n")
    return f"""---
{header}
---
# {entry['hub_repo']}

`petzoo.{entry['model']}(weights="{entry['enum']}.{entry['name']}")` — {m['_docs']}

Classes: {', '.join(m['categories'])} (trimap values 1, 2, 3). Input: {m['image_size']} px,
{entry['transforms']['interpolation']} resize, ImageNet mean/std normalisation.
{m['num_params'] / 1e6:.2f} M parameters, {m['_ops']:.3g} GMACs per image.

## Results (labeled subset: 500 train / 467 test; metrics at label resolution)

| split | images | pixel acc | mIoU | seed IoU | IoU pet / background / border |
|---|---|---|---|---|---|
| test | {m['_metrics']['test_images']} | {test['pixel_acc'] * 100:.2f} % | {test['miou']:.4f} | {test['seed_iou']:.4f} | {' / '.join(f"{v:.3f}" for v in test['iou'].values())} |
| other_breeds (breeds never trained on) | {m['_metrics']['other_breeds_images']} | {other['pixel_acc'] * 100:.2f} % | {other['miou']:.4f} | {other['seed_iou']:.4f} | {' / '.join(f"{v:.3f}" for v in other['iou'].values())} |
{closeup_row(m.get('_closeup'))}
Not comparable one-to-one with results on the full official split.

## Intended use and limits
Segmenting a single cat or dog in a photo (cut-outs, background replacement).
Trained on only 500 labeled images of 5 breeds (Abyssinian, american_bulldog,
american_pit_bull_terrier, basset_hound, beagle) at {m['image_size']} px; expect
lower quality on other breeds, other animals, several pets, or unusual framing.
{learnt}{pretrained}
## Reproduce
Training ({m['train_minutes']:.1f} min on {m['train_hardware']}):

    {m['recipe']}

then `python train_reference/publish.py <run dir>`.
{start}
## Data and licence
Trained on {DATASET_CREDIT}. These weights are licensed CC BY-SA 4.0.{
" The ImageNet encoder weights they started from are " + bb['license'] + " (" + bb['package'] + ")." if bb else ""}
"""


def beats(metrics: dict, current) -> tuple:
    """(whether ``metrics`` beat the ``current`` DEFAULT manifest entry on every split in pixel accuracy and
    mIoU, the comparison in words)."""
    if current is None:
        return True, "DEFAULT: no earlier DEFAULT, this weight becomes it"
    old = current["meta"]["_metrics"]
    losses = [f"{s} {k} {metrics[s][k]:.4f} <= {old[s][k]:.4f}"
              for s in SPLITS for k in ("pixel_acc", "miou") if metrics[s][k] <= old[s][k]]
    if losses:
        return False, f"DEFAULT stays {current['name']}: " + ", ".join(losses)
    return True, f"DEFAULT moves from {current['name']}: better on {', '.join(SPLITS)} in pixel_acc and miou"


def closeups_hold(new: dict, current, current_closeup: dict) -> tuple:
    """(whether the ``new`` close-up score is no lower than the ``current`` DEFAULT's in pixel accuracy and mIoU,
    the comparison in words)."""
    losses = [f"close-ups {k} {new[k]:.4f} < {current_closeup[k]:.4f}"
              for k in ("pixel_acc", "miou") if new[k] < current_closeup[k]]
    if losses:
        return False, f"DEFAULT stays {current['name']}: " + ", ".join(losses)
    return True, (f"close-ups {new['pixel_acc'] * 100:.2f} % / {new['miou']:.4f} against {current['name']}'s "
                  f"{current_closeup['pixel_acc'] * 100:.2f} % / {current_closeup['miou']:.4f}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", type=Path)
    p.add_argument("--name", default="OXFORD_PET_V1", help="enum member name")
    p.add_argument("--hub-org", default="petzoo")
    p.add_argument("--no-default", action="store_true", help="do not move DEFAULT to this weight")
    p.add_argument("--default-if-better", action="store_true",
                   help="move DEFAULT only if this weight beats the current DEFAULT on every split in pixel accuracy "
                        "and mIoU (else publish it beside DEFAULT)")
    p.add_argument("--data-path", default=None)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--weights-dir", type=Path, default=REPO / "weights")
    p.add_argument("--manifest", type=Path, default=MANIFEST, help="weight manifest to update")
    p.add_argument("--push", default=None, metavar="ORG/NAME", help="upload the folder to this Hub repo")
    p.add_argument("--dry-run", action="store_true", help="write the folder only; never upload")
    args = p.parse_args(argv)

    cfg = json.loads((args.run_dir / "config.json").read_text())
    run_eval = json.loads((args.run_dir / "eval.json").read_text())
    targs = cfg["args"]
    model_name, kwargs = targs["model"], json.loads(targs["model_kwargs"])
    size = run_eval["image_size"]
    interpolation = targs["interpolation"]
    device = torch.device(args.device)
    model = petzoo.get_model(model_name, **kwargs).eval()
    kwargs = model.builder_kwargs  # the full configuration the builder used (e.g. a ViT config expanded)
    state = load_file(str(args.run_dir / "best.safetensors"))

    semi = semi_supervised_meta(cfg)
    soup = cfg.get("soup")  # train_reference/soup.py: an average of published weights, not a training run
    if soup and soup.get("semi_supervised"):  # what every ingredient learnt from besides the labels
        semi = {"semi_supervised": soup["semi_supervised"]}
    backbone = backbone_meta(targs, model) or ({"backbone": soup["backbone"]} if soup and soup.get("backbone") else {})
    fp32 = evaluate(model, state, size, interpolation, args.data_path, device, ["test"])
    half = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    fp16 = evaluate(model, half, size, interpolation, args.data_path, device, SPLITS)
    delta_pt = abs(fp16["test"]["label_resolution"]["pixel_acc"] - fp32["test"]["label_resolution"]["pixel_acc"]) * 100
    use_fp16 = delta_pt < FP16_TOLERANCE_PT
    stored = half if use_fp16 else state
    results = fp16 if use_fp16 else evaluate(model, state, size, interpolation, args.data_path, device, SPLITS)
    print(f"fp16 changes test pixel accuracy by {delta_pt:.4f} pt -> storing {'fp16' if use_fp16 else 'fp32'}")

    enum = petzoo.get_model_weights(model_name).__name__
    local_dir = f"{model_name}_{args.name.lower()}"
    folder = args.weights_dir / local_dir
    model.load_state_dict(to_float32(stored), strict=True)
    stats = profile(model.cpu(), size)
    crops = closeup.crops("test", closeup.EVERY, closeup.ZOOM, args.data_path)
    net = prepare_for_inference(copy.deepcopy(model))
    closeup_score = closeup.summary(crops, closeup.measure_net(net, eval_preset(size, interpolation), crops),
                                    closeup.EVERY, closeup.ZOOM, "test")
    print(f"close-ups ({len(crops)} crops): pixel acc {closeup_score['pixel_acc'] * 100:.2f} %, "
          f"mIoU {closeup_score['miou']:.4f}")
    metrics = {s: results[s]["label_resolution"] for s in SPLITS}
    metrics.update({f"{s}_model_resolution": results[s]["model_resolution"] for s in SPLITS})
    metrics.update({f"{s}_images": len(OxfordIIITPet(args.data_path, s)) for s in SPLITS})
    config = save_pretrained(
        model, folder, model_name=model_name, image_size=size, builder_kwargs=kwargs,
        interpolation=interpolation, half=use_fp16,
        petzoo_version=petzoo.__version__,
        num_params=stats["num_params"],
        min_size=list(model.fixed_size or (model.size_multiple, model.size_multiple)),
        _metrics=metrics,
        _closeup=closeup_score,
        _ops=round(stats["gmacs"], 4),
        _storage_dtype="float16" if use_fp16 else "float32",
        _fp16_delta_pt=round(delta_pt, 4),
        recipe=cfg["command"],
        train_minutes=run_eval["train_minutes"],
        train_hardware=cfg["device"],
        epochs=run_eval["epochs_done"],
        eval_hardware=describe_device(device, detail=False),
        dataset="Oxford-IIIT Pet, labeled subset (500 trainval / 467 test)",
        dataset_fingerprint=cfg["dataset_fingerprint"],
        git_commit=cfg["git_commit"],
        license="CC-BY-SA-4.0",
        _docs=describe(model_name, targs.get("finetune_from"), size, semi.get("semi_supervised"),
                       backbone.get("backbone"), soup),
        **semi,
        **({"soup": {k: v for k, v in soup.items() if k not in ("backbone", "semi_supervised")}} if soup else {}),
        **backbone,
        **({"finetuned_from": targs["finetune_from"]} if targs.get("finetune_from") else {}),
    )
    manifest = json.loads(args.manifest.read_text()) if args.manifest.is_file() else {}
    make_default = not args.no_default
    if make_default and args.default_if_better:
        current = next((e for e in manifest.get(model_name, []) if e.get("default") and e["name"] != args.name), None)
        make_default, why = beats(metrics, current)
        print(why)
        if make_default and current is not None:
            current_closeup = closeup.measure(model_name, current["name"], crops)
            make_default, why = closeups_hold(closeup_score, current, current_closeup)
            print(why)
    entry = {
        "model": model_name,
        "enum": enum,
        "name": args.name,
        "default": make_default,
        "local_dir": local_dir,
        "hub_repo": f"{args.hub_org}/{model_name.replace('_', '-')}-oxford-pet-{args.name.lower().split('_')[-1]}",
        "filename": WEIGHTS_NAME,
        "sha256": config["sha256"],
        "size": config["size"],
        "revision": None,
        "builder_kwargs": kwargs,
        "transforms": config["transforms"],
        "meta": {k: v for k, v in config.items() if k not in FOLDER_ONLY_KEYS},
    }
    card = model_card(entry)
    atomic_write(folder / "README.md", lambda tmp: Path(tmp).write_text(card))

    if args.push and not args.dry_run:
        from huggingface_hub import HfApi

        api = HfApi()
        api.create_repo(args.push, repo_type="model", exist_ok=True)
        commit = api.upload_folder(repo_id=args.push, folder_path=str(folder), repo_type="model")
        entry.update(hub_repo=args.push, revision=commit.oid)

    entries = [e for e in manifest.get(model_name, []) if e["name"] != args.name]
    if entry["default"]:
        for e in entries:
            e["default"] = False
    manifest[model_name] = entries + [entry]
    write_json(args.manifest, dict(sorted(manifest.items())))
    t = metrics["test"]
    print(f"{enum}.{args.name}: test pixel acc {t['pixel_acc'] * 100:.2f} %, mIoU {t['miou']:.4f} -> {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
