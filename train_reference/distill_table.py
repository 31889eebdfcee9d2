"""Distillation from the pretrained teacher into every seed family (issue 22): the report.

    python train_reference/distill_table.py train_reference/logs/ptdistill_val/s0 \
        train_reference/logs/ptdistill_val/s1 train_reference/logs/ptdistill_val_segnet_dsc/s0 \
        train_reference/logs/ptdistill_val_segnet_dsc/s1 [--markdown docs/distill.md]

Three tables, every number read from a file of the repo, nothing typed:
1. the teachers: the published accurate-tier weights (test, other_breeds; V1, then V4 for the ptdistill4_*
   rounds) and, per seed, the clean validation-fold teacher (unet_efficientnet_lite2 pt192 trained on that
   seed's train part; ``train_reference/logs/ptval``, or the validation folder's own);
2. validation (folders given, one per seed and model: ``recipes.py val --models unet --recipes semi_sup
   semi_ft_sup semi_ft_ptdistill_zoom semi_ft128_sup semi_ft128_ptdistill ... --extra '--seed N'`` run into the
   folder holding that seed's pt192 teacher): the same seed's 64 px supervised start continued on labels only, or
   distilled from the pretrained teacher, at 64 and at 128 px. A folder may hold its own fold teacher (the pt192
   recipe rerun there with the same --seed, before the students): it is listed with the teachers, not as a row;
3. old DEFAULT against the new weights per family (``recipes.ptdistill_weights``: the fine-tunes of
   ``recipes.PTDISTILL_ROUNDS`` published per ``recipes.FINAL``), test and other_breeds pixel accuracy / mIoU / seed IoU from each weight's meta
   (publish.py's evaluation), training minutes, the gap to the round's own teacher on test, and the DEFAULT now.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List

import petzoo
from petzoo import get_weight

import recipes
from pretrained_table import md_table, table as val_table, table_cli
from select_recipe import val_scores

HERE = Path(__file__).resolve().parent
FOLD_TEACHERS = HERE / "logs" / "ptval"
SPLITS = ("test", "other_breeds")


def pct(x: float) -> str:
    return f"{x * 100:.2f} %"


#: The fold teacher's run name (recipes.PT_FOLD_TEACHER's folder).
FOLD_TEACHER_RUN = "unet_efficientnet_lite2_pt192"


def teacher_rows(folders: List[Path]) -> List[Dict[str, str]]:
    rows = []
    for name, role in ((recipes.PT_TEACHER, "the final runs' teacher"),
                       (recipes.PT_TEACHER_V4, "the teacher of the ptdistill4_* rounds")):
        member = get_weight(name)
        m, semi = member.meta["_metrics"], member.meta.get("semi_supervised")
        unlabeled = f" + {semi['unlabeled_images']:,} unlabeled photos (distilled)" if semi else ""
        rows.append({"teacher": f"{type(member).__name__}.{member.name} (published; {role})",
                     "trained on": f"all 500 trainval{unlabeled}",
                     "scores": "; ".join(f"{s} {pct(m[s]['pixel_acc'])} / mIoU {m[s]['miou']:.4f}" for s in SPLITS)})
    # the unet validation's teachers (run into folders of their own), then each validation folder's own teacher
    own = [f for f in folders if (f / FOLD_TEACHER_RUN / "eval.json").is_file()]
    for fold in sorted(FOLD_TEACHERS.iterdir()) + own:
        run = fold / FOLD_TEACHER_RUN
        if (run / "eval.json").is_file():
            s = val_scores(run)
            students = ["unet"] if fold.parent == FOLD_TEACHERS else sorted(
                {json.loads((r / "config.json").read_text())["args"]["model"]
                 for r in fold.iterdir() if r.name != FOLD_TEACHER_RUN})
            whose = f"the {', '.join(students)} validation runs' teacher"
            seed = json.loads((run / "config.json").read_text())["args"]["seed"]
            rows.append({"teacher": f"unet_efficientnet_lite2 pt192, seed {seed} ({whose})",
                         "trained on": "450 train images of that seed's fold",
                         "scores": f"val {pct(s['pixel_acc'])} / mIoU {s['miou']:.4f}"})
    return rows


def family_rows() -> List[Dict[str, str]]:
    """Per seed family: its DEFAULT before the rounds, then each published round weight (recipes.FINAL)."""
    def teacher_acc(member, label: str) -> float:
        # a round weight against its own teacher (its meta's semi_supervised.teachers: one accurate-tier weight per
        # round), the weight before the rounds against the first rounds' teacher
        names = [recipes.PT_TEACHER] if label == "before" else member.meta["semi_supervised"]["teachers"]
        if len(names) != 1:
            raise ValueError(f"{member}: expected one teacher, its meta names {names}")
        return get_weight(names[0]).meta["_metrics"]["test"]["pixel_acc"]

    rows = []
    for model in petzoo.list_models():
        enum = petzoo.get_model_weights(model)
        for name, label in recipes.ptdistill_weights(model):
            member = enum[name]
            m = member.meta["_metrics"]
            rows.append({
                "model": model, "weight": f"{member.name} ({label})", "round": label,
                **{f"{s} acc / mIoU / seed IoU": f"{pct(m[s]['pixel_acc'])} / {m[s]['miou']:.4f} / "
                                                 f"{m[s]['seed_iou']:.4f}" for s in SPLITS},
                "train min": f"{member.meta['train_minutes']:.1f}" if label != "before" else "",
                "gap to teacher (test)": f"{(teacher_acc(member, label) - m['test']['pixel_acc']) * 100:.2f} pt",
                "DEFAULT": "yes" if enum.DEFAULT is member else "",
            })
    return rows


def arms_px(val: List[Dict[str, str]]) -> str:
    """Which model's arms ran at which sizes (the start, semi_sup, aside), from the validation rows: the heading."""
    px: Dict[str, set] = {}
    for row in val:
        if row["recipe"] != "semi_sup":
            px.setdefault(row["model"], set()).add(int(row["px"]))
    return ", ".join(f"{m} at {' and '.join(str(x) for x in sorted(sizes))} px" for m, sizes in sorted(px.items()))


