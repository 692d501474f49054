"""A control group per code-backend run: memory, pids and CPU limits, peak memory, OOM kills.

Needs root (writes under ``/sys/fs/cgroup``); supports cgroup v2 and the v1 controllers
``memory``, ``pids`` and ``cpu``. ``RunCgroup.create`` returns ``None`` where the host offers
neither; the backend then falls back to rlimits alone and says so in the outcome.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from .limits import Limits

ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


def _write(path: Path, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class RunCgroup:
    """One run's control group(s); ``paths`` are the directories the run's processes join."""

    def __init__(self, version: int, paths: dict[str, Path]) -> None:
        self.version = version
        self.paths = paths

    @classmethod
    def create(cls, name: str, limits: Limits) -> RunCgroup | None:
        if os.geteuid() != 0:
            return None
        try:
            if (ROOT / "cgroup.controllers").exists():
                return cls._create_v2(name, limits)
            if (ROOT / "memory").is_dir() and (ROOT / "pids").is_dir():
                return cls._create_v1(name, limits)
        except OSError:
            return None
        return None

    @classmethod
    def _create_v2(cls, name: str, limits: Limits) -> RunCgroup:
        wanted = [c for c in ("memory", "pids", "cpu") if c in (ROOT / "cgroup.controllers").read_text().split()]
        parent = ROOT / "hepbench"
        parent.mkdir(exist_ok=True)
        _write(ROOT / "cgroup.subtree_control", " ".join(f"+{c}" for c in wanted))
        _write(parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in wanted))
        path = parent / name
        path.mkdir()
        _write(path / "memory.max", str(limits.memory_bytes))
        if (path / "memory.swap.max").exists():
            _write(path / "memory.swap.max", "0")
        _write(path / "pids.max", str(limits.pids))
        if (path / "cpu.max").exists():
            _write(path / "cpu.max", f"{int(limits.cpus * PERIOD_US)} {PERIOD_US}")
        return cls(2, {"unified": path})

    @classmethod
    def _create_v1(cls, name: str, limits: Limits) -> RunCgroup:
        paths: dict[str, Path] = {}
        for controller in ("memory", "pids", "cpu"):
            if not (ROOT / controller).is_dir():
                continue
            path = ROOT / controller / "hepbench" / name
            path.mkdir(parents=True)
            paths[controller] = path
        _write(paths["memory"] / "memory.limit_in_bytes", str(limits.memory_bytes))
        if (paths["memory"] / "memory.memsw.limit_in_bytes").exists():
            _write(paths["memory"] / "memory.memsw.limit_in_bytes", str(limits.memory_bytes))
        _write(paths["pids"] / "pids.max", str(limits.pids))
        if "cpu" in paths:
            _write(paths["cpu"] / "cpu.cfs_period_us", str(PERIOD_US))
            _write(paths["cpu"] / "cpu.cfs_quota_us", str(int(limits.cpus * PERIOD_US)))
        return cls(1, paths)

    def join(self) -> None:
        """Move the calling process into the group (call in the child before exec)."""
        for path in self.paths.values():
            _write(path / "cgroup.procs", "0")

    def pids(self) -> list[int]:
        path = self.paths.get("unified") or self.paths.get("pids") or next(iter(self.paths.values()))
        try:
            return [int(p) for p in (path / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def kill_all(self, timeout: float = 5.0) -> None:
        """SIGKILL every process in the group until it is empty (a fork loop cannot outrun it)."""
        unified = self.paths.get("unified")
        if unified is not None and (unified / "cgroup.kill").exists():
            _write(unified / "cgroup.kill", "1")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def peak_memory_bytes(self) -> int | None:
        if self.version == 2:
            return _read_int(self.paths["unified"] / "memory.peak")
        return _read_int(self.paths["memory"] / "memory.max_usage_in_bytes")

    def oom_kills(self) -> int:
        """OOM kills inside the group (v1: limit hits that ended in a kill, read from oom_control)."""
        path = self.paths.get("unified") or self.paths["memory"]
        source = path / ("memory.events" if self.version == 2 else "memory.oom_control")
        try:
            for line in source.read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except OSError:
            pass
        return 0

    def memory_limit_hits(self) -> int:
        if self.version == 2:
            return self.oom_kills()
        return _read_int(self.paths["memory"] / "memory.failcnt") or 0

    def remove(self) -> None:
        self.kill_all(timeout=2.0)
        for path in self.paths.values():
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def remove_worker_groups(worker_pid: int) -> int:
    """Kill and delete the groups a (dead) worker process created; returns how many runs had some."""
    pattern = f"run-{worker_pid}-*"
    if (ROOT / "cgroup.controllers").exists():
        groups = [RunCgroup(2, {"unified": path}) for path in (ROOT / "hepbench").glob(pattern)]
    else:
        controllers = ("memory", "pids", "cpu")
        names = {path.name for c in controllers for path in (ROOT / c / "hepbench").glob(pattern)}
        groups = [
            RunCgroup(
                1, {c: ROOT / c / "hepbench" / name for c in controllers if (ROOT / c / "hepbench" / name).is_dir()}
            )
            for name in sorted(names)
        ]
    for group in groups:
        group.remove()
    return len(groups)
