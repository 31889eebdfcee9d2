"""Wall-clock timing helper shared by the benchmark scripts."""
from __future__ import annotations

import time
from typing import Callable


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
