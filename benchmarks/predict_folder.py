"""`petzoo predict DIR` on a folder of real photos: photos/s before and after.

    python benchmarks/predict_folder.py [--photos 200] [--before 53f3b85] [--repeats 2]

The folder: the first N photos (sorted by name) of the unlabeled split
(``petzoo.datasets.UnlabeledOxfordIIITPet``: real JPEGs of 27 breeds, ~500x375 px),
symlinked into a temporary folder; nothing is written into the repository.

"before" runs the CLI of an earlier commit (a temporary ``git worktree``, with
its own weights/, on this interpreter): one photo at a time, decode -> forward ->
write. "after" runs this tree's CLI: decoding in worker threads ahead of the
model, batched forward passes, outputs written by worker threads. Each row is
the wall time of the whole command (model loading included), median over
``--repeats`` interleaved passes; "x before" compares with the before row of the
same model and mode.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from petzoo.datasets import UnlabeledOxfordIIITPet  # noqa: E402
from petzoo.profile import describe_device, format_table  # noqa: E402


def run_cli(tree: Path, photos: Path, out: Path, model: str, mode: str) -> float:
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=str(tree))
    cmd = [sys.executable, "-m", "petzoo", "predict", str(photos), "--out", str(out), "--model", model,
           "--mode", mode, "--quiet"]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return seconds


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", type=int, default=200)
    p.add_argument("--before", default="53f3b85", help="commit whose CLI is 'before' (default: before this work)")
    p.add_argument("--models", nargs="+", default=["segnet_dsc", "mobile_fpn"],
                   help="models to run after; before runs those its commit has")
    p.add_argument("--modes", nargs="+", default=["mask", "cutout"])
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--data-path", default=None)
    args = p.parse_args()
    data = UnlabeledOxfordIIITPet(args.data_path)
    tmp = Path(tempfile.mkdtemp(prefix="petzoo-predict-bench-"))
    photos = tmp / "photos"
    photos.mkdir()
    for stem in sorted(data.stems)[: args.photos]:
        (photos / f"{stem}.jpg").symlink_to(data.image_path(stem))
    before = tmp / "before"
    subprocess.run(["git", "worktree", "add", "--detach", str(before), args.before], cwd=REPO, check=True,
                   capture_output=True)
    try:
        has = subprocess.run([sys.executable, "-c", "import petzoo; print(' '.join(petzoo.list_models()))"],
                             env=dict(os.environ, PYTHONPATH=str(before)), cwd=before, capture_output=True,
                             text=True, check=True).stdout.split()
        runs = [("before", before, m, mode) for m in args.models if m in has for mode in args.modes]
        runs += [("after", REPO, m, mode) for m in args.models for mode in args.modes]
        times = {r: [] for r in runs}
        for rep in range(args.repeats):
            for r in runs:
                times[r].append(run_cli(r[1], photos, tmp / "out", r[2], r[3]))
                print(f"pass {rep + 1}: {r[0]:6s} {r[2]:10s} {r[3]:7s} {times[r][-1]:6.1f} s", flush=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=REPO, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    rows = []
    for (stage, _, model, mode), secs in times.items():
        s = statistics.median(secs)
        rows.append({"code": stage, "model": model, "mode": mode, "seconds": s, "photos/s": args.photos / s})
    base = {(r["model"], r["mode"]): r["photos/s"] for r in rows if r["code"] == "before"}
    default_before = base.get(("segnet_dsc", "mask"))
    for r in rows:
        r["x before (same model)"] = r["photos/s"] / base[(r["model"], r["mode"])] if (r["model"], r["mode"]) in base else ""
        if r["mode"] == "mask" and default_before:
            r["x old default (segnet_dsc mask)"] = r["photos/s"] / default_before
    print()
    print(format_table(rows, ["code", "model", "mode", "seconds", "photos/s", "x before (same model)",
                              "x old default (segnet_dsc mask)"]))
    print(f"\n{args.photos} photos, {args.repeats} interleaved passes, before = {args.before}, {describe_device()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
