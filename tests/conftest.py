"""Test set-up: databases (SQLite and PostgreSQL), engine, clock, users.

Engine tests take the ``db`` fixture, which runs each of them on SQLite and on
PostgreSQL (a fresh schema per run in the ``test`` database on 127.0.0.1:5432).  When
PostgreSQL is unreachable the PostgreSQL half is skipped with a loud summary line, except
under CI (``CI`` set), where that is a failure.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine as DbEngine
from sqlalchemy import text
from sqlalchemy.orm import Session

from engine import identity
from engine.api import Engine, EngineSettings
from engine.clock import ManualClock
from engine.spiff.sandbox import SandboxLimits
from engine.store.db import make_engine, make_sessionmaker
from engine.store.models import Base
from engine.store.schema import upgrade
from engine.store.uow import unit_of_work
from workflows.roles import ROLES

PG_BASE = os.environ.get("PMOFLOW_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOT_RUN: list[str] = []


def _pg_reachable() -> str | None:
    """None if PostgreSQL answers (starting it once if needed), else the reason."""
    def probe() -> str | None:
        try:
            eng = make_engine(PG_BASE, connect_args={"connect_timeout": 3})
            with eng.connect() as conn:
                conn.execute(text("select 1"))
            eng.dispose()
            return None
        except Exception as exc:
            return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"

    reason = probe()
    if reason is None:
        return None
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "start"],
                       capture_output=True, timeout=60, check=False)
    return probe()


@dataclass
class Database:
    """One migrated database for the whole run."""

    kind: str
    url: str
    engine: DbEngine


def _make_sqlite(tmp_path_factory) -> Database:
    path = tmp_path_factory.mktemp("sqlite") / "pmoflow.db"
    url = f"sqlite:///{path}"
    eng = make_engine(url)
    upgrade(eng)
    return Database("sqlite", url, eng)


def _make_postgres() -> Database:
    schema = f"pmoflow_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in PG_BASE else "?"
    url = f"{PG_BASE}{sep}options=-csearch_path%3D{schema}"
    eng = make_engine(url)
    upgrade(eng)
    db = Database("postgres", url, eng)
    db.schema = schema  # type: ignore[attr-defined]
    return db


@pytest.fixture(scope="session")
def sqlite_db(tmp_path_factory) -> Iterator[Database]:
    db = _make_sqlite(tmp_path_factory)
    yield db
    db.engine.dispose()


@pytest.fixture(scope="session")
def postgres_db() -> Iterator[Database]:
    reason = _pg_reachable()
    if reason is not None:
        message = f"PostgreSQL at {PG_BASE} is not reachable ({reason})"
        if os.environ.get("CI"):
            pytest.fail(message + " and CI is set: the PostgreSQL half must run", pytrace=False)
        NOT_RUN.append(message + ": PostgreSQL tests skipped. Start it with "
                       "`pg_ctlcluster --skip-systemctl-redirect 15 main start`.")
        pytest.skip(message)
    db = _make_postgres()
    yield db
    db.engine.dispose()
    admin = make_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{db.schema}" CASCADE'))  # type: ignore[attr-defined]
    admin.dispose()


def _wipe(db: Database) -> None:
    tables = [t for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.kind == "postgres":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())


@pytest.fixture(params=["sqlite", "postgres"])
def db(request) -> Iterator[Database]:
    """A clean, migrated database; each test using it runs on SQLite and PostgreSQL."""
    database = request.getfixturevalue(f"{request.param}_db")
    _wipe(database)
    yield database
    _wipe(database)


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    with make_sessionmaker(db.engine)() as s:
        yield s


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock("2026-03-02T09:00:00+00:00")  # a Monday


@pytest.fixture
def settings() -> EngineSettings:
    return EngineSettings(sandbox=SandboxLimits(condition_seconds=0.2, script_seconds=0.5),
                          job_backoff_seconds=60)


@pytest.fixture
def engine(clock: ManualClock, settings: EngineSettings) -> Engine:
    from workflows.catalog import build_registry

    return Engine(clock=clock, settings=settings, services=build_registry())


@pytest.fixture
def people(session: Session, clock: ManualClock) -> dict[str, str]:
    """Roles plus one user per role (username -> role), committed."""
    users = {
        "pm1": "pm", "pm2": "pm", "sponsor1": "sponsor", "reviewer1": "pmo_reviewer",
        "reviewer2": "pmo_reviewer", "pmohead": "pmo_head", "finance1": "finance",
        "steer1": "steering", "steer2": "steering", "steer3": "steering", "team1": "team",
        "owner1": "process_owner", "admin": "pmo_admin",
    }
    with unit_of_work(session):
        identity.ensure_roles(session, ROLES)
        for username, role in users.items():
            identity.create_user(session, username, now=clock.now(), password="demo",
                                 roles=[role])
    return users


def pytest_terminal_summary(terminalreporter) -> None:
    """Say loudly what was not run and how to get it."""
    for line in dict.fromkeys(NOT_RUN):
        terminalreporter.write_sep("!", "NOT RUN", red=True, bold=True)
        terminalreporter.write_line(line, red=True, bold=True)
