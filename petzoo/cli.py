"""The ``petzoo`` command line: predict, evaluate, summary, bench, export, serve.

Exit codes: 0 success; 1 some inputs failed (the others were processed);
2 bad arguments or a failure before any work.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
MODES = ("mask", "overlay", "cutout", "background")


#: Held (flock) by a predict run in its --out folder, so that a second run into it stops at once.
LOCK_NAME = ".petzoo-predict.lock"


class UsageError(Exception):
    """Bad arguments: reported in one line, exit code 2."""


def _number(kind, low, what, high=None):
    """argparse type: a finite ``kind`` >= ``low`` (and <= ``high``), one clear line otherwise."""

    def parse(text: str):
        import math

        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not math.isfinite(value) or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


POSITIVE_INT = _number(int, 1, "an integer >= 1")
SECONDS = _number(float, 1e-3, "a finite number of seconds > 0, at most 600", high=600)


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


def _is_output(path: Path) -> bool:
    """A file this command writes (``<name>.<mode>.png``)."""
    return path.name.endswith(".png") and path.name[:-4].rpartition(".")[2] in MODES and path.name.count(".") >= 2


def _looks_like_image(path: Path) -> bool:
    """Whether Pillow recognises the file's content (header only, nothing decoded)."""
    from PIL import Image

    try:
        with Image.open(path):
            return True
    except Exception:  # Pillow raises many kinds for a non-image; each means "not one"
        return False


def _inputs(paths: List[str], out_dir: Path) -> List[Path]:
    """Image files from the arguments; folders are listed (regular files that are images by their extension or,
    failing that, by their content; never this run's own outputs when ``--out`` lies inside the folder). What a
    folder held that was not taken is said in one line on stderr. A file given directly is always taken; a
    missing or unreadable one is reported per file."""
    files, skipped = [], []
    out = Path(os.path.realpath(out_dir))
    for p in map(Path, paths):
        if str(p).startswith("skimage:"):
            files.append(_demo_photo(str(p)))
        elif p.is_dir():
            real = Path(os.path.realpath(p))
            inside = real == out or out in real.parents or real in out.parents
            for f in sorted(p.iterdir()):
                if inside and Path(os.path.realpath(f)).parent == out and (_is_output(f) or f.name == LOCK_NAME
                                                                           or _is_temp(f)):
                    continue
                if f.is_file() and (f.suffix.lower() in IMAGE_SUFFIXES or _looks_like_image(f)):
                    files.append(f)
                elif f.is_symlink() and not f.exists():  # a dangling link or a loop: one failed input
                    files.append(f)
                else:
                    skipped.append(f)
        else:
            files.append(p)  # missing or unreadable files are reported per file, not as a usage error
    if skipped:
        names = ", ".join(_shown(f.name) for f in skipped[:3]) + (", ..." if len(skipped) > 3 else "")
        print(f"petzoo predict: skipped {len(skipped)} file(s) that are not images (by extension and content): "
              f"{names}", file=sys.stderr)
    if not files:
        raise UsageError(f"no images found in {', '.join(map(_shown, paths))}")
    return files


def _shown(text) -> str:
    """A path for a message: undecodable bytes of a file name as \\xNN escapes, never an encoding error."""
    return str(text).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


_NAME_MAX = 255  # bytes, as on ext4/APFS/NTFS


def _fit_name(name: str) -> str:
    """``name`` shortened (with a hash, so names stay distinct) to fit a file-name limit."""
    if len(os.fsencode(name)) <= _NAME_MAX:  # file-system bytes: a non-UTF-8 name is a valid name
        return name
    import hashlib

    stem, _, rest = name.partition(".")  # rest: "<mode>.png" or "<suffix>.<mode>.png"
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:12]
    keep = _NAME_MAX - len(os.fsencode(rest)) - len(digest) - 3
    cut = os.fsencode(stem)[:keep]
    for drop in range(4):  # a UTF-8 name loses a character cut in half, as before; other bytes stay as they are
        try:
            cut[:len(cut) - drop].decode()
            cut = cut[:len(cut) - drop]
            break
        except UnicodeDecodeError:
            continue
    return f"{os.fsdecode(cut)}~{digest}.{rest}"


