"""Wall-clock timing shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import os
import platform
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


def machine() -> str:
    """The machine a benchmark ran on, for its JSON: processor, logical cores, operating system
    and kernel release (the sandbox's costs depend on the kernel)."""
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"
