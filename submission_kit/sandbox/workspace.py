"""The host folders of one run: ``input`` (read-only for the submission), a size-capped
``output`` and the copy of the output kept after the run.

As root the live output folder is a tmpfs of ``Limits.output_bytes`` mounted by the host, so
filling it cannot fill the host's disk; elsewhere it is a plain folder and only the per-file
rlimit bounds it (the outcome says which).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .limits import Limits

MAX_OUTPUT_FILES = 1_000
"""Most files (inodes) in ``/output``."""


def make_readable(root: Path) -> None:
    """Open ``root`` read-only to any user: the sandbox user is not the owner."""
    for dirpath, _, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)


def check_reachable(path: Path) -> None:
    """Raise unless every folder above ``path`` lets other users through (``o+x``).

    The code backend mounts folders as an unprivileged user, which must be able to reach them.
    """
    for parent in Path(path).resolve().parents:
        if not parent.stat().st_mode & 0o001:
            raise PermissionError(
                f"{path}: the sandbox user cannot reach it because {parent} is not searchable by others "
                f"(chmod o+x {parent}, or keep sandbox runs under a folder such as /var/tmp/hepbench-runs)"
            )


def make_run_root(base: Path | None = None, prefix: str = "run-") -> Path:
    """A fresh folder for one run's input / output / submission, reachable by the sandbox user."""
    base = Path(base or os.environ.get("HEPBENCH_SANDBOX_ROOT", "/var/tmp/hepbench-runs"))
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o711)
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    os.chmod(root, 0o711)
    check_reachable(root)
    return root


class OutputMount:
    """A live ``/output`` folder of at most ``limits.output_bytes``, owned by ``uid``."""

    def __init__(self, path: Path, limits: Limits, uid: int, gid: int) -> None:
        self.path = Path(path)
        self.limits = limits
        self.uid, self.gid = uid, gid
        self.mounted = False

    def __enter__(self) -> OutputMount:
        self.path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0 and shutil.which("mount"):
            options = (
                f"size={self.limits.output_bytes},nr_inodes={MAX_OUTPUT_FILES},mode=0755,uid={self.uid},"
                f"gid={self.gid},nosuid,nodev"
            )
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(self.path)], capture_output=True, text=True
            )
            self.mounted = done.returncode == 0
        if not self.mounted:
            os.chmod(self.path, 0o777)
            if os.geteuid() == 0:
                os.chown(self.path, self.uid, self.gid)
        return self

    def collect(self, dest: Path, max_bytes: int) -> list[str]:
        """Copy regular files to ``dest``; return their names.

        Symbolic links, FIFOs and devices are left behind (the trusted process must never follow
        a link planted by the submission), and so is anything past ``max_bytes`` in all or past
        ``MAX_OUTPUT_FILES`` files.
        """
        dest.mkdir(parents=True, exist_ok=True)
        kept, total = [], 0
        for dirpath, _, filenames in os.walk(self.path, followlinks=False):
            for name in sorted(filenames):
                if len(kept) >= MAX_OUTPUT_FILES:
                    return kept
                source = Path(dirpath) / name
                if source.is_symlink() or not source.is_file():
                    continue
                size = source.stat().st_size
                if total + size > max_bytes:
                    continue
                relative = source.relative_to(self.path)
                if relative.parent != Path("."):
                    (dest / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, dest / relative, follow_symlinks=False)
                total += size
                kept.append(str(relative))
        return kept

    def __exit__(self, *exc: object) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
            self.mounted = False
        shutil.rmtree(self.path, ignore_errors=True)
