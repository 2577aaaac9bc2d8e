"""Is the configured database there, reachable and on this version's schema?

Every command but ``init`` needs an initialised database; asking first turns "no such
table" tracebacks into one line that says what to run. The check never creates a SQLite
file as a side effect.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from engine.store.db import make_db_engine
from engine.store.schema import ENGINE_MIGRATIONS, current_revision


class DatabaseNotReady(Exception):
    """The configured database cannot be used yet; the message says what to do."""


def require_ready(url: str) -> None:
    """Raise :class:`DatabaseNotReady` unless the database at ``url`` is initialised."""
    problem = readiness_problem(url)
    if problem:
        raise DatabaseNotReady(problem)


def readiness_problem(url: str) -> str | None:
    """One line saying why the database at ``url`` cannot be used, or None if it can."""
    shown = _shown(url)
    path = sqlite_file(url)
    if path is not None and not path.exists():
        return f"no database at {path}: run `pmoflow init` first"
    db = make_db_engine(url)
    try:
        revision = current_revision(db)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return f"cannot open the database {shown}: {reason}"
    finally:
        db.dispose()
    if revision is None:
        return f"the database {shown} is not initialised: run `pmoflow init` first"
    head = schema_head()
    if revision != head:
        return (f"the database {shown} has schema {revision}, this PMOflow needs {head}: "
                "run `pmoflow init` to upgrade it")
    return None


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL (None for other databases and in-memory SQLite)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def schema_head() -> str:
    """The newest schema revision this version of PMOflow ships."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(ENGINE_MIGRATIONS.alembic_config()).get_current_head())


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url
