"""Code backend: a submission's Python run under bubblewrap.

The sandbox has no network (all namespaces unshared), sees the host's ``/usr`` and ``/etc``
read-only, ``/input`` read-only, ``/output`` writable, a size-capped tmpfs on ``/tmp`` and
nothing else of the host (no home folders, no organiser files). It runs as an unprivileged
host user of its own (a fresh uid per run when the host is root), under rlimits on address
space, CPU time, processes and file size, and in a control group with memory / pids / CPU
limits where the host allows one. Past the wall-clock limit the process group, the PID
namespace and the control group are killed. stdout and stderr go through one pipe read with
a cap (``Limits.log_bytes``).
"""

from __future__ import annotations

import contextlib
import os
import resource
import secrets
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from .backend import Backend
from .cgroups import RunCgroup
from .limits import MIB, Limits
from .result import LogCapture, RunOutcome, classify
from .workspace import check_reachable

HOST_READ_ONLY: tuple[str, ...] = (
    "/usr",
    # Of /etc only what the dynamic loader, Python and numpy's BLAS (Debian's alternatives) read.
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/python3",
    "/etc/python3.11",
)
HIDDEN: tuple[str, ...] = ("/usr/local",)
"""Under the read-only paths but not the runtime's: the host's own tools (an empty tmpfs on top)."""
SHM_BYTES = 64 * MIB
"""Size cap of the sandbox's /dev/shm (its own tmpfs, outside the /tmp cap)."""
MERGED_USR_LINKS: tuple[str, ...] = ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
ADDRESS_SPACE_HEADROOM = 512 * MIB
"""With a memory cgroup the address-space rlimit sits this far above the memory limit, so the
cgroup (resident memory) is what stops a submission and the outcome reads ``oom``."""


def bwrap_available(bwrap: str = "bwrap") -> str | None:
    """Why bubblewrap cannot run here, or ``None`` when it can."""
    path = shutil.which(bwrap)
    if path is None:
        return f"{bwrap} not found (apt-get install -y bubblewrap)"
    done = subprocess.run(
        [
            path,
            "--unshare-all",
            "--ro-bind",
            "/usr",
            "/usr",
            "--symlink",
            "usr/bin",
            "/bin",
            "--symlink",
            "usr/lib",
            "/lib",
            "--symlink",
            "usr/lib64",
            "/lib64",
            "/usr/bin/true",
        ],
        capture_output=True,
        text=True,
    )
    return None if done.returncode == 0 else f"bwrap cannot create a sandbox here: {done.stderr.strip()}"


