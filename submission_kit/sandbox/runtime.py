"""The Python runtime of code submissions: CPU torch, numpy, pandas, scikit-learn, scipy, xgboost.

One tree of pinned wheels serves both backends. ``ensure_runtime()`` installs ``RUNTIME_LOCK``
with the host's pip into ``runtime_dir()/site-packages`` (``pip install --target`` for CPython
``PYTHON_VERSION`` on ``PLATFORMS``, binary wheels only), checks that pip resolved exactly the
locked set (a CUDA torch would pull ``nvidia-*`` packages and is refused), clears set-uid bits
and group / other write bits, and records ``manifest.json``: every package's version and wheel
sha256, and the sha256 of the installed tree. The bubblewrap backend binds the tree read-only
at ``SANDBOX_SITE_PACKAGES`` (``PYTHONPATH``) and hides Debian's ``dist-packages``; the docker
image ``RUNTIME_IMAGE_TAG`` is the base image with the same tree copied in, and participants'
Dockerfiles build ``FROM`` it. Both run Debian bookworm's python3 (3.11), the interpreter the
wheels are built for.

Building needs the package index once (about a minute); afterwards everything is offline and
``ensure_runtime()`` only reads the manifest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RUNTIME_VERSION = "1"
"""Bumped whenever ``RUNTIME_LOCK`` changes: it names the folder and the image tag."""
PYTHON_VERSION = "3.11"
"""Debian bookworm's python3, the interpreter of both sandboxes."""
PLATFORMS: tuple[str, ...] = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
REQUESTED: tuple[str, ...] = ("torch", "numpy", "pandas", "scikit-learn", "scipy", "xgboost-cpu")
"""What the runtime is for; the rest of ``RUNTIME_LOCK`` are their dependencies."""
RUNTIME_LOCK: dict[str, str] = {
    "torch": "2.13.0",  # the CPU build (2.13.0+cpu) where pip's find-links offer it
    "numpy": "2.4.6",
    "pandas": "3.1.1",
    "scikit-learn": "1.9.1",
    "scipy": "1.17.1",
    "xgboost-cpu": "3.2.0",
    "cloudpickle": "3.1.3",
    "filelock": "4.3.1",
    "fsspec": "2026.9.0",
    "jinja2": "3.1.6",
    "joblib": "1.6.0",
    "markupsafe": "3.0.4",
    "mpmath": "1.3.0",
    "narwhals": "2.29.0",
    "networkx": "3.6.1",
    "python-dateutil": "4.0.0",
    "setuptools": "84.2.1",
    "sympy": "1.14.0",
    "threadpoolctl": "3.8.0",
    "typing-extensions": "4.16.0",
    "tzdata": "2026.6",
}
"""Every distribution of the runtime, dependencies included, as ``name == version``."""
IMPORTS: dict[str, str] = {
    "torch": "torch",
    "numpy": "numpy",
    "pandas": "pandas",
    "scikit-learn": "sklearn",
    "scipy": "scipy",
    "xgboost-cpu": "xgboost",
}
SANDBOX_ROOT = "/opt/hepbench-runtime"
SANDBOX_SITE_PACKAGES = SANDBOX_ROOT + "/site-packages"
DEBIAN_DIST_PACKAGES = "/usr/lib/python3/dist-packages"
"""Debian's own numpy 1.x modules: hidden when the runtime is there (they break its numpy 2)."""
RUNTIME_IMAGE_TAG = f"hepbench/submission-runtime:{RUNTIME_VERSION}"
TREE_LABEL = "org.hepbench.runtime.tree-sha256"
MANIFEST = "manifest.json"


