"""Pick the validation-stage winner: the run whose last epoch has the highest val mIoU.

    python train_reference/select_recipe.py runs/val/segnet_dsc_*    # prints a table, then the winner
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def last_val(run: Path) -> dict:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return {"run": run.name, "epochs": len(rows), **rows[-1]["val"]}


def main(argv) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    rows = sorted((last_val(Path(a)) for a in argv), key=lambda r: r["miou"], reverse=True)
    for r in rows:
        print(f"{r['run']}: epochs {r['epochs']}  val pixel_acc {r['pixel_acc']:.4f}  miou {r['miou']:.4f}  seed_iou {r['seed_iou']:.4f}")
    print(rows[0]["run"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
