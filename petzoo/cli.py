"""The ``petzoo`` command line."""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="petzoo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("summary", help="params and mult-adds of the zoo models (torchinfo)")
    p.add_argument("model", nargs="?", help="one model: print its torchinfo layer table")
    p.add_argument("--image-size", type=int, default=128, help="square input size (default 128)")
    p.add_argument("--depth", type=int, default=3, help="layer-table depth for one model")
    p.add_argument("--include", default=None, help="fnmatch pattern of models for the table")
    p.set_defaults(func=_summary)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"petzoo {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