class BubblewrapBackend(Backend):
    """Run commands under bubblewrap; ``python`` is the interpreter code submissions use."""

    name = "bubblewrap"

    def __init__(
        self,
        bwrap: str = "bwrap",
        python: str = "/usr/bin/python3",
        read_only: tuple[str, ...] = HOST_READ_ONLY,
        runtime: Path | None | bool = True,
    ) -> None:
        """``runtime``: the submission runtime's folder (``runtime.py``); ``True`` = the one
        ``prepare-host`` built, if any; ``None`` / ``False`` = the host's Debian python alone."""
        path = shutil.which(bwrap)
        if path is None:
            raise RuntimeError(f"{bwrap} not found (apt-get install -y bubblewrap)")
        self.bwrap = path
        self.python = python
        self.read_only = read_only
        if runtime is True:
            from .runtime import installed_runtime

            runtime = installed_runtime()
        self.runtime: Path | None = Path(runtime) if runtime else None

    def sandbox_ids(self) -> tuple[int, int]:
        if os.geteuid() != 0:
            return os.getuid(), os.getgid()
        # A uid of its own: the process rlimit counts per user, so runs never share a budget.
        uid = 200_000 + secrets.randbelow(1 << 24)
        return uid, uid

    def bwrap_args(
        self, *, input_dir: Path, output_dir: Path, submission_dir: Path | None, limits: Limits
    ) -> list[str]:
        args = [
            self.bwrap,
            "--unshare-all",
            # A user namespace of its own, in which the submission cannot create another: a nested
            # one (unshare -Urm) would give it uid 0 with working mounts.
            "--unshare-user",
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "sandbox",
            "--uid",
            "65534",
            "--gid",
            "65534",
        ]
        for path in self.read_only:
            if os.path.exists(path):
                args += ["--ro-bind", path, path]
        for link in MERGED_USR_LINKS:
            if os.path.islink(link):
                args += ["--symlink", os.readlink(link), link]
            elif os.path.isdir(link):
                args += ["--ro-bind", link, link]
        for path in HIDDEN:
            if os.path.isdir(path) and any(path.startswith(ro.rstrip("/") + "/") for ro in self.read_only):
                args += ["--tmpfs", path]
        if self.runtime is not None:
            from .runtime import DEBIAN_DIST_PACKAGES, SANDBOX_SITE_PACKAGES

            args += ["--ro-bind", str(self.runtime / "site-packages"), SANDBOX_SITE_PACKAGES]
            if os.path.isdir(DEBIAN_DIST_PACKAGES):
                args += ["--tmpfs", DEBIAN_DIST_PACKAGES, "--remount-ro", DEBIAN_DIST_PACKAGES]
        args += [
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--size",
            str(min(SHM_BYTES, limits.tmp_bytes)),
            "--tmpfs",
            "/dev/shm",
            "--size",
            str(limits.tmp_bytes),
            "--tmpfs",
            "/tmp",
            "--ro-bind",
            str(input_dir),
            "/input",
            "--bind",
            str(output_dir),
            "/output",
        ]
        if submission_dir is not None:
            args += ["--ro-bind", str(submission_dir), "/submission", "--chdir", "/submission"]
        else:
            args += ["--chdir", "/tmp"]
        return args + ["--remount-ro", "/"]

    def _execute(
        self,
        command: list[str],
        *,
        input_dir: Path,
        output_dir: Path,
        submission_dir: Path | None,
        limits: Limits,
        env: dict[str, str],
        uid: int,
        gid: int,
    ) -> RunOutcome:
        if limits.gpu:
            raise ValueError("the bubblewrap backend gives submissions no GPU; use the docker backend for GPU runs")
        for folder in (input_dir, output_dir, *([submission_dir] if submission_dir else [])):
            check_reachable(folder)
        if self.runtime is not None:
            from .runtime import SANDBOX_SITE_PACKAGES

            check_reachable(self.runtime / "site-packages")
            env = {**env, "PYTHONPATH": SANDBOX_SITE_PACKAGES}
        command = [self.python if part == "{python}" else part for part in command]
        drop_to = (uid, gid) if os.geteuid() == 0 else None
        cgroup = RunCgroup.create(f"run-{os.getpid()}-{secrets.token_hex(4)}", limits)
        address_space = limits.memory_bytes + (ADDRESS_SPACE_HEADROOM if cgroup else 0)

        def enter_sandbox() -> None:  # runs in the child between fork and exec
            if cgroup is not None:
                cgroup.join()
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_time_seconds, limits.cpu_time_seconds + 1))
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.pids, limits.pids))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_bytes, limits.file_size_bytes))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if drop_to is not None:
                os.setgroups([])
                os.setgid(drop_to[1])
                os.setuid(drop_to[0])

        args = self.bwrap_args(
            input_dir=input_dir, output_dir=output_dir, submission_dir=submission_dir, limits=limits
        ) + ["--", *command]
        log = LogCapture(limits.log_bytes)
        start = time.perf_counter()
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=enter_sandbox,
            start_new_session=True,
            close_fds=True,
        )
        reader = threading.Thread(target=_drain, args=(proc.stdout, log), daemon=True)
        reader.start()
        waited: dict[str, object] = {}
        waiter = threading.Thread(target=_wait4, args=(proc.pid, waited), daemon=True)
        waiter.start()
        waiter.join(limits.wall_seconds)
        timed_out = waiter.is_alive()
        kill_seconds = None
        if timed_out:
            kill_start = time.perf_counter()
            _kill_group(proc.pid)
            if cgroup is not None:
                cgroup.kill_all()
            waiter.join()
            kill_seconds = time.perf_counter() - kill_start
        wall = time.perf_counter() - start
        proc.returncode = -1  # reaped by _wait4; keep Popen from waiting again
        if cgroup is not None:
            cgroup.kill_all()  # a process that left the group's session still dies with the run
        reader.join(5.0)
        status_word, rusage = waited.get("status", 0), waited.get("rusage")
        exit_code = os.waitstatus_to_exitcode(status_word) if "status" in waited else None
        peak = cgroup.peak_memory_bytes() if cgroup is not None else None
        if peak is None and rusage is not None:
            peak = int(rusage.ru_maxrss) * 1024
        oom_kills = cgroup.oom_kills() if cgroup is not None else 0
        details = {
            "cgroup": None if cgroup is None else f"v{cgroup.version}",
            "sandbox_uid": drop_to[0] if drop_to else os.getuid(),
            "address_space_rlimit": address_space,
            "runtime": None if self.runtime is None else str(self.runtime),
        }
        if cgroup is not None:
            cgroup.remove()
        status, reason, signal_number = classify(exit_code, timed_out, oom_kills, log, limits)
        return RunOutcome(
            status=status,
            reason=reason,
            backend=self.name,
            exit_code=None if signal_number else exit_code,
            signal=signal_number,
            wall_seconds=wall,
            kill_seconds=kill_seconds,
            peak_memory_bytes=peak,
            log_tail=log.text(),
            log_bytes_total=log.total,
            log_truncated=log.truncated,
            details=details,
        )


def _drain(stream, log: LogCapture) -> None:
    with stream:
        while chunk := stream.read1(1 << 16) if hasattr(stream, "read1") else stream.read(1 << 16):
            log.feed(chunk)


def _wait4(pid: int, out: dict) -> None:
    _, status, rusage = os.wait4(pid, 0)
    out["status"], out["rusage"] = status, rusage


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
