"""Move a superseded weight out of the tree; it keeps loading from git history.

    python train_reference/archive_weight.py SegNetDSC_Weights.OXFORD_PET_V1 [more ...]

The tree keeps each family's DEFAULT (at most 80 MB of weights/ in all). For each
weight named, this checks that the commit at HEAD holds its folder byte for byte
(sha256 of the weight file as in the manifest), records ``"archived": {"git_commit",
"path"}`` in its manifest entry and deletes the folder. Commit the result: the
loader then reads the file from that commit (after the checkout's weights/, before
the Hugging Face cache and the Hub), verified by sha256; outside a git clone its
error names the commit.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from petzoo._io import write_json  # noqa: E402
from petzoo._weights import MANIFEST  # noqa: E402


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("weights", nargs="+", help="full weight names, e.g. SegNetDSC_Weights.OXFORD_PET_V1")
    p.add_argument("--manifest", type=Path, default=MANIFEST)
    p.add_argument("--weights-dir", type=Path, default=REPO / "weights")
    args = p.parse_args(argv)

    head = git("rev-parse", "HEAD").stdout.decode().strip()
    if not head:
        raise SystemExit("archive_weight: not a git checkout with a commit (git rev-parse HEAD failed)")
    manifest = json.loads(args.manifest.read_text())
    entries = {f"{e['enum']}.{e['name']}": e for es in manifest.values() for e in es}
    for name in args.weights:
        entry = entries.get(name)
        if entry is None:
            raise SystemExit(f"archive_weight: {name!r} is not in {args.manifest}; known: {', '.join(sorted(entries))}")
        if entry.get("default"):
            raise SystemExit(f"archive_weight: {name} is its family's DEFAULT; the tree keeps it")
        if entry.get("archived"):
            print(f"{name}: already archived at {entry['archived']['git_commit']}")
            continue
        path = f"weights/{entry['local_dir']}"
        blob = git("cat-file", "blob", f"HEAD:{path}/{entry['filename']}")
        if blob.returncode or hashlib.sha256(blob.stdout).hexdigest() != entry["sha256"]:
            raise SystemExit(f"archive_weight: HEAD ({head[:12]}) does not hold {path}/{entry['filename']} "
                             f"with the manifest's sha256; commit the folder first")
        entry["archived"] = {"git_commit": head, "path": path}
        folder = args.weights_dir / entry["local_dir"]
        if folder.is_dir():
            shutil.rmtree(folder)
        print(f"{name}: {path} removed from the tree; it loads from git commit {head}")
    write_json(args.manifest, manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
