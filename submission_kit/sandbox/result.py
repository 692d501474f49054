"""What one sandboxed run did, measured by the host, and the bounded capture of its logs."""

from __future__ import annotations

import signal
from dataclasses import asdict, dataclass, field

from .limits import MIB, Limits

OK = "ok"
TIMEOUT = "timeout"
OOM = "oom"
CRASHED = "crashed"
KILLED = "killed"
INVALID_OUTPUT = "invalid-output"
REFUSED = "refused"
"""The payload was refused before it ran (too large, no model.py, inputs that could not be written)."""
SANDBOX_ERROR = "sandbox-error"
"""The sandbox itself failed (the daemon went away): nothing was scored, the reason says why."""
STATUSES: tuple[str, ...] = (OK, TIMEOUT, OOM, CRASHED, KILLED, INVALID_OUTPUT)


@dataclass
class RunOutcome:
    """The host's account of one run; nothing here is read from the submission's own reports.

    ``wall_seconds`` runs from the start request to the sandbox being gone (so for a timeout it
    includes the kill); ``kill_seconds`` is the part after the host decided to kill.
    ``peak_memory_bytes`` comes from the sandbox's memory cgroup (or ``wait4`` rusage).
    """

    status: str
    reason: str
    backend: str
    exit_code: int | None = None
    signal: int | None = None
    wall_seconds: float = 0.0
    kill_seconds: float | None = None
    peak_memory_bytes: int | None = None
    log_tail: str = ""
    log_bytes_total: int = 0
    log_truncated: bool = False
    details: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"RunOutcome.status {self.status!r} is not one of {STATUSES}")

    @property
    def ok(self) -> bool:
        return self.status == OK

    def as_dict(self) -> dict:
        return asdict(self)


class LogCapture:
    """Keeps at most ``limit`` bytes of a stream: its first half and its latest half.

    Everything fed is counted; what falls between the head and the tail is dropped, so a
    submission that prints gigabytes costs the host ``limit`` bytes of memory.
    """

    def __init__(self, limit: int) -> None:
        self.limit = int(limit)
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        half = self.limit // 2
        room = half - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self._tail += chunk[-(self.limit - half) :]
            excess = len(self._tail) - (self.limit - half)
            if excess > 0:
                del self._tail[:excess]

    @property
    def truncated(self) -> bool:
        return self.total > len(self._head) + len(self._tail)

    def text(self) -> str:
        dropped = self.total - len(self._head) - len(self._tail)
        middle = f"\n[... {dropped} bytes of log dropped ...]\n" if dropped > 0 else ""
        return bytes(self._head).decode("utf-8", "replace") + middle + bytes(self._tail).decode("utf-8", "replace")


def classify(
    exit_code: int | None, timed_out: bool, oom_kills: int, log: LogCapture, limits: Limits
) -> tuple[str, str, int | None]:
    """Status, reason and terminating signal from what the host saw.

    ``exit_code`` is the sandbox's exit status (negative: killed by that signal); bwrap and a
    container's init report a payload killed by signal N as 128 + N. ``oom_kills`` comes
    from the host (cgroup counters, docker's OOMKilled).
    """
    mib = limits.memory_bytes / MIB
    if timed_out:
        return (
            TIMEOUT,
            f"wall-clock limit of {limits.wall_seconds:g} s reached; the sandbox was killed",
            int(signal.SIGKILL),
        )
    if oom_kills:
        return OOM, f"memory limit of {mib:.0f} MiB reached; the kernel killed the submission", None
    if exit_code == 0:
        return OK, "exited with status 0", None
    signal_number = None
    if exit_code is not None and exit_code < 0:
        signal_number = -exit_code
    elif exit_code is not None and exit_code > 128:
        signal_number = exit_code - 128
    tail = log.text()[-4000:]
    if signal_number == signal.SIGXCPU:
        return KILLED, f"CPU-time limit of {limits.cpu_time_seconds} s reached (SIGXCPU)", signal_number
    if "No space left on device" in tail or "Disk quota exceeded" in tail:
        return (
            CRASHED,
            (
                f"out of space: /output ({limits.output_bytes / MIB:.0f} MiB) or /tmp "
                f"({limits.tmp_bytes / MIB:.0f} MiB) is full"
            ),
            signal_number,
        )
    if signal_number == signal.SIGXFSZ or "File too large" in tail:
        return CRASHED, f"file-size limit of {limits.file_size_bytes / MIB:.0f} MiB reached", signal_number
    if "MemoryError" in tail or "Cannot allocate memory" in tail:
        return OOM, f"memory limit of {mib:.0f} MiB reached; an allocation was refused", signal_number
    if signal_number is not None:
        try:
            name = signal.Signals(signal_number).name
        except ValueError:
            return CRASHED, f"exited with status {exit_code}", None
        return KILLED, f"killed by signal {signal_number} ({name})", signal_number
    return CRASHED, f"exited with status {exit_code}", None
