"""Migration 0004 widens the users.role check to 'auditor' on both engines, keeping users and
their sessions; its downgrade removes auditors and narrows the check again."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import engine_url
from vigil.store.db import _sqlite_pragmas

INSERT_USER = (
    "INSERT INTO users (username, password_hash, role, created_at, disabled) "
    "VALUES (:name, 'hash', :role, '2026-12-01 00:00:00+00:00', false)"
)


def _migrate(engine: Engine, target: str, *, down: bool = False) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("vigil.store") / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, target)


def _add(engine: Engine, name: str, role: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(INSERT_USER), {"name": name, "role": role})


def _scalar(engine: Engine, sql: str) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_0004_lets_users_be_auditors_and_keeps_users_and_sessions(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = engine_url(dialect, request)
    engine = create_engine(url)
    if dialect == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)  # foreign keys on, as Vigil runs it
    try:
        _migrate(engine, "0003")
        _add(engine, "ada", "admin")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO sessions (id, user_id, csrf, created_at, expires_at) "
                    "SELECT 'tok', id, 'csrf', '2026-12-01 00:00:00+00:00', "
                    "'2099-01-01 00:00:00+00:00' FROM users WHERE username = 'ada'"
                )
            )
        with pytest.raises(IntegrityError):
            _add(engine, "aud", "auditor")  # before 0004: not a role

        _migrate(engine, "head")
        _add(engine, "aud", "auditor")
        assert _scalar(engine, "SELECT role FROM users WHERE username = 'aud'") == "auditor"
        assert _scalar(engine, "SELECT count(*) FROM users") == 2
        assert _scalar(engine, "SELECT count(*) FROM sessions") == 1  # nobody logged out
        with pytest.raises(IntegrityError):
            _add(engine, "root", "root")  # still checked
        with pytest.raises(IntegrityError):
            _add(engine, "ada", "viewer")  # usernames still unique

        _migrate(engine, "0003", down=True)
        assert _scalar(engine, "SELECT count(*) FROM users WHERE role = 'auditor'") == 0
        assert _scalar(engine, "SELECT count(*) FROM sessions") == 1
        with pytest.raises(IntegrityError):
            _add(engine, "aud2", "auditor")
        _migrate(engine, "head")  # and up again
        _add(engine, "aud3", "auditor")
    finally:
        engine.dispose()


@pytest.mark.filterwarnings("ignore:Did not recognize type 'geometry'")  # PostGIS's column
@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_migrations_build_the_schema_the_tables_declare(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """No drift between vigil/store/tables.py and the Alembic migrations (columns, types,
    nullability, indexes), on both engines; and 0006 goes down and up again keeping alerts."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from vigil.store.partitions import include_object
    from vigil.store.tables import Base

    url = engine_url(dialect, request)
    engine = create_engine(url)
    try:
        _migrate(engine, "0005")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO cameras (id, name, source, created_at) VALUES "
                    "('c', 'C', 'c.mp4', '2026-12-01 00:00:00+00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO alerts (rule, camera_id, type, time, status) VALUES "
                    "('r', 'c', 'plate_read', '2026-12-01 00:00:00+00:00', 'candidate')"
                )
            )
        _migrate(engine, "head")
        with engine.connect() as conn:
            # PostgreSQL holds more than the tables declare: day partitions, PostGIS columns.
            context = MigrationContext.configure(conn, opts={"include_object": include_object})
            diff = compare_metadata(context, Base.metadata)
        assert diff == []
        assert _scalar(engine, "SELECT count(*) FROM alerts WHERE attributes IS NULL") == 1
        _migrate(engine, "0005", down=True)
        assert _scalar(engine, "SELECT count(*) FROM alerts") == 1
        _migrate(engine, "head")
    finally:
        engine.dispose()
