"""Reference training / evaluation script for petzoo models.

Single process:  python train_reference/train.py --model segnet_dsc --epochs 20 --output-dir runs/x
Several (DDP):   torchrun --nproc-per-node 2 train_reference/train.py ...   (gloo on CPU, nccl on GPU)
Evaluate only:   python train_reference/train.py --model segnet_dsc --test-only --weights runs/x/best.safetensors
Semi-supervised: python train_reference/train.py --model mobile_fpn --teachers UNet_Weights.DEFAULT ... --distill \
                     --zoom 3 --aug strong --cutmix 0.5 ...
  Offline self-training (ST++-style): the teachers' flip-averaged predictions on the
  unlabeled split (petzoo.datasets.UnlabeledOxfordIIITPet: official trainval photos
  without a trimap, held-out breeds excluded, never official test) are cached once
  (train_reference/pseudo_labels.py makes the same cache) and the student trains on
  labeled + unlabeled images: --pseudo-threshold T for hard pseudo-labels (pixels
  below T ignored), --distill for the teachers' soft predictions.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import hashlib
import json
import math
import os
import random
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file

import petzoo
from petzoo._io import atomic_write, write_json
from petzoo.data import (AUGMENTATIONS, SoftTargetSet, TensorSegmentationSet, WeakStrongSet, build_augmentation, cutmix,
                         resized_split)
from petzoo.datasets import OxfordIIITPet
from petzoo.engine import evaluate_splits, oxford_splits, evaluate_tensors, train_one_epoch
from petzoo.hub import read_safetensors
from petzoo.profile import describe_device
from petzoo.losses import SoftTargetCrossEntropy, build_loss
from petzoo.pseudo import ONLINE_STEPS
from petzoo.transforms import IMAGENET_MEAN, IMAGENET_STD, INTERPOLATIONS, SegmentationPresetEval

REPO = Path(__file__).resolve().parent.parent


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, choices=petzoo.list_models())
    p.add_argument("--model-kwargs", default="{}", help='JSON keyword arguments of the builder, e.g. \'{"width": 32}\'')
    p.add_argument("--weights-backbone", default=None,
                   help="ImageNet weights for the encoder of a builder that takes them, e.g. IMAGENET1K "
                        "(pip install \"petzoo[train]\"); ignored with --finetune-from/--resume/--weights")
    p.add_argument("--backbone-lr-mult", type=float, default=1.0,
                   help="learning-rate multiplier of the encoder (model.encoder) relative to --lr")
    p.add_argument("--data-path", default=None, help="Oxford-IIIT Pet root (default $PETZOO_DATA or ../shared/...)")
    p.add_argument("--train-split", default="trainval")
    p.add_argument("--test-splits", default="test,other_breeds", help="comma list evaluated after training / with --test-only")
    p.add_argument("--val-split", type=float, default=0.0, help="fraction of the train split held out for validation")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=16, help="per process")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--opt", default="adam", choices=["sgd", "adam", "adamw"])
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--lr-scheduler", default="none", choices=["none", "cosine", "poly"])
    p.add_argument("--warmup-epochs", type=float, default=0.0)
    p.add_argument("--loss", default="ce", help='"ce", "ce+dice", "ce:1,iou:0.5", ... (see petzoo.losses)')
    p.add_argument("--class-weights", default=None, help="comma list of 3 CE weights (pet,background,border)")
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument(
        "--progressive", default=None,
        help='epochs per size, e.g. "64:8,96:4,128:4" (overrides --image-size/--epochs; last size is the final one)',
    )
    p.add_argument("--interpolation", default="bilinear", choices=INTERPOLATIONS, help="image resize")
    p.add_argument("--aug", default="basic", choices=AUGMENTATIONS)
    semi = p.add_argument_group("semi-supervised (offline self-training or online consistency on the unlabeled split)")
    semi.add_argument("--semi", default=None, choices=sorted(ONLINE_STEPS),
                      help="online weak-to-strong consistency: the model labels each unlabeled image's weak view "
                           "(pixels below --pseudo-threshold ignored) and learns it on the strong view; no teacher. "
                           "unimatch: also on the weak view with channel dropout (0.5) on the encoder features")
    semi.add_argument("--teachers", nargs="*", default=[], help="published weights, e.g. UNet_Weights.DEFAULT")
    semi.add_argument("--teachers-files", nargs="*", default=[], help="MODEL:SIZE:PATH.safetensors[:JSON kwargs]")
    semi.add_argument("--pseudo-threshold", type=float, default=None,
                      help="hard pseudo-labels: argmax where the teachers' (--semi: the model's) probability >= T, "
                           "ignored elsewhere")
    semi.add_argument("--distill", action="store_true", help="soft targets: the teachers' probabilities")
    semi.add_argument("--pseudo-size", type=int, default=192,
                      help="size at which images and teacher predictions are cached (crops are taken from it)")
    semi.add_argument("--unlabeled-limit", type=int, default=None, help="N unlabeled images spread evenly over the split's sorted stems, so every "
                      "breed stays in (smoke runs, half-scale validation)")
    semi.add_argument("--distill-labeled", type=float, default=0.0, metavar="W",
                      help="with --distill: the labeled images' targets are (1 - W) x one-hot label + W x the teachers' "
                           "soft prediction on them (cached like the unlabeled ones); 0 = labels only")
    semi.add_argument("--no-tta", action="store_true", help="teachers without horizontal-flip averaging")
    semi.add_argument("--zoom", type=float, default=1.0,
                      help="random resized crops zooming in up to this factor (close-ups); 1 = whole image")
    semi.add_argument("--cutmix", type=float, default=0.0, help="probability of CutMix per image")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--deterministic", action="store_true", help="deterministic algorithms (bit-reproducible)")
    p.add_argument("--sync-bn", action="store_true", help="SyncBatchNorm under DDP")
    p.add_argument("--output-dir", default=None, help="run folder (config.json, metrics.jsonl, last.pt, best.safetensors)")
    p.add_argument("--resume", default=None, help="a last.pt to continue from")
    p.add_argument(
        "--finetune-from", default=None,
        help="start from these weights (a .safetensors file or 'Enum.NAME'), with a fresh optimizer and schedule",
    )
    p.add_argument("--time-budget", type=float, default=None, help="minutes; stop cleanly before exceeding it")
    p.add_argument("--test-only", action="store_true")
    p.add_argument("--weights", default=None, help="safetensors file or 'Enum.NAME' for --test-only")
    p.add_argument("--eval-batch-size", type=int, default=32)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--log-every", type=float, default=5.0,
                   help="minutes between progress lines (samples, img/s, minutes left) when --no-progress; 0: none")
    p.add_argument("--hold-memory", action=argparse.BooleanOptionalAction, default=True,
                   help="glibc: keep freed memory in the process instead of handing each large tensor back to the "
                        "OS (no page faults on every step's activations; speed only, same numbers)")
    return p


def parse_schedule(args) -> list[tuple[int, int]]:
    """[(image_size, epochs), ...] from --progressive or --image-size/--epochs."""
    if not args.progressive:
        return [(args.image_size, args.epochs)]
    phases = []
    for part in args.progressive.split(","):
        try:
            size, epochs = (int(v) for v in part.split(":"))
        except ValueError:
            raise SystemExit(f"--progressive: {part!r} is not SIZE:EPOCHS (e.g. 64:8)") from None
        phases.append((size, epochs))
    return phases


def command_line(argv: list[str], script: Path = Path(__file__)) -> str:
    """How this run was started (``argv`` without the program), ``script``'s path relative to the repo."""
    script = script.resolve().relative_to(REPO)
    prefix = "torchrun --nproc-per-node " + os.environ["WORLD_SIZE"] if "WORLD_SIZE" in os.environ else "python"
    return " ".join([prefix, str(script), *(shlex.quote(a) for a in argv)])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def git_commit() -> str:
    """HEAD (with -dirty), or $PETZOO_GIT_COMMIT for copies of the tree without .git."""
    if os.environ.get("PETZOO_GIT_COMMIT"):
        return os.environ["PETZOO_GIT_COMMIT"]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout
        return out.stdout.strip() + ("-dirty" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def init_distributed(args):
    """(rank, world_size, device) from torchrun's environment; plain values otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        if args.device.startswith("cuda"):
            torch.cuda.set_device(local)
            device = torch.device("cuda", local)
        else:
            device = torch.device(args.device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return rank, world, device
    return 0, 1, torch.device(args.device)


def build_model(args, model_kwargs: dict):
    """The model of --model with --model-kwargs; --weights-backbone only where the builder takes it."""
    import inspect

    if args.weights_backbone is not None:
        if "weights_backbone" not in inspect.signature(petzoo.get_model_builder(args.model)).parameters:
            raise SystemExit(f"--weights-backbone: {args.model} has no pretrained encoder; models that have one: "
                             + ", ".join(m for m in petzoo.list_models()
                                         if "weights_backbone" in inspect.signature(petzoo.get_model_builder(m)).parameters))
        try:
            return petzoo.get_model(args.model, weights_backbone=args.weights_backbone, **model_kwargs)
        except (ValueError, TypeError, ModuleNotFoundError) as err:
            raise SystemExit(f"--weights-backbone {args.weights_backbone!r}: {err}") from None
    try:
        return petzoo.get_model(args.model, **model_kwargs)
    except (ValueError, TypeError) as err:
        raise SystemExit(f"--model-kwargs {args.model_kwargs}: {err}") from None


def param_groups(args, model) -> list[dict]:
    """One group, or with --backbone-lr-mult the encoder's parameters at lr x mult beside the rest at lr."""
    if args.backbone_lr_mult == 1.0:
        return [{"params": list(model.parameters())}]
    encoder = getattr(model, "encoder", None)
    if encoder is None:
        raise SystemExit(f"--backbone-lr-mult: {args.model} has no .encoder")
    ids = {id(p) for p in encoder.parameters()}
    return [{"params": [p for p in model.parameters() if id(p) in ids], "lr": args.lr * args.backbone_lr_mult},
            {"params": [p for p in model.parameters() if id(p) not in ids]}]


def build_optimizer(args, params):
    if args.opt == "sgd":
        return torch.optim.SGD(params, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    cls = torch.optim.AdamW if args.opt == "adamw" else torch.optim.Adam
    return cls(params, lr=args.lr, weight_decay=args.weight_decay)


def build_scheduler(args, optimizer, total_iters: int, iters_per_epoch: int):
    if args.lr_scheduler == "none" and not args.warmup_epochs:
        return None
    warmup = int(args.warmup_epochs * iters_per_epoch)

    def factor(it: int) -> float:
        if it < warmup:
            return (it + 1) / warmup
        t = (it - warmup) / max(1, total_iters - warmup)
        if args.lr_scheduler == "cosine":
            return 0.5 * (1 + math.cos(math.pi * t))
        if args.lr_scheduler == "poly":
            return (1 - t) ** 0.9
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def split_indices(n: int, val_fraction: float, seed: int):
    """Deterministic (train, val) index lists carved from one split."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    n_val = int(round(n * val_fraction))
    return sorted(order[n_val:]), sorted(order[:n_val])


def unwrap(model):
    return model.module if hasattr(model, "module") else model


def gather_parameter_hashes(model, world: int) -> list[str]:
    """sha256 of each rank's parameters (DDP keeps them identical; buffers may differ)."""
    digest = hashlib.sha256()
    for _, p in sorted(model.named_parameters()):
        digest.update(p.detach().cpu().contiguous().numpy().tobytes())
    hashes = [None] * world
    if world > 1:
        dist.all_gather_object(hashes, digest.hexdigest())
    else:
        hashes = [digest.hexdigest()]
    return hashes


def evaluate(args, model, size, device, progress, datasets: dict) -> dict:
    """Each dataset at label and model resolution, preprocessed as the run's images were."""
    prep = SegmentationPresetEval(size, IMAGENET_MEAN, IMAGENET_STD, args.interpolation)
    return evaluate_splits(unwrap(model), datasets, prep, device, args.eval_batch_size, progress,
                           report=lambda line: print(line, flush=True))


def spread(items: list, n: int) -> list:
    """``n`` of ``items`` (all of them if fewer) at evenly spaced positions, in order."""
    if n >= len(items):
        return list(items)
    return [items[i * len(items) // n] for i in range(n)]


def labeled_and_unlabeled(args, full, train_idx, progress: bool):
    """(the unlabeled split, images uint8: the labeled train images then the unlabeled ones, one-hot targets
    uint8 x 255 of the labeled ones) at --pseudo-size: what every semi-supervised method trains on."""
    from petzoo.data import one_hot_targets, resized_images
    from petzoo.datasets import UnlabeledOxfordIIITPet

    unlabeled = UnlabeledOxfordIIITPet(args.data_path)
    if args.unlabeled_limit:
        unlabeled.stems = spread(unlabeled.stems, args.unlabeled_limit)
    u_images = resized_images(unlabeled, args.pseudo_size, progress=progress)
    l_images, l_masks = resized_split(full, args.pseudo_size, args.interpolation, progress=progress)
    return unlabeled, torch.cat([l_images[train_idx], u_images]), one_hot_targets(l_masks[train_idx], 3)


def semi_supervised_data(args, full, train_idx, progress: bool):
    """(images uint8, targets uint8 probabilities x 255, info) of the labeled train images (one-hot) and the
    unlabeled split (the teachers' cached soft predictions), at --pseudo-size."""
    from petzoo.pseudo import IGNORE_INDEX, cached_soft_labels, file_teacher, hard_labels, published_teachers

    try:
        teachers = published_teachers(args.teachers) + [file_teacher(s) for s in args.teachers_files]
    except (ValueError, KeyError, AttributeError) as err:
        raise SystemExit(f"--teachers: {err}") from None
    unlabeled, images, labeled_targets = labeled_and_unlabeled(args, full, train_idx, progress)
    probs, path = cached_soft_labels(teachers, images[len(labeled_targets):], unlabeled.fingerprint(),
                                     tta=not args.no_tta, progress=progress)
    labeled_info = {}
    if args.distill_labeled:
        # the labeled train images' own teacher predictions, keyed by the labeled split and which of it is train
        fingerprint = hashlib.sha256(f"{full.fingerprint()}:{train_idx}".encode()).hexdigest()
        l_probs, l_path = cached_soft_labels(teachers, images[:len(labeled_targets)], fingerprint,
                                             tta=not args.no_tta, progress=progress)
        w = args.distill_labeled
        labeled_targets = ((1 - w) * labeled_targets.float() + w * l_probs.float()).round().to(torch.uint8)
        labeled_info = {"distill_labeled": w, "labeled_soft_labels": l_path.name}
    targets = torch.cat([labeled_targets, probs])
    info = {
        "teachers": [t[0] for t in teachers], "teacher_names": args.teachers + args.teachers_files,
        "tta": not args.no_tta, "unlabeled_images": len(unlabeled), "unlabeled_fingerprint": unlabeled.fingerprint(),
        "soft_labels": path.name, "labeled_images": len(train_idx), **labeled_info,
    }
    if args.pseudo_threshold is not None:
        info["threshold"] = args.pseudo_threshold
        info["ignored_share"] = round((hard_labels(probs, args.pseudo_threshold) == IGNORE_INDEX).float().mean().item(), 4)
    return images, targets, info


def online_data(args, full, train_idx, progress: bool):
    """(images uint8: the labeled train images then the unlabeled split, one-hot targets of the labeled ones,
    info) at --pseudo-size, for --semi."""
    unlabeled, images, labeled_targets = labeled_and_unlabeled(args, full, train_idx, progress)
    info = {
        "method": args.semi, "threshold": args.pseudo_threshold, "unlabeled_images": len(unlabeled),
        "unlabeled_fingerprint": unlabeled.fingerprint(), "labeled_images": len(train_idx),
    }
    return images, labeled_targets, info


def load_weights(model, spec: str, flag: str) -> None:
    """Load ``spec`` (a .safetensors file or 'Enum.NAME') into ``model``; ``flag`` names the argument."""
    if Path(spec).is_file():
        try:
            state = read_safetensors(spec)
        except ValueError as err:
            raise SystemExit(f"{flag} {err}") from None
    else:
        try:
            state = petzoo.get_weight(spec).get_state_dict()
        except (ValueError, KeyError, AttributeError) as err:
            raise SystemExit(f"{flag} {spec!r}: neither a file nor a published weight ({err})") from None
    # a model with narrowed blocks (``encoder_expansions``) starts from a full-width weight's strongest channels; a
    # ViT at another image size from a weight's position embedding resampled to its grid
    for hook, what in (("narrow_state_dict", "hidden channels narrowed by importance"),
                       ("resample_state_dict", "resampled")):
        if hasattr(model, hook):
            try:
                state, done = getattr(model, hook)(state)
            except (ValueError, KeyError) as err:
                raise SystemExit(f"{flag} {spec!r} does not fit the model: {err}") from None
            if done:
                print(f"{flag} {spec}: {what} ({'; '.join(done)})")
    # a model may start some modules as the identity (``identity_init_prefixes``, e.g. a stride-2 head on a
    # stride-4 weight): those, and only those, may be absent from the start
    optional = tuple(getattr(model, "identity_init_prefixes", ()))
    missing, unexpected = model.load_state_dict(state, strict=False)
    absent = [k for k in missing if not k.startswith(optional)]  # str.startswith(()) is False: all of them
    if absent or unexpected:
        raise SystemExit(f"{flag} {spec!r} does not fit the model: missing {absent[:5]}{'...' if len(absent) > 5 else ''}, "
                         f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}")
    if missing:
        print(f"{flag} {spec}: {len(missing)} tensors not in it start as the identity ({', '.join(optional)})")


@contextlib.contextmanager
def deterministic_mode(enabled: bool):
    """--deterministic for the run only: the process-wide switches go back as they were afterwards
    (main() is also called in-process, by tests and notebooks)."""
    if not enabled:
        yield
        return
    before = (torch.are_deterministic_algorithms_enabled(),
              torch.is_deterministic_algorithms_warn_only_enabled(), torch.backends.cudnn.benchmark)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.backends.cudnn.benchmark = before[2]


def pace_report(epochs_after: int):
    """--log-every's line printer for one epoch: the engine's pace line and the epochs still to come."""
    return lambda line: print(f"{line}; {epochs_after} epoch(s) after this one", flush=True)


def hold_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory: no mmap for large blocks (M_MMAP_MAX 0) and no trimming of the heap's
    top (M_TRIM_THRESHOLD at the largest value mallopt takes). By default every tensor over 32 MB (a batch's
    activations) is mmapped and unmapped again, so each step page-faults its activations in anew. Where faults are
    dear that dominates: on the sandboxed 2-core CPU, half its time in the kernel, segnet_dsc at 256 px trained at
    0.97 img/s without it and 2.3-2.5 img/s with it (train_reference/recipes.py). False where it does not apply."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_max = -1, -4  # <malloc.h>
    return mallopt(m_mmap_max, 0) == 1 and mallopt(m_trim_threshold, 2**31 - 1) == 1


def main(args, argv: list[str] | None = None) -> dict:
    """Train (or with --test-only evaluate); ``argv`` is recorded as the command (default sys.argv)."""
    with deterministic_mode(args.deterministic):
        return _main(args, argv)


def _main(args, argv: list[str] | None) -> dict:
    rank, world, device = init_distributed(args)
    is_main = rank == 0
    if args.hold_memory:
        hold_freed_memory()
    progress = is_main and not args.no_progress
    model_kwargs = json.loads(args.model_kwargs)
    seed_everything(args.seed)
    model = build_model(args, model_kwargs).to(device)
    schedule = parse_schedule(args)
    final_size = schedule[-1][0]

    if args.test_only:
        if args.weights is None:
            raise SystemExit("--test-only needs --weights (a .safetensors file or 'Enum.NAME')")
        load_weights(model, args.weights, "--weights")
        results = evaluate(args, model, final_size, device, progress, oxford_splits(args.data_path, args.test_splits))
        if args.output_dir and is_main:
            out = Path(args.output_dir)
            out.mkdir(parents=True, exist_ok=True)
            write_json(out / "eval.json", {"weights": args.weights, "image_size": final_size, "results": results})
        return results

    offline = bool(args.teachers or args.teachers_files)
    online = args.semi is not None
    semi = offline or online
    if args.log_every < 0:
        raise SystemExit(f"--log-every {args.log_every:g}: expected minutes between progress lines, >= 0 (0: none)")
    if online and (offline or args.distill):
        raise SystemExit(f"--semi {args.semi}: the model labels the unlabeled images itself; drop --teachers/--distill")
    if online and args.aug != "strong":
        raise SystemExit(f"--semi {args.semi}: the strong view is --aug strong's perturbation; pass --aug strong")
    if online and args.pseudo_threshold is None:
        raise SystemExit(f"--semi {args.semi} needs --pseudo-threshold T (e.g. 0.95): pixels below it are ignored")
    if offline and (args.pseudo_threshold is None) == (not args.distill):
        raise SystemExit("--teachers: choose one of --pseudo-threshold T (hard pseudo-labels) or --distill (soft)")
    if args.distill_labeled and (not args.distill or not 0 < args.distill_labeled <= 1):
        raise SystemExit(f"--distill-labeled {args.distill_labeled:g}: expected a weight in (0, 1] with --distill "
                         "(and --teachers or --teachers-files)")
    if not semi and (args.pseudo_threshold is not None or args.distill or args.zoom != 1 or args.cutmix):
        raise SystemExit("--pseudo-threshold/--distill/--zoom/--cutmix need --teachers, --teachers-files or --semi")
    if offline and args.teachers and args.val_split:
        raise SystemExit(
            "--val-split with --teachers: published weights were trained on all of trainval, so they saw the "
            "validation images; pass teachers trained on the train part with --teachers-files"
        )
    if semi and args.loss != "ce":
        raise SystemExit("--teachers/--semi: the loss is the soft-target cross-entropy; leave --loss at ce")
    if args.finetune_from:
        load_weights(model, args.finetune_from, "--finetune-from")
    if args.sync_bn and device.type != "cuda":
        raise SystemExit("--sync-bn needs CUDA devices (torch's SyncBatchNorm is GPU-only)")
    if args.sync_bn and world > 1:
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    train_model = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model

    full = OxfordIIITPet(args.data_path, args.train_split)
    train_idx, val_idx = split_indices(len(full), args.val_split, args.seed)
    class_weights = [float(v) for v in args.class_weights.split(",")] if args.class_weights else None
    semi_info = None
    step = None
    if offline:
        semi_images, semi_targets, semi_info = semi_supervised_data(args, full, train_idx, progress)
    elif online:
        semi_images, semi_targets, semi_info = online_data(args, full, train_idx, progress)
        step = ONLINE_STEPS[args.semi](model, args.pseudo_threshold, args.cutmix, device, args.channels_last)
    if semi:
        criterion = SoftTargetCrossEntropy()
    else:
        criterion = build_loss(args.loss, class_weights).to(device)
    optimizer = build_optimizer(args, param_groups(args, model))
    n_train = len(semi_images) if semi else len(train_idx)
    iters = [math.ceil(n_train / world / args.batch_size) * e for _, e in schedule]
    scheduler = build_scheduler(args, optimizer, sum(iters), iters[0] // max(schedule[0][1], 1))

    out = Path(args.output_dir) if args.output_dir else None
    start_epoch, best = 0, -1.0
    if args.resume:
        ckpt = torch.load(args.resume, map_location="cpu", weights_only=False)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(ckpt["scheduler"])
        start_epoch, best = ckpt["epoch"] + 1, ckpt["best"]
    if out and is_main:
        out.mkdir(parents=True, exist_ok=True)
        config = {
            "command": command_line(sys.argv[1:] if argv is None else argv),
            "args": vars(args),
            "git_commit": git_commit(),
            "dataset_fingerprint": full.fingerprint(),
            "train_size": len(train_idx),
            "val_size": len(val_idx),
            "world_size": world,
            "device": (
                describe_device(device, detail=False) + ("" if device.type == "cuda" else f", {torch.get_num_threads()} threads")
            ),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "semi_supervised": semi_info,
        }
        write_json(out / "config.json", config)

    sizes = [size for size, n_epochs in schedule for _ in range(n_epochs)]  # image size of each epoch
    epochs_done, t_start, epoch_seconds = start_epoch, time.time(), 0.0
    loaded_size = None
    for epoch in range(start_epoch, len(sizes)):
        size = sizes[epoch]
        if args.time_budget and (time.time() - t_start + epoch_seconds) / 60 > args.time_budget:
            if is_main:
                print(f"time budget of {args.time_budget} min reached before epoch {epoch}; stopping", flush=True)
            break
        if size != loaded_size:  # a new phase of a progressive schedule
            images, masks = resized_split(full, size, args.interpolation, progress=progress)
            augment = build_augmentation(args.aug)
            if online:
                train_set = WeakStrongSet(semi_images, semi_targets, size, args.zoom)
            elif offline:
                train_set = SoftTargetSet(semi_images, semi_targets, size, args.zoom, augment, args.pseudo_threshold)
            else:
                train_set = TensorSegmentationSet(images[train_idx], masks[train_idx], augment)
            val_set = TensorSegmentationSet(images[val_idx], masks[val_idx]) if val_idx else None
            sampler = torch.utils.data.DistributedSampler(
                train_set, world, rank, shuffle=True, seed=args.seed, drop_last=True
            )
            collate = None
            if args.cutmix and not online:  # online: CutMix after the weak views are labeled
                def collate(batch, p=args.cutmix):
                    return cutmix(*torch.utils.data.default_collate(batch), p)
            loader = torch.utils.data.DataLoader(
                train_set, batch_size=args.batch_size, sampler=sampler, num_workers=args.workers, drop_last=True,
                pin_memory=device.type == "cuda", collate_fn=collate,
            )
            loaded_size = size
        t0 = time.time()
        epoch_seed = args.seed * 1000 + epoch + rank * 7919
        seed_everything(epoch_seed)
        if semi:
            train_set.set_random_seed(epoch_seed)
        elif augment is not None:
            augment.set_random_seed(epoch_seed)
        sampler.set_epoch(epoch)
        if step is not None:
            step.reset()
        stats = train_one_epoch(
            train_model, loader, criterion, optimizer, device, scheduler, args.amp, args.channels_last,
            progress, desc=f"epoch {epoch} @{size}px", prepare=step,
            report=pace_report(len(sizes) - epoch - 1) if is_main and not progress and args.log_every > 0 else None,
            report_every=args.log_every * 60,
        )
        row = {"epoch": epoch, "image_size": size, **stats}
        if step is not None:  # FixMatch's / UniMatch's mask ratio: unlabeled pixels that got a pseudo-label
            row["confident_share"] = round(step.confident_share(), 4)
        if val_set is not None:
            vl = torch.utils.data.DataLoader(val_set, batch_size=args.eval_batch_size)
            m = evaluate_tensors(model, vl, device, 3, args.amp, args.channels_last).compute()
            row["val"] = {k: m[k] for k in ("pixel_acc", "miou", "seed_iou")}
        epoch_seconds = time.time() - t0
        row["seconds"] = round(epoch_seconds, 2)
        score = row["val"]["miou"] if val_set is not None else epoch
        if is_main:
            print(json.dumps(row), flush=True)
            if out:
                with open(out / "metrics.jsonl", "a") as f:
                    f.write(json.dumps(row) + "\n")
                if score >= best:
                    best = score
                    state = {k: v.contiguous() for k, v in model.state_dict().items()}
                    atomic_write(out / "best.safetensors", lambda tmp: save_file(state, tmp))
                ckpt = {
                    "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict() if scheduler else None,
                    "epoch": epoch, "best": best, "args": vars(args),
                }
                atomic_write(out / "last.pt", lambda tmp: torch.save(ckpt, tmp))
        epochs_done = epoch + 1

    train_minutes = (time.time() - t_start) / 60
    rank_hashes = gather_parameter_hashes(model, world)
    results = {}
    if is_main:
        if val_idx and out and (out / "best.safetensors").is_file():
            model.load_state_dict(load_file(str(out / "best.safetensors")))  # best on validation
        splits = oxford_splits(args.data_path, args.test_splits)
        if val_idx:  # the validation images at label resolution, comparable across image sizes
            splits["val"] = full.subset(val_idx, f"{args.train_split}-val")
        results = evaluate(args, model, final_size, device, progress, splits)
        summary = {
            "epochs_done": epochs_done, "epochs_planned": sum(e for _, e in schedule),
            "train_minutes": round(train_minutes, 2), "image_size": final_size, "results": results,
            "rank_parameter_sha256": rank_hashes,
        }
        if out:
            write_json(out / "eval.json", summary)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return results


if __name__ == "__main__":
    main(get_args_parser().parse_args())
