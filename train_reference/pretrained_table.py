"""The pretrained-encoder validation table (issue 21): ImageNet init against random init, sizes, distillation.

    python train_reference/pretrained_table.py train_reference/logs/ptval/s0 train_reference/logs/ptval/s1 \
        [--self-training runs/stval/s0 runs/stval/s1] [--same-session runs/x64val/s0 runs/x64val/s1 ...]
        [--markdown docs/pretrained.md]

Each folder is one seed's stage of ``recipes.py val --models fpn_efficientnet_lite0 unet_efficientnet_lite2
--recipes pt128 scratch128 ... --extra '--seed N'`` (so one validation fold: 450 train / 50 val images
of trainval); every run folder in it is a row, read from its own eval.json (validation at label resolution,
best epoch), config.json and metrics.jsonl. Nothing here looks at test.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Dict, List, Optional

from recipes import ST_CONTROLS
from select_recipe import val_scores


def describe(config: dict) -> Dict[str, str]:
    args, semi = config["args"], config.get("semi_supervised") or {}
    teacher = (semi.get("teacher_names") or [""])[0]
    start = args.get("finetune_from")
    kwargs = json.loads(args.get("model_kwargs") or "{}")
    return {
        "builder options": ", ".join(f"{k}={v}" for k, v in kwargs.items()) or "defaults",
        "init": (f"{Path(start).parent.name.removeprefix(args['model'] + '_')} run" if start
                 else "ImageNet" if args.get("weights_backbone") else "random"),
        "px": str(args["image_size"]), "epochs": str(args["epochs"]), "lr": f"{args['lr']:g}", "loss": args["loss"],
        "data": (f"{semi['labeled_images']} labeled + {semi['unlabeled_images']} unlabeled, distilled from "
                 f"{Path(teacher.split(':')[2]).parent.name if teacher.count(':') >= 2 else teacher}"
                 if semi else f"{config['train_size']} labeled"),
    }


def table(folders: List[Path], controls: Optional[Dict[str, str]] = None) -> List[Dict[str, str]]:
    """One row per run name over the seeds' folders; with ``controls`` (recipe -> the recipe it is measured
    against), also that recipe and the per-seed difference in val mIoU with the same seed's run of it."""
    scored = {r: val_scores(r) for f in folders for r in f.iterdir() if (r / "eval.json").is_file()}
    rows = []
    for name in sorted({r.name for r in scored}):
        runs = [f / name for f in folders if f / name in scored]
        scores = [scored[r] for r in runs]
        config = json.loads((runs[0] / "config.json").read_text())
        minutes = [json.loads((r / "eval.json").read_text())["train_minutes"] for r in runs]
        model = config["args"]["model"]
        recipe = name.removeprefix(model + "_")
        against = {}
        if controls is not None:
            control = controls.get(f"{model}:{recipe}", controls.get(recipe))
            pairs = [(s, r.parent / f"{model}_{control}") for s, r in zip(scores, runs)] if control else []
            deltas = [(s["miou"] - scored[c]["miou"]) * 100 for s, c in pairs if c in scored]
            against = {"against": control or "-",
                       "Δ val mIoU per seed (pt)": " / ".join(f"{d:+.2f}" for d in deltas) or "-"}
        rows.append({
            "model": model, "recipe": recipe,
            **describe(config),
            "val mIoU per seed": " / ".join(f"{s['miou']:.4f}" for s in scores),
            "mean val mIoU": f"{statistics.mean(s['miou'] for s in scores):.4f}",
            "mean val pixel acc": f"{statistics.mean(s['pixel_acc'] for s in scores) * 100:.2f} %",
            "min/run": f"{statistics.mean(minutes):.1f}", "seeds": str(len(runs)), **against,
        })
    return rows


COLUMNS = ["model", "recipe", "builder options", "init", "px", "epochs", "lr", "loss", "data", "val mIoU per seed", "mean val mIoU",
           "mean val pixel acc", "min/run", "seeds"]
ST_COLUMNS = COLUMNS + ["against", "Δ val mIoU per seed (pt)"]