def output_paths(inputs: List[Path], out_dir: Path, mode: str) -> List[Path]:
    """One distinct output per input: ``<stem>.<mode>.png``; where two inputs share it, the
    input folders are mirrored under ``out_dir`` (a/cat.jpg, b/cat.jpg -> a/cat..., b/cat...),
    and where they still clash the suffix is kept (dup.jpg, dup.png -> dup.jpg..., dup.png...)."""
    from collections import Counter

    parents = [Path(os.path.realpath(p.parent)) for p in inputs]  # the folder, never the (maybe looping) link
    common = Path(os.path.commonpath([str(q) for q in parents]))
    names = [_fit_name(f"{p.stem}.{mode}.png") for p in inputs]
    for level in ("folder", "suffix"):
        clashes = Counter(names)
        for i, p in enumerate(inputs):
            if clashes[names[i]] > 1:
                base = p.name if level == "suffix" else p.stem
                names[i] = str(parents[i].relative_to(common) / _fit_name(f"{base}.{mode}.png"))
    targets = [out_dir / n for n in names]
    dupes = [t for t, c in Counter(targets).items() if c > 1]  # the same file given twice
    if dupes:
        raise UsageError(f"{_shown(dupes[0].name)}: two inputs are the same file; give each photo once")
    return targets


def _is_temp(path: Path) -> bool:
    """A temp file of petzoo's own naming (``petzoo._io.atomic_write``)."""
    return path.name.startswith(".petzoo-") and path.name.endswith(".tmp")


def _claim(out_dir: Path):
    """Lock ``out_dir`` for this run (an open file holding an exclusive flock; closing it releases the lock),
    then remove temp files that a killed run left there: no petzoo run is writing into it now."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        return None
    path = out_dir / LOCK_NAME
    lock = open(path, "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(lock.fileno()).st_ino != os.stat(path).st_ino:  # released and removed meanwhile: not ours
            raise OSError
    except OSError:
        lock.close()
        raise UsageError(f"--out {_shown(out_dir)}: another petzoo predict is writing into it; wait for it to "
                         "finish or choose another --out") from None
    return lock


def _release(lock) -> None:
    """Remove the lock file, then let go of the lock (a run that opened the file meanwhile sees it gone)."""
    if lock is None:
        return
    try:
        os.unlink(lock.name)
    except OSError:
        pass
    lock.close()


def _tidy(out_dir: Path, targets: List[Path]) -> None:
    """Before any work: stop at once where another run holds ``out_dir``'s lock; otherwise remove the temp
    files a killed run left where this run writes (whether or not this run goes on)."""
    if not out_dir.is_dir():
        return
    try:
        lock = _claim(out_dir)
    except OSError:  # a folder this run cannot write into: reported by _check_writable
        return
    try:
        stale = _remove_stale_temps({out_dir} | {t.parent for t in targets})
        if stale:
            print(f"petzoo predict: removed {stale} temp file(s) an interrupted run left in {_shown(out_dir)}",
                  file=sys.stderr)
    finally:
        _release(lock)


def _remove_stale_temps(folders) -> int:
    removed = 0
    for folder in folders:
        for f in folder.glob(".petzoo-*.tmp") if folder.is_dir() else ():
            try:
                f.unlink()
                removed += 1
            except OSError:
                pass
    return removed


class Interrupted(Exception):
    """SIGINT or SIGTERM during a run: the photos written so far stay, the run ends with one line."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum, frame):
    raise Interrupted(signum)


def _check_writable(out_dir: Path) -> None:
    import tempfile

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir, prefix=".petzoo-check-"):
            pass
    except OSError as err:
        raise UsageError(f"--out {out_dir}: not a writable folder ({err.strerror or err})") from None


def _out_dir(text: str) -> Path:
    if not text.strip():
        raise UsageError("--out '': name an output folder (e.g. --out petzoo-out)")
    return Path(text)


def _refuse_existing(path: Path, flag: str, overwrite: bool) -> None:
    """An existing output file is replaced only with --overwrite (the rule of every petzoo command)."""
    if path.exists() and not overwrite:
        raise UsageError(f"{flag} {path} exists; pass --overwrite to replace it")


def _background(text: str):
    """--background: an image file (loaded now, so a bad one stops the run before any work) or a colour."""
    from . import inference as S
    from .images import ImageLoadError, load_rgb

    path = Path(text)
    if path.exists():
        try:
            return load_rgb(path)
        except ImageLoadError as err:
            raise UsageError(f"--background {err}") from None
    try:
        return S.parse_colour(text)
    except ValueError as err:
        if path.suffix.lower() in IMAGE_SUFFIXES or "/" in text or "\\" in text:
            raise UsageError(f"--background {text}: no such file") from None
        raise UsageError(f"--background {err}") from None


