"""Alembic environment of the PMO record tables (version table ``pmo_alembic_version``)."""

from __future__ import annotations

from alembic import context

from engine.store.db import make_db_engine
from workflows.records.models import Base, include_name
from workflows.records.schema import PMO_MIGRATIONS

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run against the connection handed in by ``Migrations.upgrade``, or the URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    db = make_db_engine(config.get_main_option("sqlalchemy.url"))
    with db.connect() as conn:
        _run(conn)
    db.dispose()


def _only_ours(name: str | None, type_: str, parents: object) -> bool:
    # The engine's tables belong to the engine's environment; the search objects are
    # hand-written (see models.include_name).
    if type_ == "table" and name not in target_metadata.tables:
        return False
    return include_name(name, type_, parents)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=PMO_MIGRATIONS.version_table,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=_only_ours,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `pmoflow init`")
run_migrations_online()
