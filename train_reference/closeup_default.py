"""Move a family's DEFAULT back off a weight that lost close-ups, onto one that did not (issue 22).

    python train_reference/closeup_default.py UNet_Weights.OXFORD_PET_V4

publish.py's rule (better on test and other_breeds in pixel accuracy and mIoU) sees whole photos only. The
whole-photo distillation round (recipe ptdistill_ft) passed it while losing close-ups badly. This moves
DEFAULT from the current DEFAULT C to the named weight N when, all measured here on the same crops
(benchmarks/closeup.py: 2x centre crops of one test photo in 4):
- C lost close-ups against the weight it was fine-tuned from (S, its ``meta["finetuned_from"]``),
- N beats S on test and other_breeds in pixel accuracy and mIoU (publish.py's rule against the old DEFAULT),
- N scores better than both C and S on close-ups.
Otherwise it changes nothing and says why. The manifest entry of N records the numbers
(``meta["default_reason"]``).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import petzoo
from petzoo._io import write_json
from petzoo._registry import model_of_weights
from petzoo._weights import MANIFEST

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import closeup  # noqa: E402
from publish import beats  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("weight", help="full name of the weight to make DEFAULT, e.g. UNet_Weights.OXFORD_PET_V4")
    p.add_argument("--every", type=int, default=closeup.EVERY)
    p.add_argument("--data-path", default=None)
    args = p.parse_args(argv)
    new = petzoo.get_weight(args.weight)
    enum = type(new)
    current = enum.DEFAULT
    model = model_of_weights(enum)
    start_name = current.meta.get("finetuned_from")
    if current is new or not start_name:
        raise SystemExit(f"{args.weight}: DEFAULT is {current.name}, which is {'this weight' if current is new else 'not a fine-tune'}")
    start = petzoo.get_weight(start_name)
    manifest = json.loads(MANIFEST.read_text())
    start_entry = next(e for e in manifest[model] if e["name"] == start.name)
    ok, why = beats(new.meta["_metrics"], start_entry)
    data = closeup.crops("test", args.every, closeup.ZOOM, args.data_path)
    acc = {w.name: closeup.measure(model, w.name, data)["pixel_acc"] for w in (start, current, new)}
    shown = ", ".join(f"{k} {v * 100:.2f} %" for k, v in acc.items())
    print(f"close-up pixel acc ({len(data)} 2x centre crops of test): {shown}")
    print(f"{new.name} against {start.name}: {why}")
    lost = acc[current.name] < acc[start.name]
    if not (ok and lost and acc[new.name] > max(acc[current.name], acc[start.name])):
        print(f"DEFAULT stays {current.name}")
        return 1
    reason = (f"DEFAULT moved from {current.name} (close-ups {acc[current.name] * 100:.2f} %, under its start "
              f"{start.name}'s {acc[start.name] * 100:.2f} %) to {new.name} (close-ups {acc[new.name] * 100:.2f} %; "
              f"against {start.name}: {why.split(': ', 1)[-1]}) by train_reference/closeup_default.py")
    for entry in manifest[model]:
        entry["default"] = entry["name"] == new.name
        if entry["name"] == new.name:
            entry["meta"]["default_reason"] = reason
    write_json(MANIFEST, dict(sorted(manifest.items())))
    print(reason)
    return 0


if __name__ == "__main__":
    sys.exit(main())
