"""Getting a Debian host ready to run sandboxes: packages, the docker daemon, the base image.

``prepare_host()`` is idempotent and quick once done: it installs only missing packages, starts
``dockerd`` only when no daemon answers, and builds the base image only when neither the
daemon nor the cache has it. Run it as root (``hepbench submission prepare-host``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

APT_PACKAGES: tuple[str, ...] = ("docker.io", "bubblewrap", "debootstrap", "python3-numpy", "python3-pandas")
"""docker daemon, bubblewrap, the base-image builder, and the interpreter code submissions run on."""

DOCKERD_ARGS: tuple[str, ...] = ("--iptables=false", "--ip-forward=false", "--bridge=none")
"""Submissions run with ``network_mode=none``: the daemon needs no bridge and no NAT rules."""


def missing_packages(packages: tuple[str, ...] = APT_PACKAGES) -> list[str]:
    missing = []
    for name in packages:
        done = subprocess.run(["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True)
        if "install ok installed" not in done.stdout:
            missing.append(name)
    return missing


def install_packages(packages: tuple[str, ...] = APT_PACKAGES) -> list[str]:
    """apt-get install what is missing; returns what was installed."""
    if shutil.which("dpkg-query") is None or shutil.which("apt-get") is None:
        raise RuntimeError("not a Debian host: apt-get / dpkg-query not found")
    missing = missing_packages(packages)
    if missing:
        if os.geteuid() != 0:
            raise PermissionError(f"packages {missing} are missing and installing them needs root")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env, stdout=subprocess.DEVNULL)
    return missing


def daemon_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=5).ping()
        return True
    except Exception:  # noqa: BLE001 - no socket, refused, timeout: all mean no daemon
        return False


def start_dockerd(log_path: str | Path = "/var/log/hepbench-dockerd.log", timeout: float = 60.0) -> dict[str, Any]:
    """Start ``dockerd`` unless a daemon answers; overlay2 first, then vfs. Returns what happened."""
    if daemon_answers():
        return {"dockerd": "already running"}
    if shutil.which("dockerd") is None:
        raise RuntimeError("dockerd not found (apt-get install -y docker.io)")
    if os.geteuid() != 0:
        raise PermissionError("starting dockerd needs root")
    errors = []
    for driver in ("overlay2", "vfs"):
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                ["dockerd", *DOCKERD_ARGS, f"--storage-driver={driver}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if daemon_answers():
                return {"dockerd": "started", "storage_driver": driver, "pid": proc.pid, "log": str(log_path)}
            time.sleep(0.5)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        errors.append(f"{driver}: exited with {proc.returncode}")
    tail = Path(log_path).read_text(errors="replace")[-1500:]
    raise RuntimeError(f"dockerd did not start ({'; '.join(errors)}); end of {log_path}:\n{tail}")


def prepare_host() -> dict[str, Any]:
    """Packages, daemon, base image, the submission runtime (a read-only tree for bubblewrap and
    the image ``hepbench/submission-runtime``); returns what each step did and how long it took."""
    from .base_image import ensure_base_image
    from .runtime import PYTHON_VERSION, ensure_runtime, ensure_runtime_image, sandbox_python_version

    report: dict[str, Any] = {}
    start = time.perf_counter()
    report["installed_packages"] = install_packages()
    report["packages_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    report.update(start_dockerd())
    report["dockerd_seconds"] = time.perf_counter() - start
    report["base_image"] = ensure_base_image()
    found = sandbox_python_version()
    if found != PYTHON_VERSION:
        raise RuntimeError(
            f"/usr/bin/python3 is {found or 'missing'}; the submission runtime is built for python {PYTHON_VERSION} "
            "(Debian bookworm)"
        )
    report["runtime"] = ensure_runtime()
    report["runtime_image"] = ensure_runtime_image()
    return report
