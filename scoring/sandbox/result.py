"""What one sandboxed run did, measured by the host, and the bounded capture of its logs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

OK = "ok"
TIMEOUT = "timeout"
OOM = "oom"
CRASHED = "crashed"
KILLED = "killed"
INVALID_OUTPUT = "invalid-output"
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
            self._tail += chunk[-(self.limit - half):]
            excess = len(self._tail) - (self.limit - half)
            if excess > 0:
                del self._tail[:excess]

    @property
    def truncated(self) -> bool:
        return self.total > len(self._head) + len(self._tail)

    def text(self) -> str:
        dropped = self.total - len(self._head) - len(self._tail)
        middle = f"\n[... {dropped} bytes of log dropped ...]\n" if dropped > 0 else ""
        return (bytes(self._head).decode("utf-8", "replace") + middle
                + bytes(self._tail).decode("utf-8", "replace"))


def exit_reason(exit_code: int | None, signal: int | None) -> str:
    if signal is not None:
        return f"killed by signal {signal}"
    return f"exited with status {exit_code}"
