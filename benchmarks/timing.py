"""Wall-clock timing shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def repeat_seconds(func: Callable[[], object], repeats: int, *, warmup: bool = False) -> list[float]:
    """Wall time in seconds of each of ``repeats`` calls of ``func``; with ``warmup``, one
    untimed call first (thread pools, CUDA context and kernels)."""
    if warmup:
        func()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return times


def median_seconds(func: Callable[[], object], repeats: int, *, warmup: bool = False) -> float:
    """Median wall time in seconds of ``repeats`` calls of ``func`` (see :func:`repeat_seconds`)."""
    return statistics.median(repeat_seconds(func, repeats, warmup=warmup))
