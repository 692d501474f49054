"""Test fixtures for the leaderboard: a throw-away PostgreSQL server and Debian's chromium.

Both are installed with apt when absent and the tests run as root (as in CI); otherwise the
tests that need them skip with the reason. The PostgreSQL server is started from ``initdb`` in a
temporary folder, as an unprivileged user, on a free port, and removed afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def _apt_install(package: str) -> str | None:
    """``apt-get install -y package`` (root only); None on success, else why not."""
    if shutil.which("apt-get") is None:
        return "apt-get is not available"
    if os.geteuid() != 0:
        return "not running as root, so apt-get cannot install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for attempt in range(2):
        done = subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", package], env=env, capture_output=True, text=True
        )
        if done.returncode == 0:
            return None
        if attempt == 0:
            subprocess.run(["apt-get", "update"], env=env, capture_output=True)
    return f"apt-get install {package} failed: {done.stderr.strip()[-300:]}"


def postgres_bin() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres`` (installing Debian's postgresql if needed)."""

    def find() -> Path | None:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
        if candidates:
            return Path(candidates[0]).parent
        found = shutil.which("pg_ctl")
        return Path(found).resolve().parent if found else None

    return find() or (find() if _apt_install("postgresql") is None else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    bin: Path
    data: Path
    port: int
    user: str
    run_as: list[str]

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql)

    def create_database(self) -> str:
        name = f"lb_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        subprocess.run(
            [*self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )


def start_postgres() -> tuple[PostgresServer | None, str, Path | None]:
    """Start a PostgreSQL server; returns (server, why not, folder to remove)."""
    pg = postgres_bin()
    if pg is None:
        return None, "PostgreSQL is not installed and could not be installed with apt-get", None
    root = Path(tempfile.mkdtemp(prefix="hepbench-pg-"))
    run_as: list[str] = []
    user = os.environ.get("USER") or "postgres"
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        user = "postgres"
        try:
            import pwd

            pwd.getpwnam(user)
        except KeyError:
            user = "nobody"
        shutil.chown(root, user=user)
        run_as = ["runuser", "-u", user, "--"]
    else:
        import getpass

        user = getpass.getuser()
    data = root / "data"
    init = subprocess.run(
        [*run_as, str(pg / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8", "--no-sync"],
        capture_output=True,
        text=True,
    )
    if init.returncode != 0:
        return None, f"initdb failed: {init.stderr.strip()[-400:]}", root
    port = free_port()
    options = (
        f"-p {port} -h 127.0.0.1 -k {root} -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=50"
    )
    start = subprocess.run(
        [
            *run_as,
            str(pg / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        capture_output=True,
        text=True,
    )
    if start.returncode != 0:
        log = (root / "log").read_text()[-400:] if (root / "log").exists() else ""
        return None, f"postgres did not start: {start.stderr.strip()[-300:]} {log}", root
    return PostgresServer(pg, data, port, user, run_as), "", root


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this test session (installed with apt and started if needed)."""
    server, why, root = start_postgres()
    try:
        if server is None:
            pytest.skip(f"no PostgreSQL server for the leaderboard tests: {why}")
        yield server
    finally:
        if server is not None:
            server.stop()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's chromium (installed with apt if needed)."""
    if not CHROMIUM.exists():
        why = _apt_install("chromium")
        if why is not None or not CHROMIUM.exists():
            pytest.skip(f"no {CHROMIUM} for the browser tests: {why}")
    return CHROMIUM


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """An empty leaderboard with the declared challenges, on SQLite and on PostgreSQL."""
    from .db import open_store
    from .submissions import sync_challenges

    database = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'leaderboard.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        database = server.create_database()
        url = server.url(database)
    opened = open_store(tmp_path / "home", url)
    sync_challenges(opened)
    try:
        yield opened
    finally:
        opened.close()
        if database is not None:
            server.drop_database(database)


def synthetic_record(
    method: str, coverage_score: float, *, width: float = 1.0, mae: float = 0.5, challenge: str = "higgs-uncertainty"
) -> dict[str, object]:
    """A HiggsML Uncertainty run record with metrics only (as in ``demo-results.json``)."""
    return {
        "challenge": challenge,
        "method": method,
        "preset": "tiny",
        "n_sets": 2,
        "n_pseudo_experiments": 3,
        "device": "cpu",
        "train_seconds": 1.5,
        "predict_seconds_mean": 0.01,
        "metrics": {
            "coverage_score": coverage_score,
            "width": width,
            "coverage": 0.68,
            "rmse": mae,
            "mae": mae,
            "n_failed": 0,
            "n_pseudo_experiments": 6,
            "bootstrap": {"coverage_score": {"std": 0.05}, "width": {"std": 0.01}, "coverage": {"std": 0.02}},
        },
    }


@pytest.fixture
def make_record():  # type: ignore[no-untyped-def]
    """``make_record(method, coverage_score, width=..., mae=...)``: a synthetic run record."""
    return synthetic_record
