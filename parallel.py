"""Where embarrassingly parallel work runs: in this process, on local worker processes, or on a
Dask cluster.

``scheduler`` is one of

- ``serial``: in this process, one task after another (no Dask);
- ``local``: a ``distributed.LocalCluster`` of worker processes on this machine;
- a scheduler address (``tcp://host:8786``, ``tls://...``) or the path of a scheduler file
  (``*.json``, as ``dask-jobqueue`` / ``dask-scheduler --scheduler-file`` write it): an
  existing cluster, e.g. on SLURM or HTCondor.

Tasks must be deterministic functions of their arguments (every random stream seeded), so the
results are the same whichever scheduler ran them; ``map_tasks`` returns them in input order.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .output import progress as output_progress

SERIAL = "serial"
LOCAL = "local"


def default_workers() -> int:
    """Worker processes of a local cluster: one per core."""
    return max(1, os.cpu_count() or 1)


def check_scheduler(scheduler: str) -> str:
    """Return ``scheduler`` if it names something this module can run on, else raise."""
    if scheduler in (SERIAL, LOCAL) or "://" in scheduler or scheduler.endswith(".json"):
        return scheduler
    raise ValueError(
        f"unknown scheduler {scheduler!r}: expected 'serial', 'local', an address such as "
        "tcp://host:8786, or a scheduler file (*.json)"
    )


@contextmanager
def dask_client(scheduler: str, n_workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` for ``scheduler`` (``None`` for ``serial``), closed on exit.

    A local cluster has ``n_workers`` single-threaded worker processes (default: one per
    core); each worker's BLAS / torch threads are limited to one so that workers do not
    oversubscribe the cores they share.
    """
    check_scheduler(scheduler)
    if scheduler == LOCAL and importlib.util.find_spec("distributed") is None:
        # The core install has no Dask: the default local cluster becomes this process.
        from .output import err_console

        err_console.print("[dim]Dask is not installed (pip install 'hepbench\\[platform]'): running serially[/dim]")
        scheduler = SERIAL
    if scheduler == SERIAL:
        yield None
        return
    from distributed import Client, LocalCluster

    if scheduler == LOCAL:
        n = n_workers or default_workers()
        if n < 1:
            raise ValueError(f"a local cluster needs at least one worker, got {n}")
        threads = {k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
        saved = {k: os.environ.get(k) for k in threads}
        # Worker processes are spawned with this environment.
        os.environ.update(threads)
        try:
            # A failing task's error reaches the caller as one line; the workers' own log
            # records of it (tracebacks) are not shown.
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.CRITICAL,
            )
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    if scheduler.endswith(".json"):
        if not Path(scheduler).exists():
            raise FileNotFoundError(f"{scheduler}: scheduler file not found")
        client = Client(scheduler_file=scheduler)
    else:
        client = Client(scheduler)
    try:
        yield client
    finally:
        client.close()


def map_tasks(
    function: Callable[..., Any],
    tasks: Sequence[tuple[Any, ...]],
    *,
    client: Any = None,
    shared: dict[str, Any] | None = None,
    progress: bool = False,
    description: str = "tasks",
    on_result: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """``[function(*task, **shared) for task in tasks]``, on ``client`` when one is given.

    ``shared`` holds large arguments common to every task (a model, a data set): they are sent
    to each worker once, not once per task. ``on_result(index, result)`` is called as each
    task finishes (in completion order); the returned list is in task order.
    """
    shared = shared or {}
    results: list[Any] = [None] * len(tasks)
    with output_progress(description, len(tasks), enabled=progress) as advance:
        if client is None:
            for index, task in enumerate(tasks):
                results[index] = function(*task, **shared)
                if on_result is not None:
                    on_result(index, results[index])
                advance()
            return results
        from distributed import as_completed

        scattered = {k: client.scatter(v, broadcast=True) for k, v in shared.items()}
        futures = [client.submit(function, *task, **scattered, pure=False) for task in tasks]
        where = {future.key: index for index, future in enumerate(futures)}
        try:
            for future in as_completed(futures):
                index = where[future.key]
                results[index] = future.result()
                if on_result is not None:
                    on_result(index, results[index])
                advance()
        finally:
            client.cancel(futures)
    return results


def run_adaptive(
    function: Callable[..., Any],
    next_task: Callable[[], tuple[Any, ...] | None],
    on_result: Callable[[tuple[Any, ...], Any], None],
    *,
    client: Any = None,
    in_flight: int = 1,
) -> None:
    """``function(*task)`` for each task ``next_task()`` returns until it returns None, with up to
    ``in_flight`` tasks running on ``client`` (one after another here without one).

    Unlike :func:`map_tasks`, a task may depend on the results before it (a sequential search
    asks for its next point once a result is in): ``on_result(task, result)`` is called in
    completion order, before ``next_task`` is asked for the task that takes its place.
    """
    if client is None:
        while (task := next_task()) is not None:
            on_result(task, function(*task))
        return
    from distributed import as_completed

    running: dict[Any, tuple[Any, tuple[Any, ...]]] = {}
    queue = as_completed([])

    def submit() -> bool:
        task = next_task()
        if task is None:
            return False
        future = client.submit(function, *task, pure=False)
        running[future.key] = (future, task)
        queue.add(future)
        return True

    try:
        for _ in range(max(1, in_flight)):
            if not submit():
                break
        for future in queue:
            _, task = running.pop(future.key)
            on_result(task, future.result())
            submit()
    finally:
        # An error (or an interrupt) leaves nothing running on the cluster.
        client.cancel([future for future, _ in running.values()])
