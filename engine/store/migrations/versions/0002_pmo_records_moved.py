"""placeholder: the PMO record tables moved to workflows' own migrations

Until the engine and the PMO catalog were separated, this revision created the PMO
record tables (projects, risks, escalations, lessons...).  They now belong to
``workflows/records/migrations`` (version table ``pmo_alembic_version``), which adopts
tables made here.  The revision stays, doing nothing, so that databases made before the
split keep a valid place in the engine's chain.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
