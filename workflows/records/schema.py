"""The PMO record tables' own migrations, applied after the engine's (``pmoflow init``)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from engine.store import schema as engine_schema
from engine.store.schema import Migrations

#: Alembic environment of the PMO records (``workflows/records/migrations``).
PMO_MIGRATIONS = Migrations(Path(__file__).with_name("migrations"), "pmo_alembic_version")


def upgrade(db: Engine, revision: str = "head") -> None:
    """Bring the PMO record tables behind ``db`` up to ``revision``."""
    PMO_MIGRATIONS.upgrade(db, revision)


def upgrade_all(db: Engine) -> None:
    """The engine's tables, then the PMO records' (what ``pmoflow init`` does)."""
    engine_schema.upgrade(db)
    upgrade(db)