def _predict(args: argparse.Namespace) -> int:
    """Ctrl-C or SIGTERM at any point ends the run with one line ("interrupted: N of M written"), exit 128 + the
    signal number (130, 143); each output is written atomically, so none is left half-written."""
    import signal
    import threading

    handlers, written, total = {}, [], []
    if threading.current_thread() is threading.main_thread():  # (signal handlers can only be set there)
        handlers = {sig: signal.signal(sig, _raise_interrupted) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _predict_checked(args, written, total)
    except (Interrupted, KeyboardInterrupt) as err:
        signum = err.signum if isinstance(err, Interrupted) else signal.SIGINT
        print(f"petzoo predict: interrupted: {len(written)} of {total[0] if total else '?'} written", file=sys.stderr)
        return 128 + int(signum)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _predict_checked(args: argparse.Namespace, written: list, total: list) -> int:
    from . import inference as S

    if args.weights is None:
        raise UsageError("--weights none: predict needs a published weight (e.g. DEFAULT)")
    if args.mode == "background" and not args.background:
        raise UsageError("--mode background needs --background IMAGE or COLOR")
    if args.matting and args.mode not in ("cutout", "background"):
        raise UsageError(f"--matting applies to --mode cutout or background, not {args.mode}")
    if args.matting:
        try:
            import pymatting  # noqa: F401
        except ImportError:
            raise UsageError("--matting needs pymatting: pip install 'petzoo[matting]'") from None
    background = _background(args.background) if args.mode == "background" else None
    out_dir = _out_dir(args.out)
    inputs = _inputs(args.inputs, out_dir)
    targets = output_paths(inputs, out_dir, args.mode)
    total.append(len(inputs))
    _tidy(out_dir, targets)
    _refuse_existing_outputs(targets, args.overwrite)  # before any work; checked again under the lock
    try:
        S.load_model(args.model, args.weights, args.device)
    except (ValueError, FileNotFoundError) as err:
        raise UsageError(str(err)) from None
    _check_writable(out_dir)
    lock = _claim(out_dir)  # before looking for existing outputs: a concurrent run cannot slip in between
    try:
        return _predict_claimed(args, inputs, targets, background, written)
    finally:
        _release(lock)


def _refuse_existing_outputs(targets: List[Path], overwrite: bool) -> None:
    existing = [t for t in targets if t.exists()]
    if existing and not overwrite:
        raise UsageError(f"{_shown(existing[0])} exists ({len(existing)} of {len(targets)} outputs do); "
                         f"pass --overwrite to replace them")


def _predict_claimed(args, inputs, targets, background, written: list) -> int:
    from . import inference as S
    from ._io import atomic_write
    from .images import ImageLoadError

    _refuse_existing_outputs(targets, args.overwrite)
    failures = []

    def finish(path: Path, target: Path, mask) -> None:
        """Post-process one photo's mask and write its output (in a worker thread unless matting)."""
        if args.clean:
            mask = S.clean_mask(mask)
        if args.mode == "mask":
            result = S.mask_image(mask)
        elif args.mode == "overlay":
            result = S.overlay(path, mask)
        elif not args.matting:
            result = S.cutout(path, mask) if args.mode == "cutout" else S.replace_background(path, mask, background)
        else:
            import warnings

            with warnings.catch_warnings(record=True) as caught:  # matting's fallback: one line per photo
                warnings.simplefilter("always", RuntimeWarning)
                result = (S.cutout(path, mask, matting=True) if args.mode == "cutout"
                          else S.replace_background(path, mask, background, matting=True))
            for w in caught:
                print(f"petzoo predict: warning: {path}: {w.message}", file=sys.stderr)
        atomic_write(target, lambda tmp: result.save(tmp, format="PNG"))

    def failed(path: Path, err: Exception) -> None:
        failures.append(_shown(f"{path}: {err}" if str(path) not in str(err) else str(err)))

    def settle(path: Path, work) -> None:
        """Run ``work()`` (a finish call or a future's result); a photo's failure is recorded, not raised."""
        try:
            work()
            written.append(path)
        except (ImageLoadError, ValueError, OSError) as err:
            failed(path, err)

    # Masks come in input order from iter_segment (decoding and batching run ahead of the model);
    # composing and PNG encoding run in worker threads meanwhile. Matting stays on this thread
    # (its warnings are caught per photo, which is not thread-safe).
    _predict_loop(args, inputs, targets, failed, settle, finish)
    if failures:
        print(f"petzoo predict: {len(failures)} of {len(inputs)} inputs failed:", file=sys.stderr)
        for line in failures:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


def _predict_loop(args, inputs, targets, failed, settle, finish) -> None:
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    from tqdm.auto import tqdm

    from . import inference as S

    masks = S.iter_segment(inputs, model=args.model, weights=args.weights, device=args.device,
                           backend=args.backend, batch_size=args.batch_size, workers=args.workers)
    writing: deque = deque()
    try:
        with ThreadPoolExecutor(args.workers, thread_name_prefix="petzoo-write") as pool:
            for index, mask in tqdm(masks, total=len(inputs), desc="predict", disable=args.quiet):
                path, target = inputs[index], targets[index]
                if isinstance(mask, Exception):
                    failed(path, mask)
                    continue
                if args.matting:
                    settle(path, lambda: finish(path, target, mask))
                    continue
                writing.append((path, pool.submit(finish, path, target, mask)))
                while len(writing) > 2 * args.workers or (writing and writing[0][1].done()):
                    done_path, future = writing.popleft()
                    settle(done_path, future.result)
    finally:  # also when interrupted: leaving the pool waited for the writes handed to it (each atomic)
        while writing:
            done_path, future = writing.popleft()
            settle(done_path, future.result)


def _evaluate(args: argparse.Namespace) -> int:
    import json

    import torch

    from ._factory import get_model_and_weights
    from .engine import evaluate_splits, oxford_splits

    if args.weights is None:
        raise UsageError("--weights none: evaluate needs a published weight (e.g. DEFAULT)")
    if not [s for s in args.splits.split(",") if s.strip()]:
        raise UsageError(f"--splits {args.splits!r}: name at least one split, e.g. test,other_breeds")
    if args.json:
        _refuse_existing(Path(args.json), "--json", args.overwrite)
    datasets = oxford_splits(args.data_path, [s.strip() for s in args.splits.split(",")])
    empty = [name for name, d in datasets.items() if len(d) == 0]
    if empty:
        raise UsageError(f"--splits: {empty[0]} has no labeled images in {datasets[empty[0]].root}; nothing to evaluate")
    model, member = get_model_and_weights(args.model, args.weights)
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
    names = list_models(include=args.include)
    if not names:
        raise UsageError(f"--include {args.include!r} matches no model; models: {', '.join(list_models())}")
    rows = model_table(args.image_size, names)
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

    if args.out is not None and not args.out.strip():
        raise UsageError("--out '': name the file to write (e.g. --out model.onnx)")
    model, member = get_model_and_weights(args.model, args.weights)
    model.eval()
    size = member.transforms().size if member is not None else model.valid_size(args.image_size)
    if member is None and size != (args.image_size, args.image_size):
        raise UsageError(f"--image-size {args.image_size}: {args.model} takes {size[0]}x{size[1]} "
                         f"(multiples of {model.size_multiple}{', fixed size' if model.fixed_size else ''})")
    out = Path(args.out or f"{args.model}.{'onnx' if args.format == 'onnx' else 'pt'}")
    _refuse_existing(out, "--out", args.overwrite)
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


def _serve(args: argparse.Namespace) -> int:
    from .serve import Settings, serve

    if args.weights is None:
        raise UsageError("--weights none: serve needs a published weight (e.g. DEFAULT)")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"petzoo serve: listening on {args.host}: reachable from other machines", file=sys.stderr)
    settings = Settings(model=args.model, weights=args.weights, backend=args.backend, workers=args.workers,
                        max_upload_mb=args.max_upload_mb, max_pixels=args.max_pixels, queue=args.queue)
    try:
        serve(args.host, args.port, settings, log_level=args.log_level)
    except ImportError as err:
        raise UsageError(str(err)) from None
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="petzoo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def model_args(p, weights_default="DEFAULT"):
        from ._registry import DEFAULT_MODEL

        p.add_argument("--model", default=DEFAULT_MODEL, type=str.lower, help=f"zoo model (default {DEFAULT_MODEL})")
        p.add_argument("--weights", default=weights_default, help="weight name, e.g. DEFAULT or OXFORD_PET_V1")
        p.add_argument("--device", default="cpu")

    p = sub.add_parser("predict", help="segment images: mask, overlay, cut-out or new background")
    p.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR",
                   help="image files, folders of images, or skimage:NAME (a photo bundled with scikit-image)")
    model_args(p)
    p.add_argument("--out", default="petzoo-out",
                   help="output folder (default petzoo-out): <stem>.<mode>.png per input, at the photo's own size; "
                        "<name>.<mode>.png where two inputs share a stem, the input folders mirrored where two "
                        "share a name; existing files are never replaced without --overwrite")
    p.add_argument("--mode", default="mask", choices=MODES,
                   help="mask: palette PNG of class ids (0 pet, 1 background, 2 border); overlay; "
                        "cutout: RGBA, alpha 255 pet / 128 border / 0 background; background: pet on --background")
    p.add_argument("--background", help="image file, or a colour Pillow knows ('#rrggbb', 'rgb(r,g,b)', "
                                        "'hsl(h,s%%,l%%)', a name) or 'r,g,b', for --mode background")
    p.add_argument("--matting", action="store_true",
                   help="cutout/background: soft edges, an alpha matte estimated from the predicted trimap "
                        "(pymatting; solved at most at 640 px, then upsampled)")
    p.add_argument("--backend", default="torch", choices=["torch", "onnxruntime", "auto"],
                   help="torch (default); onnxruntime: the weight exported once to the cache, checked against "
                        "PyTorch, reused; auto: onnxruntime where installed and measured faster for this weight")
    p.add_argument("--clean", action="store_true", help="drop small pet islands and fill small holes in the mask")
    p.add_argument("--batch-size", type=POSITIVE_INT, default=1,
                   help="photos per batch (default 1; all are resized to the weight's input size; on the CPU a "
                        "batch runs as passes of at most petzoo.inference.CPU_BATCH_PIXELS input pixels). "
                        "Measured on 200 photos, 2 cores: segnet_dsc 1.7x slower at 8 than at 1 (memory-bound), "
                        "unet within noise")
    p.add_argument("--workers", type=POSITIVE_INT, default=2,
                   help="threads decoding photos ahead of the model and writing outputs behind it (default 2)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing outputs (without it, an existing output stops the run before any work)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_predict)

    p = sub.add_parser("evaluate", help="metrics of a published weight on dataset splits")
    model_args(p)
    p.add_argument("--splits", default="test,other_breeds")
    p.add_argument("--data-path", default=None, help="Oxford-IIIT Pet root (default $PETZOO_DATA or ../shared/...)")
    p.add_argument("--json", default=None, help="write all metrics to this JSON file (never replaced without --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    p.add_argument("--verbose", action="store_true", help="print all metrics")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("summary", help="params and mult-adds of the zoo models (torchinfo)")
    p.add_argument("model", nargs="?", type=str.lower, help="one model: print its torchinfo layer table")
    p.add_argument("--image-size", type=POSITIVE_INT, default=128, help="square input size (default 128)")
    p.add_argument("--depth", type=POSITIVE_INT, default=3, help="layer-table depth for one model")
    p.add_argument("--include", default=None, help="fnmatch pattern of models for the table")
    p.set_defaults(func=_summary)

    p = sub.add_parser("bench", help="CPU inference speed of the zoo models (random init), as built and as petzoo.segment() runs them")
    p.add_argument("--models", nargs="*", type=str.lower, default=None)
    p.add_argument("--image-size", type=POSITIVE_INT, default=128)
    p.add_argument("--batch-size", type=POSITIVE_INT, default=1)
    p.add_argument("--seconds", type=SECONDS, default=2.0, help="timing duration per measurement")
    p.set_defaults(func=_bench)

    p = sub.add_parser("serve", help="HTTP API and web page for cutting pets out (the serve extra)",
                       description="HTTP API (POST /v1/segment, GET /v1/models, GET /healthz; OpenAPI at /docs) "
                                   "and a web page at /. Loopback only unless --host says otherwise.")
    p.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=_number(int, 0, "a port 0..65535", high=65535), default=8000)
    model_args(p)
    p.add_argument("--backend", default="torch", choices=["torch", "onnxruntime", "auto"])
    p.add_argument("--workers", type=POSITIVE_INT, default=1, help="photos segmented at once (threads, default 1)")
    p.add_argument("--max-upload-mb", type=_number(float, 0.001, "megabytes > 0"), default=25.0,
                   help="largest request body (default 25; refused with 413 before it is read)")
    p.add_argument("--max-pixels", type=_number(float, 1, "a pixel count >= 1"), default=50e6,
                   help="largest image (default 50e6; refused with 413 from its header, never decoded)")
    p.add_argument("--queue", type=_number(int, 0, "an integer >= 0"), default=16,
                   help="requests waiting for a worker before the server answers 503 (default 16)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(func=_serve)

    p = sub.add_parser("export", help="export a model to ONNX or TorchScript")
    model_args(p)
    p.add_argument("--format", choices=["onnx", "torchscript"], default="onnx")
    p.add_argument("--image-size", type=POSITIVE_INT, default=128, help="input size when --weights none")
    p.add_argument("--out", default=None, help="file to write (default <model>.onnx or <model>.pt; never replaced "
                                               "without --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=_export)
    return parser


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"petzoo: warning: {message}\n"


def main(argv: Optional[List[str]] = None) -> int:
    import warnings

    warnings.formatwarning = _one_line_warning  # e.g. a corrupt cache entry: one line naming it
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
