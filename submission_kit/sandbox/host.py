"""Getting a Debian host ready to run sandboxes: packages, the docker daemon, the base image.

``prepare_host()`` is idempotent and quick once done: it installs only missing packages, starts
``dockerd`` only when no daemon answers (restarting it once when it runs without user-namespace
remapping), and builds the base image only when neither the daemon nor the cache has it. Run it
as root (``hepbench submission prepare-host``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

APT_PACKAGES: tuple[str, ...] = ("docker.io", "bubblewrap", "debootstrap", "python3-numpy", "python3-pandas")
"""docker daemon, bubblewrap, the base-image builder, and the interpreter code submissions run on."""

DOCKERD_ARGS: tuple[str, ...] = ("--iptables=false", "--ip-forward=false", "--bridge=none")
"""Submissions run with ``network_mode=none``: the daemon needs no bridge and no NAT rules."""
DAEMON_JSON = Path("/etc/docker/daemon.json")
USERNS_REMAP = "default"
"""Root in every container (a Dockerfile's RUN steps, a run) is an unprivileged host uid of the
``dockremap`` range: set in ``daemon.json`` so that a daemon started by systemd gets it too."""
PID_FILE = Path("/var/run/docker.pid")


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


def daemon_remaps_users() -> bool:
    """Whether the answering daemon runs containers in a remapped user namespace."""
    import docker

    options = docker.from_env(timeout=30).info().get("SecurityOptions") or []
    return any("name=userns" in option for option in options)


def configure_userns_remap(path: Path = DAEMON_JSON) -> bool:
    """Set ``userns-remap`` in the daemon's configuration file, keeping its other keys; whether
    the file changed. An organiser's own remap user is kept."""
    config: dict[str, Any] = {}
    if path.is_file():
        try:
            config = json.loads(path.read_text() or "{}")
        except json.JSONDecodeError as err:
            raise RuntimeError(f"{path}: not valid JSON ({err}); fix it before preparing the host") from None
        if not isinstance(config, dict):
            raise RuntimeError(f"{path}: expected a JSON object")
    if config.get("userns-remap"):
        return False
    config["userns-remap"] = USERNS_REMAP
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(config, indent=2) + "\n")
    partial.replace(path)
    return True


def _systemd_manages_docker() -> bool:
    if shutil.which("systemctl") is None or not Path("/run/systemd/system").is_dir():
        return False
    done = subprocess.run(["systemctl", "is-active", "--quiet", "docker.service"], capture_output=True)
    return done.returncode == 0


def stop_dockerd(timeout: float = 60.0) -> str:
    """Stop the running daemon (systemd's unit, or the process in ``PID_FILE``); how."""
    if _systemd_manages_docker():
        subprocess.run(["systemctl", "stop", "docker.service", "docker.socket"], check=False, capture_output=True)
        return "systemctl stop"
    try:
        pid = int(PID_FILE.read_text().strip())
    except (OSError, ValueError):
        raise RuntimeError(f"a docker daemon answers but {PID_FILE} names no process to restart") from None
    os.kill(pid, signal.SIGTERM)  # dockerd stops its containers and removes its socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() and not daemon_answers():
            return f"stopped pid {pid}"
        time.sleep(0.2)
    raise RuntimeError(f"dockerd (pid {pid}) did not stop within {timeout:g} s")


def start_dockerd(log_path: str | Path = "/var/log/hepbench-dockerd.log", timeout: float = 60.0) -> dict[str, Any]:
    """A daemon that remaps users: start ``dockerd`` unless one answers (overlay2 first, then vfs);
    one that answers without remapping is restarted once with ``userns-remap`` in its
    configuration file. Returns what happened."""
    report: dict[str, Any] = {}
    if daemon_answers():
        if daemon_remaps_users():
            return {"dockerd": "already running", "userns_remap": True}
        if os.geteuid() != 0:
            raise PermissionError("the docker daemon runs without userns-remap; restarting it needs root")
        report["daemon_json_changed"] = configure_userns_remap()
        report["restarted"] = stop_dockerd(timeout)
        if report["restarted"] == "systemctl stop":
            subprocess.run(["systemctl", "start", "docker.service"], check=True, capture_output=True)
            _wait_for_daemon(timeout)
            return {**report, "dockerd": "restarted by systemd", "userns_remap": daemon_remaps_users()}
    if shutil.which("dockerd") is None:
        raise RuntimeError("dockerd not found (apt-get install -y docker.io)")
    if os.geteuid() != 0:
        raise PermissionError("starting dockerd needs root")
    report.setdefault("daemon_json_changed", configure_userns_remap())
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
                return {
                    **report,
                    "dockerd": "started",
                    "storage_driver": driver,
                    "pid": proc.pid,
                    "log": str(log_path),
                    "userns_remap": daemon_remaps_users(),
                }
            time.sleep(0.5)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        errors.append(f"{driver}: exited with {proc.returncode}")
    tail = Path(log_path).read_text(errors="replace")[-1500:]
    raise RuntimeError(f"dockerd did not start ({'; '.join(errors)}); end of {log_path}:\n{tail}")


def _wait_for_daemon(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon_answers():
            return
        time.sleep(0.5)
    raise RuntimeError(f"the docker daemon did not answer within {timeout:g} s of its restart")


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
