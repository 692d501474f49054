"""What every backend shares: the run's folders, the size-capped output and its collection."""

from __future__ import annotations

import abc
import time
from pathlib import Path

from .limits import Limits
from .result import RunOutcome
from .workspace import OutputMount, StagedFolders, make_readable

SANDBOX_ENV: dict[str, str] = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "MALLOC_ARENA_MAX": "2",
}
"""The whole environment a submission sees (plus the thread counts set from the CPU limit)."""


def sandbox_env(limits: Limits, extra: dict[str, str] | None = None) -> dict[str, str]:
    threads = str(max(1, int(limits.cpus)))
    env = {**SANDBOX_ENV, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    env.update(extra or {})
    return env


class Backend(abc.ABC):
    """Runs ``command`` with ``/input`` (read-only), ``/output`` and ``/submission`` (read-only).

    Subclasses implement ``_execute`` on the live output folder; ``run`` prepares the folders,
    copies what the submission wrote to ``output_dir`` (regular files only, within the output
    limit) and records which files were kept.
    """

    name = "backend"

    @abc.abstractmethod
    def sandbox_ids(self) -> tuple[int, int]:
        """Host uid and gid of one run (they own its live output folder)."""
        ...

    @abc.abstractmethod
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
    ) -> RunOutcome: ...

    def run(
        self,
        command: list[str],
        *,
        input_dir: str | Path,
        output_dir: str | Path,
        limits: Limits,
        submission_dir: str | Path | None = None,
        env: dict[str, str] | None = None,
    ) -> RunOutcome:
        """Run ``command`` in the sandbox; what it wrote under ``/output`` ends up in ``output_dir``."""
        input_dir, output_dir = Path(input_dir), Path(output_dir)
        if not input_dir.is_dir():
            raise FileNotFoundError(f"{input_dir}: input folder not found")
        make_readable(input_dir)
        if submission_dir is not None:
            submission_dir = Path(submission_dir)
            if not submission_dir.is_dir():
                raise FileNotFoundError(f"{submission_dir}: submission folder not found")
            make_readable(submission_dir)
        live = output_dir.with_name(output_dir.name + ".live")
        uid, gid = self.sandbox_ids()
        start = time.perf_counter()
        staged = StagedFolders({"input": input_dir, "submission": submission_dir})
        with OutputMount(live, limits, uid, gid) as mount, staged:
            outcome = self._execute(
                command,
                input_dir=staged.paths["input"] or input_dir,
                output_dir=live,
                submission_dir=staged.paths["submission"],
                limits=limits,
                env=sandbox_env(limits, env),
                uid=uid,
                gid=gid,
            )
            outcome.details["output_capped_by_host_tmpfs"] = mount.mounted
            outcome.details["host_paths_hidden"] = staged.hidden and mount.mounted
            outcome.details["output_files"] = mount.collect(output_dir, limits.output_bytes)
        outcome.details["host_seconds"] = time.perf_counter() - start
        return outcome
