"""Test set-up: databases (SQLite and PostgreSQL), engine, clock, users.

Engine tests take the ``db`` fixture, which runs each of them on SQLite and on
PostgreSQL (a fresh schema per run in the ``test`` database on 127.0.0.1:5432).
Everything here is the engine's alone: the engine's tables, an engine with no catalog
(no glue, no PMO roles but the test roles below).  Tests of the PMO catalog add its
tables and glue in their own conftest (``tests/workflows/conftest.py``).  When
PostgreSQL is unreachable the PostgreSQL half is skipped with a loud summary line, except
under CI (``CI`` set), where that is a failure.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Engine as DbEngine
from sqlalchemy import MetaData, event, text
from sqlalchemy.orm import Session

from engine import identity
from engine.api import Engine, EngineSettings
from engine.clock import ManualClock
from engine.identity import RoleSpec
from engine.spiff.sandbox import SandboxLimits
from engine.store.db import make_db_engine, make_sessionmaker
from engine.store.models import Base
from engine.store.schema import upgrade
from engine.store.uow import unit_of_work

PG_BASE = os.environ.get("PMOFLOW_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOT_RUN: list[str] = []
#: Starts the reason of a test skipped for a missing service, so the summary finds it in
#: the skip reports too (with pytest-xdist the workers skip, the controller reports).
NOT_RUN_PREFIX = "NOT RUN: "


@contextlib.contextmanager
def statements_on(bind: DbEngine) -> Iterator[list[str]]:
    """The SQL statements run through ``bind`` inside the block, whitespace folded
    (SQLite's ``BEGIN``, which this project's set-up sends itself, left out)."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        if not statement.startswith("BEGIN"):
            seen.append(" ".join(statement.split()))

    event.listen(bind, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(bind, "before_cursor_execute", note)


def not_run(message: str) -> None:
    """Skip the test for a missing service and say so loudly at the end of the run."""
    NOT_RUN.append(message)
    pytest.skip(NOT_RUN_PREFIX + message)


def _pg_reachable() -> str | None:
    """None if PostgreSQL answers (starting it once if needed), else the reason."""
    def probe() -> str | None:
        try:
            eng = make_db_engine(PG_BASE, connect_args={"connect_timeout": 3})
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


#: The roles engine tests use: global ones and two held per project.
TEST_ROLES = (
    *(RoleSpec(key, key.replace("_", " ").title()) for key in (
        "pm", "pmo_reviewer", "pmo_head", "finance", "steering", "process_owner",
        "pmo_admin")),
    RoleSpec("sponsor", "Sponsor", "project"),
    RoleSpec("team", "Team", "project"),
)


@dataclass
class Database:
    """One migrated database for the whole run."""

    kind: str
    url: str
    engine: DbEngine
    #: Whose tables a test may have filled (wiped before and after each test).
    metadatas: list[MetaData] = field(default_factory=lambda: [Base.metadata])


def _make_sqlite(tmp_path_factory) -> Database:
    path = tmp_path_factory.mktemp("sqlite") / "pmoflow.db"
    url = f"sqlite:///{path}"
    eng = make_db_engine(url)
    upgrade(eng)
    return Database("sqlite", url, eng)


def _make_postgres() -> Database:
    schema = f"pmoflow_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_db_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in PG_BASE else "?"
    url = f"{PG_BASE}{sep}options=-csearch_path%3D{schema}"
    eng = make_db_engine(url)
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
        not_run(message + ": PostgreSQL tests skipped. Start it with "
                "`pg_ctlcluster --skip-systemctl-redirect 15 main start`.")
    db = _make_postgres()
    yield db
    db.engine.dispose()
    admin = make_db_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{db.schema}" CASCADE'))  # type: ignore[attr-defined]
    _tidy_catalogs(admin)
    admin.dispose()


def _tidy_catalogs(admin: DbEngine) -> None:
    """With autovacuum off (as on CI's machine), every schema a run makes and drops stays
    in the system catalogs as dead rows (~250,000 in ``pg_class`` after a run of the
    suite), and each later run and benchmark on the server reads through them: vacuum
    them once this worker's schemas are gone (a superuser may; for others VACUUM warns)."""
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if conn.execute(text("SHOW autovacuum")).scalar() != "on":
            conn.execute(text("VACUUM pg_catalog.pg_class, pg_catalog.pg_attribute, "
                              "pg_catalog.pg_depend, pg_catalog.pg_type, pg_catalog.pg_index, "
                              "pg_catalog.pg_constraint, pg_catalog.pg_attrdef"))


def _wipe(db: Database) -> None:
    tables = [t for md in reversed(db.metadatas) for t in reversed(md.sorted_tables)]
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
    """An engine with an empty catalog: no glue operations registered."""
    return Engine(clock=clock, settings=settings)


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
        identity.ensure_roles(session, TEST_ROLES)
        for username, role in users.items():
            identity.create_user(session, username, now=clock.now(), password="demo",
                                 roles=[role])
    return users


def schema_drift(db: Database, tables: set[str], metadata: MetaData = Base.metadata,
                 **opts) -> list:
    """What Alembic's autogenerate would change in ``tables`` to match the models: the
    migrations and the models must agree (``[]``), types included."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def ours(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "table":
            return name in tables
        table = getattr(obj, "table", None)
        return table is not None and table.name in tables

    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": ours,
                                                     "compare_type": True, **opts})
        return compare_metadata(ctx, metadata)


def pytest_terminal_summary(terminalreporter) -> None:
    """Say loudly what was not run and how to get it."""
    found = list(NOT_RUN)
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        if isinstance(longrepr, tuple) and len(longrepr) == 3:
            reason = str(longrepr[2]).removeprefix("Skipped: ")
            if reason.startswith(NOT_RUN_PREFIX):
                found.append(reason.removeprefix(NOT_RUN_PREFIX))
    for line in dict.fromkeys(found):
        terminalreporter.write_sep("!", "NOT RUN", red=True, bold=True)
        terminalreporter.write_line(line, red=True, bold=True)
