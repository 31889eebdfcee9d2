"""Average published weights of one model into a new run folder (a uniform model soup) for publish.py.

    python train_reference/soup.py unet_efficientnet_lite2 OXFORD_PET_V1 OXFORD_PET_V2 OXFORD_PET_V3 \
        --out runs/soup/unet_efficientnet_lite2_soup_v1v2v3
    python train_reference/publish.py runs/soup/unet_efficientnet_lite2_soup_v1v2v3 --name OXFORD_PET_V4 \
        --default-if-better --dry-run --device cpu

Weights fine-tuned from one start stay in one basin of the loss, so the mean of their parameters is a model of its
own that often scores at least as well as the best of them (Wortsman et al., "Model soups", ICML 2022), at no
inference cost. The mixing is fixed beforehand (every ingredient counts the same): nothing is tuned on a split.
Only weights of one lineage may be mixed: one ingredient is the root and every other one was fine-tuned from an
ingredient (its meta ``finetuned_from``): the root's fine-tunes, or successive rounds each from the one before (the
ends of successive learning-rate cycles, which stochastic weight averaging averages), with the same builder
arguments, input size and resize; anything else is refused with one line. Floating-point parameters and buffers
are averaged in float32; integer buffers (BatchNorm's counters) are taken from the first ingredient.

Two soups were measured here and neither was kept: the accurate tier's V1 + V2 + V3 (siblings) scored under V1 on
other_breeds (commit c988cf4), the fast tier's V14 + V15 + V16 (a chain) under V16 on every split (recipes.py).

The folder holds what publish.py reads from a training run: best.safetensors, config.json (the command, the
ingredients with their sha256, the root's ImageNet backbone) and eval.json (the ingredients' training minutes).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import torch
from safetensors.torch import save_file

import petzoo
from petzoo._io import write_json
from petzoo._weights import MANIFEST

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from train import command_line, git_commit  # noqa: E402


def check_lineage(model: str, names: List[str], metas: List[dict], enum_name: str) -> str:
    """The root weight of the ingredients' lineage; SystemExit with one line where they are not one lineage.

    One lineage: exactly one ingredient (the root) starts outside the soup (from ImageNet, random init or a weight
    not in it) and every other one was fine-tuned from an ingredient, so they are the root's fine-tunes (siblings,
    "Model soups") or a chain of rounds each from the one before (the ends of successive learning-rate cycles, as
    stochastic weight averaging takes them: Izmailov et al., UAI 2018), or a mix of both."""
    if len(names) < 2 or len(set(names)) != len(names):
        raise SystemExit(f"soup: give two or more different weights of {model}, got {' '.join(names)}")
    inside = {f"{enum_name}.{n}" for n in names}
    roots = [n for n, m in zip(names, metas) if m.get("finetuned_from") not in inside]
    if len(roots) != 1:
        raise SystemExit(f"soup: exactly one ingredient must start the lineage, the others fine-tuned from "
                         f"ingredients; {len(roots)} of {', '.join(names)} start outside it: {', '.join(roots)}")
    return roots[0]


def average(states: List[Dict[str, torch.Tensor]]) -> Dict[str, torch.Tensor]:
    """The mean of float tensors (in float32), the first state's value for the others."""
    keys = list(states[0])
    for i, s in enumerate(states[1:], 1):
        if list(s) != keys or any(s[k].shape != states[0][k].shape for k in keys):
            raise SystemExit(f"soup: ingredient {i + 1}'s state_dict does not match the first one's keys/shapes")
    out = {}
    for k in keys:
        if states[0][k].is_floating_point():
            out[k] = torch.stack([s[k].float() for s in states]).mean(0).contiguous()
        else:
            out[k] = states[0][k].clone()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="registered petzoo model name, e.g. unet_efficientnet_lite2")
    p.add_argument("weights", nargs="+", help="weight names of that model (enum members), e.g. OXFORD_PET_V1")
    p.add_argument("--out", type=Path, required=True, help="new run folder (must not exist yet)")
    args = p.parse_args(argv)

    if args.model not in petzoo.list_models():
        raise SystemExit(f"soup: no model {args.model!r}; petzoo has {', '.join(petzoo.list_models())}")
    if args.out.exists():
        raise SystemExit(f"soup: {args.out} exists; give a new folder (nothing is overwritten)")
    enum = petzoo.get_model_weights(args.model)
    weights = []
    for name in args.weights:
        try:
            weights.append(enum[name])
        except KeyError:
            raise SystemExit(f"soup: {args.model} has no weight {name}; it has "
                             f"{', '.join(w.name for w in enum)}") from None
    metas = [w.meta for w in weights]
    entries = {e["name"]: e for e in json.loads(MANIFEST.read_text())[args.model]}
    root = check_lineage(args.model, args.weights, metas, enum.__name__)
    for key in ("image_size", "transforms", "builder_kwargs"):
        values = {json.dumps(entries[n]["meta"][key] if key == "image_size" else entries[n][key], sort_keys=True)
                  for n in args.weights}
        if len(values) != 1:
            raise SystemExit(f"soup: the ingredients differ in {key}: {', '.join(sorted(values))}")
    fingerprints = {m["dataset_fingerprint"] for m in metas}
    if len(fingerprints) != 1:
        raise SystemExit("soup: the ingredients were trained on different data (dataset_fingerprint differs)")

    t0 = time.time()
    states = []
    for w in weights:
        net = petzoo.get_model(args.model, weights=w)
        states.append({k: v.detach().cpu() for k, v in net.state_dict().items()})
    soup = average(states)

    kwargs, interpolation = entries[root]["builder_kwargs"], entries[root]["transforms"]["interpolation"]
    # the ImageNet encoder the lineage started from (publish.py reads it like a --weights-backbone run's)
    backbone, start = None, enum[root]
    while start is not None and backbone is None:  # up the root's own fine-tuning chain to its first weight
        backbone = start.meta.get("backbone")
        parent = start.meta.get("finetuned_from")
        start = petzoo.get_weight(parent) if parent else None
    # what every ingredient learnt from besides the labels (one teacher and unlabeled set for all, else none is named)
    semis = {json.dumps(m.get("semi_supervised"), sort_keys=True) for m in metas}
    semi = metas[0].get("semi_supervised") if len(semis) == 1 else None
    ingredients = [{"weight": f"{enum.__name__}.{w.name}", "sha256": w.value.sha256,
                    "train_minutes": m["train_minutes"], "recipe": m["recipe"]} for w, m in zip(weights, metas)]
    config = {
        "command": command_line(sys.argv[1:] if argv is None else argv, Path(__file__)),
        "args": {"model": args.model, "model_kwargs": json.dumps(kwargs), "interpolation": interpolation,
                 "finetune_from": None, "weights_backbone": None},
        "git_commit": git_commit(),
        "dataset_fingerprint": fingerprints.pop(),
        # where the minutes in eval.json were spent (the averaging itself takes seconds)
        "device": "; ".join(sorted({m["train_hardware"] for m in metas})),
        "torch": torch.__version__,
        "semi_supervised": None,
        "soup": {"method": "uniform average of parameters and buffers (model soup) of weights of one lineage",
                 "root": f"{enum.__name__}.{root}", "ingredients": ingredients,
                 **({"backbone": backbone} if backbone else {}), **({"semi_supervised": semi} if semi else {})},
    }
    run = {
        # what the weight cost to train: every ingredient's own run (each fine-tune's minutes exclude its start's)
        "epochs_done": 0, "epochs_planned": 0,
        "train_minutes": round(sum(m["train_minutes"] for m in metas), 2),
        "image_size": metas[0]["image_size"], "results": {},
        "soup_seconds": round(time.time() - t0, 2),
    }
    # the folder appears whole or not at all: written beside its name, then renamed
    args.out.parent.mkdir(parents=True, exist_ok=True)
    part = Path(tempfile.mkdtemp(prefix=f".{args.out.name}.", dir=args.out.parent))
    try:
        save_file(soup, str(part / "best.safetensors"))
        write_json(part / "config.json", config)
        write_json(part / "eval.json", run)
        os.rename(part, args.out)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    print(f"soup of {', '.join(args.weights)} ({len(soup)} tensors) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
