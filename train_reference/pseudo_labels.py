"""Teacher soft labels of the unlabeled split, cached outside git (rebuild command).

    python train_reference/pseudo_labels.py --teachers FCN_Weights.DEFAULT UNet_Weights.DEFAULT --size 128
    python train_reference/pseudo_labels.py --teachers ... --threshold 0.9   # also report the ignored share
    python train_reference/pseudo_labels.py --teachers ... --evaluate test,other_breeds   # the teacher's accuracy

Images: ``petzoo.datasets.UnlabeledOxfordIIITPet`` (official trainval without a trimap,
held-out breeds excluded; never official test). Output:
``$PETZOO_CACHE/pseudo/soft_<key>.pt`` with uint8 probabilities x 255, keyed by the
teachers' weight sha256, the flip-TTA setting, the size and the images' fingerprint,
written atomically. Prints the number of images and, for ``--threshold``, the share of
pixels whose top teacher probability is below it (those get the ignore index).

Validation rule: a teacher used in a validation comparison must not have seen the
validation images; the published weights were trained on all of trainval, so for
validation runs pass teachers trained on the train part (``--teachers-files``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from petzoo.data import resized_images  # noqa: E402
from petzoo.datasets import UnlabeledOxfordIIITPet  # noqa: E402
from petzoo.engine import oxford_splits  # noqa: E402
from petzoo.pseudo import (IGNORE_INDEX, cached_soft_labels, evaluate_teachers, file_teacher, hard_labels,  # noqa: E402
                           published_teachers)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--teachers", nargs="*", default=[], help="published weights, e.g. UNet_Weights.DEFAULT")
    p.add_argument("--teachers-files", nargs="*", default=[], help="MODEL:SIZE:PATH.safetensors[:JSON kwargs]")
    p.add_argument("--data-path", default=None)
    p.add_argument("--size", type=int, default=128, help="label size (images are cached at it too)")
    p.add_argument("--no-tta", action="store_true", help="no horizontal-flip averaging")
    p.add_argument("--threshold", type=float, default=None, help="report the share of pixels ignored at it")
    p.add_argument("--limit", type=int, default=None, help="first N images only (smoke runs)")
    p.add_argument("--evaluate", default=None, metavar="SPLITS",
                   help="instead: the teachers' accuracy on these labeled splits (e.g. test,other_breeds), "
                        "at label resolution; to report, never to choose")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        teachers = published_teachers(args.teachers) + [file_teacher(s) for s in args.teachers_files]
    except ValueError as err:
        raise SystemExit(f"pseudo_labels: {err}") from None
    if not teachers:
        raise SystemExit("pseudo_labels: name at least one teacher (--teachers or --teachers-files)")
    if args.evaluate:
        for name, split in oxford_splits(args.data_path, args.evaluate).items():
            if args.limit:
                split = split.subset(range(min(args.limit, len(split))), split.split)
            m = evaluate_teachers(teachers, split, tta=not args.no_tta)
            print(f"{len(teachers)} teacher(s), tta={not args.no_tta}, {name} ({len(split)} images): pixel acc "
                  f"{m['pixel_acc'] * 100:.2f} %, mIoU {m['miou']:.4f}, seed IoU {m['seed_iou']:.4f}", flush=True)
        return 0
    data = UnlabeledOxfordIIITPet(args.data_path)
    if args.limit:
        data.stems = data.stems[: args.limit]
    print(f"unlabeled: {len(data)} images of {len(data.breeds())} breeds")
    images = resized_images(data, args.size)
    probs, path = cached_soft_labels(teachers, images, data.fingerprint(), tta=not args.no_tta)
    print(f"soft labels {tuple(probs.shape)} from {len(teachers)} teacher(s), tta={not args.no_tta} -> {path}")
    if args.threshold is not None:
        ignored = (hard_labels(probs, args.threshold) == IGNORE_INDEX).float().mean().item()
        print(f"threshold {args.threshold}: {ignored * 100:.2f} % of pixels ignored")
    return 0


if __name__ == "__main__":
    sys.exit(main())
