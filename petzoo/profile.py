"""Parameters and mult-adds of zoo models (torchinfo, cross-checked by FlopCounterMode)."""
from __future__ import annotations

import os
import platform
import time
from typing import Any, Callable, Dict, List, Optional

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ._factory import get_model
from ._registry import list_models


def describe_device(device: "torch.device | str" = "cpu", detail: bool = True) -> str:
    """The hardware a number was measured on, in words (GPU name, or CPU arch, cores and threads)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    text = f"{platform.machine()} CPU"
    if detail:
        text += f", {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads"
    return text


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _dummy(model: nn.Module, image_size: int, batch_size: int) -> torch.Tensor:
    param = next(model.parameters())
    return torch.zeros(batch_size, 3, image_size, image_size, dtype=param.dtype, device=param.device)


def torchinfo_gmacs(model: nn.Module, image_size: int) -> float:
    """Mult-adds per image (GMACs) as torchinfo counts them (layers, not attention matmuls)."""
    import torchinfo

    stats = torchinfo.summary(
        model, input_size=(1, 3, image_size, image_size), verbose=0, mode="eval", device="cpu"
    )
    return stats.total_mult_adds / 1e9


def flop_counter_gmacs(model: nn.Module, image_size: int) -> float:
    """Mult-adds per image (GMACs) = FLOPs / 2 from torch.utils.flop_counter (sees attention)."""
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(_dummy(model, image_size, 1))
    model.train(was_training)
    return counter.get_total_flops() / 2e9


def profile(model: nn.Module, image_size: int) -> Dict[str, float]:
    """num_params, ``gmacs`` (what ``meta["_ops"]`` records) and both counters' GMACs.

    ``gmacs`` is torchinfo's count, except for models with attention: torchinfo
    counts a Linear over a token sequence once per sample (not per token) and
    never sees the attention matmuls, so those use FlopCounterMode's count.
    """
    ti = torchinfo_gmacs(model, image_size)
    fc = flop_counter_gmacs(model, image_size)
    has_attention = any("Attention" in type(m).__name__ for m in model.modules())
    return {
        "num_params": num_params(model),
        "gmacs": fc if has_attention else ti,
        "gmacs_torchinfo": ti,
        "gmacs_flop_counter": fc,
    }


def summary(name: str, image_size: int = 128, depth: int = 3, **kwargs: Any):
    """Print and return torchinfo's layer table of a zoo model, as the seed articles show."""
    import torchinfo

    if not isinstance(image_size, int) or isinstance(image_size, bool) or image_size < 1:
        raise ValueError(f"summary({name!r}): image_size must be an int >= 1, got {image_size!r}")
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
        raise ValueError(f"summary({name!r}): depth must be an int >= 0, got {depth!r}")
    model = get_model(name, **kwargs)
    try:
        return torchinfo.summary(
            model,
            input_size=(1, 3, image_size, image_size),
            depth=depth,
            col_names=("output_size", "num_params", "mult_adds"),
            mode="eval",
            device="cpu",
        )
    except RuntimeError as err:  # torchinfo wraps the model's own error
        if isinstance(err.__cause__, ValueError):
            raise err.__cause__ from None
        raise


def model_table(image_size: int = 128, names: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    """One row per registered model (default kwargs): params and GMACs at ``image_size``."""
    rows = []
    for name in names or list_models():
        model = get_model(name)
        if model.fixed_size is not None and tuple(model.fixed_size) != (image_size, image_size):
            fixed = "x".join(map(str, model.fixed_size))
            rows.append({"model": name, "num_params": num_params(model), "gmacs": f"n/a (input fixed at {fixed})"})
            continue
        rows.append({"model": name, **profile(model, image_size)})
    return rows


def format_table(rows: List[Dict[str, Any]], columns: List[str]) -> str:
    """Plain-text (Markdown) table of ``rows``; floats with 3 significant digits."""

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
        if isinstance(v, int):
            return f"{v / 1e6:.2f} M" if v >= 10_000 else str(v)
        return str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def images_per_second(step: Callable[[], None], batch: int, warmup: int = 1, min_seconds: float = 2.0) -> float:
    """Run ``step`` (one batch) after ``warmup`` calls until ``min_seconds`` pass; images/s."""
    for _ in range(warmup):
        step()
    n, start = 0, time.perf_counter()
    while True:
        step()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return n * batch / elapsed


def forward_images_per_second(forward: Callable[[torch.Tensor], Any], x: torch.Tensor, warmup: int = 1,
                              min_seconds: float = 2.0) -> float:
    """Images/s of ``forward(x)`` (a model or any callable) under torch.inference_mode."""

    def step():
        with torch.inference_mode():
            forward(x)

    return images_per_second(step, len(x), warmup=warmup, min_seconds=min_seconds)
