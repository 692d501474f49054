"""The host folders of one run: ``input`` (read-only for the submission), a size-capped
``output`` and the copy of the output kept after the run.

As root the live output folder is a tmpfs of ``Limits.output_bytes`` mounted by the host, so
filling it cannot fill the host's disk; elsewhere it is a plain folder and only the per-file
rlimit bounds it (the outcome says which). As root the read-only folders are shown to the
sandbox through ``StagedFolders``, so that ``/proc/self/mountinfo`` names no host path.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
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


STAGE_ROOT = Path("/run/hepbench-stage")
"""Where a run's read-only folders are staged (one folder per run, removed after it)."""


class StagedFolders:
    """Read-only views of host folders whose mounts carry no host path.

    A bind mount shows its source's path inside its filesystem in ``/proc/self/mountinfo``
    (``/var/tmp/hepbench-runs/lhco-x1y2/input``), whatever its mount point. Here each folder is
    bound to ``STAGE_ROOT/<pid>-<token>/lower/<name>`` and shown through a read-only overlay
    mounted with *relative* layer paths (``lowerdir=lower/input:empty``), which is all the
    sandbox's mountinfo can show of it: the overlay's root is ``/``. Needs root and overlayfs;
    elsewhere the folders are used as they are and ``hidden`` is False.
    """

    def __init__(self, folders: dict[str, Path | None]) -> None:
        self.folders = folders
        self.paths: dict[str, Path | None] = dict(folders)
        self.root: Path | None = None
        self.hidden = False
        self.reason = ""

    def __enter__(self) -> StagedFolders:
        if os.geteuid() != 0 or shutil.which("mount") is None:
            self.reason = "not root"
            return self
        try:
            self._stage()
            self.hidden = True
        except (OSError, RuntimeError) as err:
            self.reason = str(err)
            self._unstage()
            self.paths = dict(self.folders)
        return self

    def _stage(self) -> None:
        STAGE_ROOT.mkdir(mode=0o711, parents=True, exist_ok=True)
        remove_stale_stages()  # a runner killed with -9 left its mounts: whoever stages next removes them
        self.root = STAGE_ROOT / f"{os.getpid()}-{secrets.token_hex(6)}"
        self.root.mkdir(mode=0o711)
        (self.root / "owner.json").write_text(json.dumps({"pid": os.getpid(), "start_ticks": start_ticks(os.getpid())}))
        (self.root / "lower").mkdir(mode=0o700)
        (self.root / "empty").mkdir(mode=0o755)
        for name, folder in self.folders.items():
            if folder is None:
                continue
            lower, view = self.root / "lower" / name, self.root / name
            lower.mkdir()
            view.mkdir()
            _mount(["-o", "bind,ro", str(Path(folder).resolve()), str(lower)], self.root)
            _mount(["-t", "overlay", "overlay", "-o", f"ro,lowerdir=lower/{name}:empty", name], self.root)
            self.paths[name] = view

    def _unstage(self) -> None:
        if self.root is not None:
            remove_stage(self.root)
            self.root = None

    def __exit__(self, *exc: object) -> None:
        self._unstage()


def _mount(args: list[str], cwd: Path) -> None:
    done = subprocess.run(["mount", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"mount {' '.join(args)}: {done.stderr.strip()}")


def mounts_under(root: Path) -> list[Path]:
    """Mount points at or under ``root`` (from this process's mountinfo), deepest first.

    ``os.path.ismount`` cannot tell a bind mount from the same filesystem."""
    root = Path(root)
    found = []
    with contextlib.suppress(OSError), open("/proc/self/mountinfo") as handle:
        for line in handle:
            point = Path(line.split()[4].encode().decode("unicode_escape"))
            if point == root or root in point.parents:
                found.append(point)
    return sorted(set(found), key=lambda p: len(p.parts), reverse=True)


def remove_stage(root: Path) -> None:
    """Unmount and delete one staging folder: unmount every mount under it, then remove empty
    folders only (never a recursive delete, which would reach through a mount into the run)."""
    for point in mounts_under(root):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)
    if mounts_under(root) or not root.is_dir():
        return
    with contextlib.suppress(OSError):
        (root / "owner.json").unlink(missing_ok=True)
        for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            path.rmdir()
        root.rmdir()


def start_ticks(pid: int) -> int | None:
    """Start time of process ``pid`` (clock ticks since boot), to tell it from a later process with its pid."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def remove_stale_stages(stage_root: Path = STAGE_ROOT) -> int:
    """Remove the staging folders of processes that are gone (a runner killed with -9); how many."""
    removed = 0
    for root in sorted(stage_root.glob("*-*")) if stage_root.is_dir() else []:
        try:
            owner = json.loads((root / "owner.json").read_text())
        except (OSError, ValueError):
            owner = {}
            with contextlib.suppress(OSError):
                if time.time() - root.stat().st_mtime < 60:
                    continue  # being staged right now: its owner is about to be written
        pid = owner.get("pid")
        if isinstance(pid, int) and start_ticks(pid) is not None and start_ticks(pid) == owner.get("start_ticks"):
            continue
        remove_stage(root)
        removed += 1
    return removed
