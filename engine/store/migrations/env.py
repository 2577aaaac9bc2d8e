"""Alembic environment: the engine's metadata, on SQLite or PostgreSQL."""

from __future__ import annotations

from alembic import context

import engine.store.all_models  # noqa: F401  (registers every table on the metadata)
from engine.store.db import make_engine
from engine.store.models import Base
from workflows.records.models import include_name

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


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # Database-specific search objects (SQLite FTS5 tables, trigram indexes) live in
        # hand-written migrations; autogenerate must not propose dropping them.
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `pmoflow init`")
run_migrations_online()
