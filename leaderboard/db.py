"""Opening the leaderboard store: engine, schema migrations (Alembic) and sessions.

A store is a database (a SQLite file in the home folder by default, any SQLAlchemy URL
otherwise, e.g. ``postgresql+psycopg://user@host/db``) plus a home folder holding the submitted
payloads and the artefacts that scoring writes. Opening a store migrates its schema to the
newest revision shipped in ``hepbench.leaderboard.migrations``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_HOME = Path("hepbench-leaderboard")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ENV_URL = "HEPBENCH_LEADERBOARD_DB"


def default_url(home: Path) -> str:
    """``$HEPBENCH_LEADERBOARD_DB`` when set, else the SQLite file ``HOME/leaderboard.db``."""
    return os.environ.get(ENV_URL) or f"sqlite:///{(home / 'leaderboard.db').resolve()}"


def make_engine(url: str) -> Engine:
    """An engine for ``url``. SQLite transactions start with ``BEGIN IMMEDIATE`` (one writer at a
    time, so the compare-and-set state changes of the queue are serialised across processes)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" hook below emit BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if parsed.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config(url: str) -> Any:
    """The Alembic configuration of the shipped migrations (works from an installed wheel)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema of ``engine``'s database to ``revision``."""
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade the schema of ``engine``'s database to ``revision`` (``base``: no tables)."""
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest schema revision shipped with this version of hepbench."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


@dataclass
class Store:
    """An open leaderboard: database engine, session factory and home folder."""

    engine: Engine
    home: Path
    sessions: sessionmaker[Session]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on any error."""
        with self.sessions.begin() as session:
            yield session

    def path(self, relative: str) -> Path:
        """A path stored in the database (relative to the home folder) as a real path."""
        return self.home / relative

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def close(self) -> None:
        self.engine.dispose()


class NoLeaderboard(RuntimeError):
    """No leaderboard where one was expected (a mistyped ``--home`` or ``--db``): nothing is created."""


def open_store(
    home: str | Path = DEFAULT_HOME, url: str | None = None, *, upgrade: bool = True, create: bool = True
) -> Store:
    """Open the leaderboard at ``home`` with database ``url``, migrating its schema when
    ``upgrade``. With ``create=False`` a leaderboard must already be there (``init`` made it):
    a mistyped home or database is an error, not a new empty leaderboard (the home folder itself
    may be new when ``url`` names a database that holds one)."""
    home = Path(home)
    # the URL as SQLAlchemy renders it: a password in it is masked
    shown_db = f" --db {make_url(url).render_as_string()}" if url else ""
    init_hint = f"create one with `hepbench leaderboard init --home {home}{shown_db}`"
    url = url or default_url(home)
    if not create:
        parsed = make_url(url)
        on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
        if on_disk and not Path(str(parsed.database)).is_file():
            raise NoLeaderboard(f"{parsed.database}: no leaderboard database; {init_hint}")
    home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    try:
        tables = inspect(engine).get_table_names()
    except DatabaseError as err:  # e.g. a file that is not SQLite at all
        engine.dispose()
        raise NoLeaderboard(f"{make_url(url).render_as_string()}: not a leaderboard database ({err.orig})") from None
    if not create and "runs" not in tables:
        engine.dispose()
        raise NoLeaderboard(f"{make_url(url).render_as_string()}: no leaderboard schema; {init_hint}")
    if upgrade:
        migrate(engine)
    elif "runs" not in inspect(engine).get_table_names():
        raise RuntimeError(f"{engine.url.render_as_string()}: no leaderboard schema (open it with upgrade=True)")
    return Store(engine=engine, home=home, sessions=sessionmaker(engine, expire_on_commit=False))