def normalise(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return name.lower().replace("_", "-").replace(".", "-")


def runtime_root() -> Path:
    """``$HEPBENCH_RUNTIME_ROOT``; as root ``/var/lib/hepbench/runtime`` (reachable by the
    sandbox users, unlike root's home); otherwise ``~/.cache/hepbench/runtime``."""
    if os.environ.get("HEPBENCH_RUNTIME_ROOT"):
        return Path(os.environ["HEPBENCH_RUNTIME_ROOT"])
    if os.geteuid() == 0:
        return Path("/var/lib/hepbench/runtime")
    from .base_image import cache_dir

    return cache_dir() / "runtime"


def runtime_dir() -> Path:
    return runtime_root() / f"py{PYTHON_VERSION}-v{RUNTIME_VERSION}"


def read_manifest(folder: Path | None = None) -> dict[str, Any] | None:
    """The manifest of a built runtime matching ``RUNTIME_LOCK``, or ``None``."""
    path = (folder or runtime_dir()) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if manifest.get("lock") != RUNTIME_LOCK or manifest.get("python") != PYTHON_VERSION:
        return None
    return manifest


def installed_runtime() -> Path | None:
    """The runtime's folder when it is built for the current lock, else ``None``."""
    folder = runtime_dir()
    return folder if read_manifest(folder) is not None else None


def tree_sha256(folder: Path, block_bytes: int = 1 << 20) -> str:
    """sha256 over the tree's relative paths, modes and bytes, in path order."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            info = path.lstat()
            digest.update(f"{path.relative_to(folder)}\0{stat.S_IMODE(info.st_mode):o}\0".encode())
            if stat.S_ISLNK(info.st_mode):
                digest.update(os.readlink(path).encode())
                continue
            with open(path, "rb") as handle:
                while block := handle.read(block_bytes):
                    digest.update(block)
    return digest.hexdigest()


def harden(folder: Path) -> int:
    """Clear set-uid / set-gid / sticky and group / other write bits below ``folder``; folders
    and files readable by all (the sandbox users own nothing of it). Returns how many changed."""
    changed = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                continue
            mode = stat.S_IMODE(info.st_mode)
            wanted = (mode | 0o444 | (0o111 if stat.S_ISDIR(info.st_mode) else 0)) & 0o755
            if wanted != mode:
                os.chmod(path, wanted)
                changed += 1
    os.chmod(folder, 0o755)
    return changed


def unsafe_entries(folder: Path) -> list[str]:
    """Paths below ``folder`` that would widen a sandbox: set-uid / set-gid files, anything
    group- or other-writable, links pointing out of the tree, devices, FIFOs, sockets."""
    found = []
    top = folder.resolve()
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            info = path.lstat()
            mode = info.st_mode
            if stat.S_ISLNK(mode):
                target = path.resolve()
                if target != top and top not in target.parents:
                    found.append(f"{path}: link out of the runtime")
            elif not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                found.append(f"{path}: not a regular file or folder")
            elif mode & (stat.S_ISUID | stat.S_ISGID) or mode & 0o022:
                found.append(f"{path}: mode {stat.S_IMODE(mode):o}")
    return found


def pip_command(target: Path, report: Path, python: str = sys.executable) -> list[str]:
    """The pip call that installs ``RUNTIME_LOCK`` for the sandbox's interpreter into ``target``."""
    args = [python, "-m", "pip", "install", "--quiet", "--no-input", "--target", str(target), "--report", str(report)]
    args += ["--only-binary=:all:", "--python-version", PYTHON_VERSION, "--implementation", "cp"]
    args += ["--abi", "cp" + PYTHON_VERSION.replace(".", "")]
    for platform in PLATFORMS:
        args += ["--platform", platform]
    return args + [f"{name}=={version}" for name, version in RUNTIME_LOCK.items()]


def check_resolution(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The installed distributions from pip's ``--report``; ValueError unless they are the lock."""
    packages: dict[str, dict[str, str]] = {}
    for item in report.get("install", []):
        metadata = item.get("metadata", {})
        archive = item.get("download_info", {}).get("archive_info", {})
        sha = (archive.get("hashes") or {}).get("sha256") or archive.get("hash", "").partition("=")[2]
        packages[normalise(metadata["name"])] = {
            "version": metadata["version"],
            "sha256": sha,
            "url": item.get("download_info", {}).get("url", ""),
        }
    extra = sorted(set(packages) - set(RUNTIME_LOCK))
    if extra:
        hint = (
            "; torch resolved to a CUDA build: offer the CPU wheel to pip (find-links)"
            if any(name.startswith("nvidia-") for name in extra)
            else ""
        )
        raise ValueError(f"pip installed {extra}, which the runtime lock does not pin{hint}")
    missing = sorted(set(RUNTIME_LOCK) - set(packages))
    if missing:
        raise ValueError(f"pip did not install {missing} of the runtime lock")
    for name, pinned in RUNTIME_LOCK.items():
        if packages[name]["version"].split("+")[0] != pinned:
            raise ValueError(f"pip installed {name} {packages[name]['version']}, the lock pins {pinned}")
    return packages


def build_runtime(folder: Path | None = None, *, python: str = sys.executable) -> dict[str, Any]:
    """Install the lock into ``folder`` (default ``runtime_dir()``) and write its manifest.

    Built next to the destination and renamed into place, so a failed build leaves nothing
    that looks finished. Returns the manifest.
    """
    folder = folder or runtime_dir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    for parent in (folder.parent, *folder.parent.parents):
        if parent == Path(parent.anchor):
            break
        if os.geteuid() == 0 and parent.stat().st_uid == 0:
            os.chmod(parent, parent.stat().st_mode | 0o055)  # the sandbox users read it
    start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=folder.name + ".partial-", dir=folder.parent))
    try:
        site = work / "site-packages"
        report_path = work / "pip-report.json"
        done = subprocess.run(pip_command(site, report_path, python), capture_output=True, text=True)
        if done.returncode != 0:
            tail = " | ".join(line for line in done.stderr.strip().splitlines()[-3:])
            raise RuntimeError(f"pip could not install the runtime (exit {done.returncode}): {tail}")
        packages = check_resolution(json.loads(report_path.read_text()))
        # Console scripts carry the builder's interpreter in their #! line: not the sandbox's.
        shutil.rmtree(site / "bin", ignore_errors=True)
        harden(work)
        problems = unsafe_entries(work)
        if problems:
            raise ValueError(f"the runtime would widen the sandbox: {problems[:3]}")
        manifest = {
            "runtime_version": RUNTIME_VERSION,
            "python": PYTHON_VERSION,
            "platforms": list(PLATFORMS),
            "lock": dict(RUNTIME_LOCK),
            "packages": packages,
            "tree_sha256": tree_sha256(site),
            "sandbox_path": SANDBOX_SITE_PACKAGES,
            "image": RUNTIME_IMAGE_TAG,
            "built": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "build_seconds": round(time.perf_counter() - start, 1),
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        os.chmod(work / MANIFEST, 0o644)
        report_path.unlink()
        if folder.exists():
            shutil.rmtree(folder)
        work.rename(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return manifest


def ensure_runtime() -> dict[str, Any]:
    """The runtime for the current lock, built only when absent; what was done and its seconds."""
    start = time.perf_counter()
    folder = runtime_dir()
    manifest = read_manifest(folder)
    action = "present"
    if manifest is None:
        manifest = build_runtime(folder)
        action = "built"
    return {
        "path": str(folder),
        "action": action,
        "seconds": round(time.perf_counter() - start, 1),
        "tree_sha256": manifest["tree_sha256"],
    }


def sandbox_python_version(python: str = "/usr/bin/python3") -> str | None:
    """``major.minor`` of the interpreter the bubblewrap sandbox runs, or ``None`` if absent."""
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


DOCKERFILE = """\
FROM {base}
# Debian's python3-numpy / python3-pandas are built against numpy 1.x: the runtime replaces them.
RUN rm -rf {dist} && mkdir -m 0755 {dist}
COPY site-packages {site}
COPY manifest.json {root}/manifest.json
ENV PYTHONPATH={site}
LABEL {label}={tree}
CMD ["python3"]
"""


def ensure_runtime_image(client=None, *, base: str | None = None) -> dict[str, Any]:
    """``RUNTIME_IMAGE_TAG`` in the local daemon: the base image plus the runtime tree, built
    offline (no pull, no network) when absent or when its tree checksum differs."""
    import docker

    from .base_image import BASE_IMAGE_TAG
    from .container import docker_client

    client = client or docker_client()
    start = time.perf_counter()
    folder = runtime_dir()
    manifest = read_manifest(folder)
    if manifest is None:
        raise RuntimeError(f"{folder}: no runtime built for this lock (hepbench submission prepare-host)")
    try:
        image = client.images.get(RUNTIME_IMAGE_TAG)
        if (image.labels or {}).get(TREE_LABEL) == manifest["tree_sha256"]:
            return {"tag": RUNTIME_IMAGE_TAG, "action": "present", "seconds": round(time.perf_counter() - start, 1)}
    except docker.errors.ImageNotFound:
        pass
    dockerfile = DOCKERFILE.format(
        base=base or BASE_IMAGE_TAG,
        dist=DEBIAN_DIST_PACKAGES,
        site=SANDBOX_SITE_PACKAGES,
        root=SANDBOX_ROOT,
        label=TREE_LABEL,
        tree=manifest["tree_sha256"],
    )
    (folder / "Dockerfile").write_text(dockerfile)
    try:
        client.images.build(
            path=str(folder), tag=RUNTIME_IMAGE_TAG, pull=False, network_mode="none", rm=True, forcerm=True
        )
    except docker.errors.BuildError as err:
        raise RuntimeError(f"building {RUNTIME_IMAGE_TAG} failed: {err.msg}") from None
    finally:
        (folder / "Dockerfile").unlink(missing_ok=True)
    return {"tag": RUNTIME_IMAGE_TAG, "action": "built", "seconds": round(time.perf_counter() - start, 1)}


CHECK_IMPORTS = (
    "import json, sys\n"
    "import numpy, pandas, scipy, sklearn, torch, xgboost\n"
    "print(json.dumps({'python': '%d.%d' % sys.version_info[:2], 'numpy': numpy.__version__,"
    " 'pandas': pandas.__version__, 'scipy': scipy.__version__, 'scikit-learn': sklearn.__version__,"
    " 'torch': torch.__version__, 'torch_cuda': torch.version.cuda, 'xgboost-cpu': xgboost.__version__,"
    " 'numpy_file': numpy.__file__}))\n"
)
"""A one-shot check run inside a sandbox: every requested library imports, and from where."""


def markdown_table() -> str:
    """The version table of ``submission_kit/README.md``: the lock, requested packages first."""
    rows = ["| package | version |", "|---|---|"]
    for name in [*REQUESTED, *sorted(set(RUNTIME_LOCK) - set(REQUESTED))]:
        rows.append(f"| {name} | {RUNTIME_LOCK[name]} |")
    return "\n".join(rows)
