"""Pick the validation-stage winner: the run with the highest validation mIoU.

    python train_reference/select_recipe.py runs/val/segnet_dsc_*    # prints a table, then the winner
    python train_reference/select_recipe.py runs/semi_s*/unet_semi_*   # same recipes over 2+ seeds/folds

Runs that share a name (one recipe, run in several stage folders with different --seed, so
different validation folds) are compared on their mean; each seed's score is printed beside it,
since a 50-image validation slice moves by 1-2 points between seeds.

Runs whose eval.json holds the validation images scored at label resolution (what
train.py records since --finetune-from) compare on that, which is fair across input
sizes; older runs compare on their last epoch's validation at model resolution.
Mixing the two kinds is refused.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def val_scores(run: Path) -> dict:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    eval_path = run / "eval.json"
    results = json.loads(eval_path.read_text()).get("results", {}) if eval_path.is_file() else {}
    if "val" in results:
        scores, at = results["val"]["label_resolution"], "label resolution"
    else:
        scores, at = rows[-1]["val"], "model resolution, last epoch"
    return {"run": run.name, "epochs": len(rows), "at": at, **{k: scores[k] for k in ("pixel_acc", "miou", "seed_iou")}}


def main(argv) -> int:
    p = argparse.ArgumentParser(prog="select_recipe.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path, help="train.py output folders (each with metrics.jsonl)")
    args = p.parse_args(argv)
    not_runs = [str(r) for r in args.runs if not (r / "metrics.jsonl").is_file()]
    if not_runs:
        print(f"select_recipe.py: not a train.py output folder (no metrics.jsonl): {', '.join(not_runs)}",
              file=sys.stderr)
        return 2
    runs = [val_scores(r) for r in args.runs]
    if len({r["at"] for r in runs}) > 1:
        print("select_recipe.py: runs scored at label and at model resolution do not compare; "
              + ", ".join(f"{r['run']} ({r['at']})" for r in runs), file=sys.stderr)
        return 2
    groups: dict = {}
    for r in runs:
        groups.setdefault(r["run"], []).append(r)
    rows = sorted((mean_of(g) for g in groups.values()), key=lambda r: r["miou"], reverse=True)
    for r in rows:
        seeds = f"  per seed miou {' '.join(f'{m:.4f}' for m in r['mious'])}" if len(r["mious"]) > 1 else ""
        print(f"{r['run']}: epochs {r['epochs']}  val pixel_acc {r['pixel_acc']:.4f}  miou {r['miou']:.4f}"
              f"  seed_iou {r['seed_iou']:.4f}  ({r['at']}{', mean of %d' % len(r['mious']) if seeds else ''}){seeds}")
    print(rows[0]["run"])
    return 0


def mean_of(group: list) -> dict:
    """One row for runs of the same recipe: the mean of each score, and each run's mIoU."""
    out = dict(group[0])
    for key in ("pixel_acc", "miou", "seed_iou"):
        out[key] = sum(r[key] for r in group) / len(group)
    out["mious"] = [r["miou"] for r in group]
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