def md_table(rows: List[Dict[str, str]], columns: List[str]) -> List[str]:
    """A markdown table's lines: the header, then one line per row (its cells in ``columns``' order)."""
    return (["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
            + ["| " + " | ".join(r[c] for c in columns) + " |" for r in rows])


def markdown(rows: List[Dict[str, str]], command: str, st_rows: Optional[List[Dict[str, str]]] = None,
             same_rows: Optional[List[Dict[str, str]]] = None) -> str:
    lines = md_table(rows, COLUMNS)
    st = "" if not st_rows else (
        "\n## Second rounds and the unlabeled photos\n\n"
        "Folders given with `--self-training` (`recipes.py val` with the recipes below, one folder per seed, the "
        "same folds as above). Each folder's pt192 run (the fast tier: its pt128 or pt192 run) is the start of the "
        "arms whose init names it, and its unet_efficientnet_lite2 pt192 run, larger than the fast tier, is the teacher of the "
        "distilled arms (soft targets with flip at its 192 px on unlabeled photos spread over every breed); neither "
        "saw its validation images. Each arm is measured "
        "against its start or against the labeled-only control with the same number of samples (`against`, "
        "`recipes.ST_CONTROLS`), seed by seed. These runs ran one after another with both threads, so their "
        "min/run are not comparable with the table above and vary with the machine's load; seed 0's "
        "st192_student was paused while a final weight trained and its minutes include the pause (its "
        "metrics.jsonl has each epoch's seconds). The fast tier's pt128_* arms and the rounds that start from them "
        "change the architecture (`builder options`): the stride-4 stage without its second block "
        "(`encoder_depths`), for the speed rule, and a narrower decoder; `pt128_h2` adds a stride-2 refinement of the "
        "logits (`head_stride=2`), for accuracy at 128 px, where stride-4 logits are a 32 x 32 grid; `pt128_x` "
        "narrows the stride-4 stage's hidden widths (`encoder_expansions`), for the speed rule at batch 32 (its "
        "ImageNet start keeps each block's strongest channels). pt128_x ran in a later session than the pt128 it is "
        "measured against here; the pt128 runs of its own session, the same recipe and seeds, are in "
        "train_reference/logs/xval.\n\n"
        + "\n".join(md_table(st_rows, ST_COLUMNS)) + "\n")
    same = "" if not same_rows else (
        "\n## Narrowed arms against their own session's control\n\n"
        "Folders given with `--same-session`, one per seed and session (`session`: the folder above them): each "
        "holds fast-tier arms and the control they are measured against (`against`), trained in the same session "
        "with the same seed and recipe, so the difference is the arm's alone. `pt128_x64` narrows the stride-4 "
        "stage further than `pt128_x` (hidden widths 64 / 96 against 72 / 108; the full encoder has 96 / 144), for "
        "the one-pass batch-32 reading of the speed rule (docs/fast-model.md); `pt128_x64w` and `pt128_x56w` narrow "
        "only its first block (64 / 108 and 56 / 108), whose 64 x 64 activations are the largest. These ran one "
        "after another with both threads (min/run as in the second table).\n\n"
        + "\n".join(md_table(same_rows, ["session"] + ST_COLUMNS)) + "\n")
    return (
        "# Pretrained encoders: validation\n\n"
        f"Generated by `{command}` from the committed run logs (do not edit by hand). Validation folds of "
        "trainval (450 train / 50 val, one fold per seed), scored at label resolution on the best epoch; "
        "min/run: training minutes on the 2-core CPU (both seeds ran at once, one thread each). "
        "The distillation teacher of each seed is that seed's own unet_efficientnet_lite2 pt192 run, which never "
        "saw its validation images.\n\n" + "\n".join(lines) + "\n" + st + same)


def session_table(folders: List[Path]) -> List[Dict[str, str]]:
    """The third table: ``folders`` grouped by session (their parent folder, e.g. runs/x64val for runs/x64val/s0),
    each session's rows measured against that session's own controls, a "session" column naming it."""
    sessions: Dict[Path, List[Path]] = {}
    for f in folders:
        sessions.setdefault(f.parent, []).append(f)
    return [{"session": parent.name, **row} for parent, group in sessions.items()
            for row in table(group, ST_CONTROLS)]


def render(folders: List[Path], command: str, self_training: List[Path] = (), same_session: List[Path] = ()) -> str:
    """docs/pretrained.md from the run folders of each table (a table whose folders are not given is left out)."""
    return markdown(table(folders), command, table(self_training, ST_CONTROLS) if self_training else None,
                    session_table(same_session) if same_session else None)


def table_args(argv, doc: str, script: str, folder_options: Optional[Dict[str, str]] = None):
    """(parsed arguments, the exact command that gives them) of the table scripts' command line: run folders,
    ``--<option> FOLDER...`` for each of ``folder_options`` (name -> help), ``--markdown PATH``."""
    folder_options = folder_options or {}
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folders", nargs="+", type=Path)
    for name, help_ in folder_options.items():
        p.add_argument(f"--{name}", nargs="+", type=Path, default=[], metavar="FOLDER", help=help_)
    p.add_argument("--markdown", type=Path, default=None)
    args = p.parse_args(argv)
    command = f"python train_reference/{script} " + " ".join(f.as_posix() for f in args.folders)
    for name in folder_options:
        if getattr(args, name.replace("-", "_")):
            command += f" --{name} " + " ".join(f.as_posix() for f in getattr(args, name.replace("-", "_")))
    if args.markdown:
        command += f" --markdown {args.markdown.as_posix()}"
    return args, command


def table_cli(argv, doc: str, script: str, render, folder_options: Optional[Dict[str, str]] = None) -> int:
    """The command line shared by the table scripts (:func:`table_args`); ``render(folders, command, **options)``
    gives the text, which names the exact command that made it (each folder option as a keyword, "-" -> "_")."""
    args, command = table_args(argv, doc, script, folder_options)
    text = render(args.folders, command, **{n.replace("-", "_"): getattr(args, n.replace("-", "_"))
                                            for n in folder_options or {}})
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


#: pretrained_table.py's folder options beside the run folders of the first table.
FOLDER_OPTIONS = {"self-training": "one folder per seed of the pretrained tiers' second rounds and runs with the "
                                    "unlabeled photos (the second table)",
                  "same-session": "one folder per seed of narrowed fast-tier arms beside the control of their own "
                                  "session (the third table)"}


def main(argv=None) -> int:
    return table_cli(argv, __doc__, "pretrained_table.py", render, FOLDER_OPTIONS)


if __name__ == "__main__":
    sys.exit(main())
