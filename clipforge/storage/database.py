"""Engines and migrations: SQLite embedded, PostgreSQL distributed, one schema (Alembic)."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine

from clipforge import errors
from clipforge.storage.models import Base

MIGRATIONS = Path(__file__).with_name("migrations")
# Revision ids before they shared one style (`NNNN_name`): a database stamped with one
# is restamped with its new name, which holds the same schema.
RENAMED = {"0001": "0001_initial", "0004_vision": "0003_vision"}


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        _private_file(Path(url.removeprefix("sqlite:///")))
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    except Exception as exc:  # a malformed URL or an unknown driver
        raise errors.BadOption(f"database URL {url}: {exc}") from exc


def _private_file(path: Path) -> None:
    """The SQLite file readable by its owner only (it holds password hashes and the
    accounts' encrypted tokens); SQLite gives its -wal and -shm files the same mode."""
    if str(path) == ":memory:":
        return
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


def _sqlite_pragmas(conn: object, _record: object) -> None:
    cursor = conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`; a database made before migrations is refused."""
    _refuse_unversioned(engine)
    with engine.begin() as connection:
        _restamp(connection)
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _restamp(connection: Connection) -> None:
    if "alembic_version" not in inspect(connection).get_table_names():
        return
    for old, new in RENAMED.items():
        connection.execute(text("UPDATE alembic_version SET version_num = :new "
                                "WHERE version_num = :old"), {"old": old, "new": new})


def downgrade(engine: Engine, revision: str = "base") -> None:
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current(engine: Engine) -> str:
    """The revision the database is at, or `base` when it has none."""
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    return revision or "base"


def _refuse_unversioned(engine: Engine) -> None:
    try:
        found = inspect(engine)
        tables = set(found.get_table_names())
    except Exception as exc:
        raise errors.StateError(
            f"{engine.url.render_as_string()}: cannot open the database ({exc}); check "
            "CLIPFORGE_DATABASE_URL and that the server is running") from exc
    ours = {table.name for table in Base.metadata.sorted_tables}
    if tables & ours and "alembic_version" not in tables:
        raise errors.StateError(
            f"{engine.url.render_as_string()}: this database was made by an older ClipForge "
            f"without migrations (it has tables {', '.join(sorted(tables & ours))}); move "
            "it aside or delete it to start afresh")
