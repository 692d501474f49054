"""Resource limits of one sandboxed submission run, the same for every backend."""

from __future__ import annotations

from dataclasses import asdict, dataclass

MIB = 1 << 20
GIB = 1 << 30


@dataclass(frozen=True)
class Limits:
    """What a submission may use; the host enforces every field.

    Attributes
    ----------
    wall_seconds:
        Wall-clock limit; past it the whole sandbox is killed and removed.
    memory_bytes:
        Memory limit (cgroup limit on the container / sandbox; address-space rlimit as well
        for the code backend).
    cpus:
        CPU share (1.0 = one core).
    pids:
        Most processes and threads at once.
    file_size_bytes:
        Largest single file the submission may write (``RLIMIT_FSIZE``).
    output_bytes:
        Size of ``/output`` (a size-capped tmpfs when the host runs as root).
    tmp_bytes:
        Size of the tmpfs on ``/tmp``.
    log_bytes:
        Most bytes of stdout + stderr kept (first and last halves); the rest is counted, not kept.
    cpu_seconds:
        CPU-time rlimit of the code backend; ``None`` means ``wall_seconds * max(cpus, 1)``.
    gpu:
        Whether the organiser gives the submission the host's GPUs.
    """

    wall_seconds: float = 3600.0
    memory_bytes: int = 4 * GIB
    cpus: float = 1.0
    pids: int = 256
    file_size_bytes: int = 1 * GIB
    output_bytes: int = 1 * GIB
    tmp_bytes: int = 256 * MIB
    log_bytes: int = 1 * MIB
    cpu_seconds: float | None = None
    gpu: bool = False

    def __post_init__(self) -> None:
        for name in (
            "wall_seconds",
            "memory_bytes",
            "cpus",
            "pids",
            "file_size_bytes",
            "output_bytes",
            "tmp_bytes",
            "log_bytes",
        ):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"Limits.{name} must be positive, got {value!r}")
        if self.memory_bytes < 32 * MIB:
            raise ValueError(
                f"Limits.memory_bytes = {self.memory_bytes} is below 32 MiB; no interpreter starts in that"
            )
        if self.cpu_seconds is not None and not self.cpu_seconds > 0:
            raise ValueError(f"Limits.cpu_seconds must be positive or None, got {self.cpu_seconds!r}")

    @property
    def cpu_time_seconds(self) -> int:
        """The CPU-time rlimit in whole seconds."""
        if self.cpu_seconds is not None:
            return max(1, int(self.cpu_seconds))
        return max(1, int(self.wall_seconds * max(self.cpus, 1.0)) + 1)

    def as_dict(self) -> dict:
        return asdict(self)
