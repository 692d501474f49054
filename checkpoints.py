"""Folders that let a long run stop and continue: who owns a folder, and where each training
keeps its per-epoch state.

A run's folder holds ``identity.json`` (the options that decide its result: method, data seed,
generator version, model seed...). A later run may continue from the folder only when asked to
(``--resume``) and only with the same identity; a folder holding a stopped run is never
overwritten. Inside :func:`training_checkpoints`, each call of the training loop
(:func:`hepbench.torch_common.fit`) saves its state after every epoch and continues from it.
No torch here: the light install imports this module.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file flushed to disk and a rename: a stop
    mid-write leaves the previous content whole."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def claim_folder(folder: Path, identity: Mapping[str, Any], *, resume: bool) -> bool:
    """Make ``folder`` the checkpoint of the run described by ``identity``; True when it holds a
    stopped run of the same identity (to be continued), False when it starts empty.

    Refuses (``ValueError``) a folder holding a stopped run without ``resume``, and one made with
    other options, naming the first field that differs."""
    folder = Path(folder)
    wanted = json.loads(json.dumps(dict(identity)))
    stored = folder / "identity.json"
    if not stored.exists():
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(stored, json.dumps(wanted, indent=1, sort_keys=True))
        return False
    if not resume:
        raise ValueError(f"{folder}: holds a stopped run; pass --resume to continue it, or remove the folder")
    try:
        previous = json.loads(stored.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{stored}: not a run checkpoint ({err})") from err
    if not isinstance(previous, dict):
        raise ValueError(f"{stored}: not a run checkpoint (a JSON object of the run's options)")
    differs = sorted(k for k in set(previous) | set(wanted) if previous.get(k) != wanted.get(k))
    if differs:
        field = differs[0]
        raise ValueError(
            f"{stored}: field {field!r} is {previous.get(field)!r} there but {wanted.get(field)!r} "
            "in this run; resume with the same options or remove the folder"
        )
    return True


def remove_folder(folder: Path | None) -> None:
    """Drop a run's checkpoint once its result is safely written."""
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


class TrainingCheckpoints:
    """Where the trainings of one run keep their per-epoch state.

    Trainings are told apart by the order in which they start (an ANODE run trains two flows, a
    CATHODE run a flow and then classifiers): the k-th training reads and writes
    ``k-<description>.pt``. ``resumed_seconds`` adds up the training time spent before the stop
    by the trainings that continued, so that a resumed run reports its whole training time.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.started = 0
        self.resumed_seconds = 0.0

    def next_path(self, description: str) -> Path:
        self.started += 1
        slug = re.sub(r"[^a-z0-9]+", "-", description.lower()).strip("-") or "training"
        return self.folder / f"{self.started:02d}-{slug}.pt"


_CURRENT: contextvars.ContextVar[TrainingCheckpoints | None] = contextvars.ContextVar(
    "hepbench_training_checkpoints", default=None
)


def current() -> TrainingCheckpoints | None:
    """The checkpoints of the enclosing :func:`training_checkpoints` block, if any."""
    return _CURRENT.get()


def training_clock() -> Callable[[], float]:
    """A clock of training time started now: its reading adds, to the seconds since, the seconds
    that trainings continued from a checkpoint had spent before their stop."""
    store = current()
    before = store.resumed_seconds if store is not None else 0.0
    start = time.perf_counter()

    def seconds() -> float:
        resumed = store.resumed_seconds - before if store is not None else 0.0
        return time.perf_counter() - start + resumed

    return seconds


@contextlib.contextmanager
def training_checkpoints(
    folder: Path | str | None, identity: Mapping[str, Any] | None = None, *, resume: bool = False
) -> Iterator[TrainingCheckpoints | None]:
    """Every training inside the block keeps per-epoch checkpoints in ``folder`` and continues
    from those already there; ``None`` turns checkpoints off.

    With ``identity``, the folder is claimed first (:func:`claim_folder`: a stopped run is
    continued only with ``resume`` and the same identity). The caller removes the folder
    (:func:`remove_folder`) once the run's result is written."""
    if folder is None:
        yield None
        return
    if identity is not None:
        claim_folder(Path(folder), identity, resume=resume)
    store = TrainingCheckpoints(Path(folder))
    store.folder.mkdir(parents=True, exist_ok=True)
    token = _CURRENT.set(store)
    try:
        yield store
    finally:
        _CURRENT.reset(token)


@contextlib.contextmanager
def resumable_run(
    folder: Path | None, identity: Mapping[str, Any], *, resume: bool, keep: bool = False
) -> Iterator[TrainingCheckpoints | None]:
    """One run (a training and its evaluation) whose trainings keep per-epoch checkpoints in
    ``folder`` (claimed for ``identity``; ``resume`` continues a stopped run there); the folder
    is removed when the block ends without an error, and kept when it raises or is stopped.

    ``keep``: leave the folder even after success; a comparison whose later steps need this
    run's output again (the calorimeter's multiclass score needs every generator's showers)
    removes it when the whole comparison is written, and a resumed comparison gets every
    finished training back at once."""
    if folder is None:
        if resume:
            raise ValueError("--resume needs --checkpoint: the folder holding the stopped run")
        yield None
        return
    with training_checkpoints(folder, identity, resume=resume) as store:
        yield store
    if not keep:
        remove_folder(folder)


def beside(json_path: Path | str | None) -> Path | None:
    """The checkpoint folder of a comparison writing ``json_path``: ``NAME.checkpoints`` next to
    it (one subfolder per unit of work); None without a JSON file."""
    if json_path is None:
        return None
    path = Path(json_path)
    return path.with_name(path.stem + ".checkpoints")


def remove_empty_folders(folder: Path | None) -> None:
    """Remove ``folder`` and the folders below it that hold nothing (the checkpoints of a
    comparison whose every unit finished); a folder still holding a stopped unit stays."""
    if folder is None or not Path(folder).is_dir():
        return
    for path in sorted((p for p in Path(folder).rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            path.rmdir()
    with contextlib.suppress(OSError):
        Path(folder).rmdir()
