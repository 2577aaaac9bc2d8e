"""Alembic environment of the engine's own tables, on SQLite or PostgreSQL."""

from __future__ import annotations

from alembic import context

from engine.store.db import make_db_engine
from engine.store.models import Base
from engine.store.schema import ENGINE_MIGRATIONS

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run against the connection handed in by engine.store.schema, or the URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic: neither a connection nor sqlalchemy.url was given")
    db = make_db_engine(url)
    with db.connect() as conn:
        _run(conn)
    db.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=ENGINE_MIGRATIONS.version_table,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # Tables of other environments (an application's own) are not ours to compare.
        include_name=lambda name, type_, _parents: (
            type_ != "table" or name in target_metadata.tables
        ),
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `pmoflow init`")
run_migrations_online()
