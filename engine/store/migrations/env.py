"""Alembic environment: the engine's metadata, on SQLite or PostgreSQL."""

from __future__ import annotations

from alembic import context

import engine.store.all_models  # noqa: F401  (registers every table on the metadata)
from engine.store.db import make_engine
from engine.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run against the connection handed in by engine.store.schema, or the URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _include(obj, name, type_, reflected, compare_to) -> bool:
    """Leave database-specific search objects (SQLite FTS5 shadow tables) to their
    hand-written migrations; autogenerate must not try to drop them."""
    return not (type_ == "table" and reflected and compare_to is None
                and str(name).startswith("lessons_fts"))


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `pmoflow init`")
run_migrations_online()
