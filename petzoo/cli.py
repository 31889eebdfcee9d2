"""The ``petzoo`` command line: predict, evaluate, summary, bench, export.

Exit codes: 0 success; 1 some inputs failed (the others were processed);
2 bad arguments or a failure before any work.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
MODES = ("mask", "overlay", "cutout", "background")


class UsageError(Exception):
    """Bad arguments: reported in one line, exit code 2."""


def _demo_photo(name: str) -> Path:
    """``skimage:NAME``: a photo bundled with scikit-image (the ``demo`` extra), e.g. skimage:chelsea."""
    try:
        import skimage
    except ImportError:
        raise UsageError(f"{name} needs scikit-image: pip install 'petzoo[demo]'") from None
    stem = name.split(":", 1)[1]
    found = sorted((Path(skimage.__file__).parent / "data").glob(f"{stem}.*"))
    if not found:
        raise UsageError(f"{name}: scikit-image ships no photo called {stem!r}")
    return found[0]


def _inputs(paths: List[str]) -> List[Path]:
    files = []
    for p in map(Path, paths):
        if str(p).startswith("skimage:"):
            files.append(_demo_photo(str(p)))
        elif p.is_dir():
            files += sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(p)  # missing files are reported per file, not as a usage error
    if not files:
        raise UsageError(f"no images found in {', '.join(paths)}")
    return files


def _predict(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from . import inference as S
    from ._io import atomic_write
    from .images import ImageLoadError

    if args.mode == "background" and not args.background:
        raise UsageError("--mode background needs --background IMAGE or COLOR")
    background = None
    if args.mode == "background":
        bg = Path(args.background)
        background = bg if bg.is_file() else S.parse_colour(args.background)
    try:
        S.load_model(args.model, args.weights, args.device)
    except (ValueError, FileNotFoundError) as err:
        raise UsageError(str(err)) from None
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    failures = []
    inputs = _inputs(args.inputs)
    for path in tqdm(inputs, desc="predict", disable=args.quiet):
        try:
            mask = S.segment(path, model=args.model, weights=args.weights, device=args.device)
            if args.mode == "mask":
                result = S.mask_image(mask)
            elif args.mode == "overlay":
                result = S.overlay(path, mask)
            elif args.mode == "cutout":
                result = S.cutout(path, mask)
            else:
                result = S.replace_background(path, mask, background)
            target = out_dir / f"{path.stem}.{args.mode}.png"
            atomic_write(target, lambda tmp: result.save(tmp, format="PNG"))
        except (ImageLoadError, ValueError, OSError) as err:
            failures.append(f"{path}: {err}" if str(path) not in str(err) else str(err))
    if failures:
        print(f"petzoo predict: {len(failures)} of {len(inputs)} inputs failed:", file=sys.stderr)
        for line in failures:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import json

    import torch

    from ._factory import get_model_and_weights
    from .engine import evaluate_splits, oxford_splits

    if args.weights is None:
        raise UsageError("--weights none: evaluate needs a published weight (e.g. DEFAULT)")
    model, member = get_model_and_weights(args.model, args.weights)
    datasets = oxford_splits(args.data_path, args.splits)
    results = evaluate_splits(model.eval().to(args.device), datasets, member.transforms(), torch.device(args.device),
                              progress=not args.quiet)
    if args.json:
        from ._io import write_json

        write_json(args.json, results)
    elif args.verbose:
        print(json.dumps(results, indent=2))
    return 0


def _summary(args: argparse.Namespace) -> int:
    from . import list_models
    from .profile import format_table, model_table, summary

    if args.model:
        summary(args.model, image_size=args.image_size, depth=args.depth)
        return 0
    rows = model_table(args.image_size, list_models(include=args.include))
    print(f"petzoo models at {args.image_size}x{args.image_size} (default configurations):")
    print(format_table(rows, ["model", "num_params", "gmacs", "gmacs_torchinfo", "gmacs_flop_counter"]))
    return 0


def _bench(args: argparse.Namespace) -> int:
    import torch

    from . import get_model, list_models
    from .inference import prepare_for_inference
    from .profile import format_table, forward_images_per_second

    rows = []
    for name in args.models or list_models():
        model = get_model(name).eval()
        size = model.fixed_size or (args.image_size, args.image_size)  # a fixed-size model runs at its size
        x = torch.randn(args.batch_size, 3, *size)
        as_built = forward_images_per_second(model, x, min_seconds=args.seconds)
        optimized = forward_images_per_second(  # what petzoo.segment() runs
            prepare_for_inference(model), x.contiguous(memory_format=torch.channels_last), min_seconds=args.seconds
        )
        rows.append({"model": name, "size": size[0], "batch": args.batch_size,
                     "img/s as built": as_built, "img/s optimized": optimized})
    print(format_table(rows, ["model", "size", "batch", "img/s as built", "img/s optimized"]))
    return 0


def _export(args: argparse.Namespace) -> int:
    import torch

    from ._factory import get_model_and_weights
    from ._io import atomic_write
    from .export import export_onnx

    model, member = get_model_and_weights(args.model, args.weights)
    model.eval()
    size = member.transforms().size if member is not None else model.valid_size(args.image_size)
    if member is None and size != (args.image_size, args.image_size):
        raise UsageError(f"--image-size {args.image_size}: {args.model} takes {size[0]}x{size[1]} "
                         f"(multiples of {model.size_multiple}{', fixed size' if model.fixed_size else ''})")
    out = Path(args.out or f"{args.model}.{'onnx' if args.format == 'onnx' else 'pt'}")
    if args.format == "onnx":
        export_onnx(model, size, out)
        shape = f"(N, 3, {size[0]}, {size[1]})"
    else:  # traced: batch size and input size are fixed in the TorchScript graph
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(model, torch.zeros(1, 3, *size), check_trace=False)
            atomic_write(out, lambda tmp: torch.jit.save(traced, tmp))
        shape = f"(1, 3, {size[0]}, {size[1]})"
    print(f"wrote {out} ({args.format}, input {shape})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="petzoo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def model_args(p, weights_default="DEFAULT"):
        p.add_argument("--model", default="segnet_dsc", help="zoo model (default segnet_dsc)")
        p.add_argument("--weights", default=weights_default, help="weight name, e.g. DEFAULT or OXFORD_PET_V1")
        p.add_argument("--device", default="cpu")

    p = sub.add_parser("predict", help="segment images: mask, overlay, cut-out or new background")
    p.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR",
                   help="image files, folders of images, or skimage:NAME (a photo bundled with scikit-image)")
    model_args(p)
    p.add_argument("--out", default="petzoo-out", help="output folder (default petzoo-out)")
    p.add_argument("--mode", default="mask", choices=MODES,
                   help="mask: palette PNG of class ids (0 pet, 1 background, 2 border); overlay; "
                        "cutout: RGBA, alpha 255 pet / 128 border / 0 background; background: pet on --background")
    p.add_argument("--background", help="image file or colour ('#rrggbb', 'r,g,b', name) for --mode background")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_predict)

    p = sub.add_parser("evaluate", help="metrics of a published weight on dataset splits")
    model_args(p)
    p.add_argument("--splits", default="test,other_breeds")
    p.add_argument("--data-path", default=None, help="Oxford-IIIT Pet root (default $PETZOO_DATA or ../shared/...)")
    p.add_argument("--json", default=None, help="write all metrics to this JSON file")
    p.add_argument("--verbose", action="store_true", help="print all metrics")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("summary", help="params and mult-adds of the zoo models (torchinfo)")
    p.add_argument("model", nargs="?", help="one model: print its torchinfo layer table")
    p.add_argument("--image-size", type=int, default=128, help="square input size (default 128)")
    p.add_argument("--depth", type=int, default=3, help="layer-table depth for one model")
    p.add_argument("--include", default=None, help="fnmatch pattern of models for the table")
    p.set_defaults(func=_summary)

    p = sub.add_parser("bench", help="CPU inference speed of the zoo models (random init), as built and as petzoo.segment() runs them")
    p.add_argument("--models", nargs="*", default=None)
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--seconds", type=float, default=2.0)
    p.set_defaults(func=_bench)

    p = sub.add_parser("export", help="export a model to ONNX or TorchScript")
    model_args(p)
    p.add_argument("--format", choices=["onnx", "torchscript"], default="onnx")
    p.add_argument("--image-size", type=int, default=128, help="input size when --weights none")
    p.add_argument("--out", default=None)
    p.set_defaults(func=_export)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "weights", None) in ("none", "None"):
        args.weights = None
    try:
        return args.func(args)
    except UsageError as err:
        print(f"petzoo {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, RuntimeError, OSError) as err:
        print(f"petzoo {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
