"""Create or upgrade database schemas with Alembic (both SQLite and PostgreSQL).

The engine's tables have their own Alembic environment (``engine/store/migrations``,
version table ``alembic_version``).  An application that adds tables of its own (the PMO
catalog does, in ``workflows/records/migrations``) keeps them in a second environment
with its own version table, described by another :class:`Migrations`, and upgrades it
after the engine's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect


@dataclass(frozen=True)
class Migrations:
    """One Alembic environment: where its scripts are and which table tracks it.

    The environment's ``env.py`` must use the same ``version_table``.
    """

    script_location: Path
    version_table: str

    def alembic_config(self, url: str | None = None) -> Config:
        """An Alembic config pointing at these migration scripts."""
        cfg = Config()
        cfg.set_main_option("script_location", str(self.script_location))
        if url:
            cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        return cfg

    def upgrade(self, db: Engine, revision: str = "head") -> None:
        """Bring the schema behind ``db`` up to ``revision`` (creating what is missing)."""
        self._run(db, command.upgrade, revision)

    def downgrade(self, db: Engine, revision: str) -> None:
        """Take the schema behind ``db`` back to ``revision``."""
        self._run(db, command.downgrade, revision)

    def current_revision(self, db: Engine) -> str | None:
        """The schema's revision, or None where these migrations never ran."""
        with db.connect() as conn:
            if not inspect(conn).has_table(self.version_table):
                return None
            row = conn.exec_driver_sql(f"SELECT version_num FROM {self.version_table}").first()
            return row[0] if row else None

    def _run(self, db: Engine, step, revision: str) -> None:
        cfg = self.alembic_config()
        with db.begin() as conn:
            cfg.attributes["connection"] = conn
            step(cfg, revision)


#: The engine's own tables.
ENGINE_MIGRATIONS = Migrations(Path(__file__).with_name("migrations"), "alembic_version")


def upgrade(db: Engine, revision: str = "head") -> None:
    """Bring the engine's tables behind ``db`` up to ``revision``."""
    ENGINE_MIGRATIONS.upgrade(db, revision)


def current_revision(db: Engine) -> str | None:
    """The engine schema's revision, or None for an empty database."""
    return ENGINE_MIGRATIONS.current_revision(db)