def markdown(folders: List[Path], command: str) -> str:
    val = [row for row in val_table(folders) if f"{row['model']}_{row['recipe']}" != FOLD_TEACHER_RUN]
    val_cols = ["model", "recipe", "px", "epochs", "lr", "data", "val mIoU per seed", "mean val mIoU",
                "mean val pixel acc", "min/run", "seeds"]
    fam = family_rows()
    labels = {row["round"] for row in fam}  # the rounds some row shows: the glossary names only those
    fam_cols = ["model", "weight", "test acc / mIoU / seed IoU", "other_breeds acc / mIoU / seed IoU", "train min",
                "gap to teacher (test)", "DEFAULT"]
    return "\n".join([
        "# Distillation from the pretrained teacher",
        "",
        f"Generated by `{command}` from the committed run logs and the weight manifest (do not edit by hand). "
        "Scores at label resolution, no TTA; validation on one 50-image fold of trainval per seed, best epoch.",
        "",
        "## Teachers",
        "",
        *md_table(teacher_rows(folders), ["teacher", "trained on", "scores"]),
        "",
        f"## Validation ({arms_px(val)}, from the same seed's supervised start)",
        "",
        "semi_sup: the start, 30 epochs at 64 px on the 450 labeled train images of the seed's fold. Each other "
        "row continues it for the same number of samples (13,500 at 64 px, 6,750 at 128 px; lr 5e-4, strong "
        "photometric augmentation): "
        "`_sup` on the labels only; `_ptdistill*` on the labeled images plus 900 unlabeled photos (27 breeds, none "
        "of the 5 labeled ones) with the fold teacher's soft targets, `_zoom` with zoom up to 2x and CutMix, "
        "`_lab` with the teacher's predictions mixed half and half into the labeled images' targets "
        "(train.py --distill-labeled 0.5). `ft_` rows at 64 px, `ft128_` rows at 128 px. The validation images "
        "are of the 5 labeled breeds, like test; what the unlabeled breeds add shows on other_breeds, which no "
        "fold can hold.",
        "",
        *md_table(val, val_cols),
        "",
        "## Every family: old DEFAULT against the distilled weight",
        "",
        "Each new weight is its family's DEFAULT fine-tuned by `recipes.py final --weight <V> --models <model>` "
        "(recipe `ptdistill_ft`: `" + " ".join(recipes.render(recipes.PTDISTILL_FT)) + "` with each family's "
        "start, size and epochs, which recipes.py lists; the zoomed rounds add `--zoom 2 --cutmix 0.5`). "
        "Each row's label is its round (recipes.PTDISTILL_ROUNDS): "
        + "; ".join(f"`{r}`: {what}" for r, what in recipes.PTDISTILL_ROUNDS.items()
                    if what in labels) + ". "
        "DEFAULT moves where the new weight is better on both splits in pixel accuracy and mIoU "
        "(publish.py --default-if-better), and off a weight that lost close-ups against its start onto one that "
        "beats that start and did not (train_reference/closeup_default.py; the crops: docs/closeup.md).",
        "",
        *md_table(fam, fam_cols),
        "",
    ])


def main(argv=None) -> int:
    return table_cli(argv, __doc__, "distill_table.py", markdown)


if __name__ == "__main__":
    sys.exit(main())
