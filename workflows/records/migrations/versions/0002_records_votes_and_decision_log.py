"""pmo records: the votes behind a committee's stage change; every decision of an escalation

- ``project_stage_changes.votes``: for a change a committee decided, each member's vote
  (the change's ``by`` is then ``committee:<role>``, not the member who voted last).
- ``escalations.log``: every decision and reopening, oldest first (``decision`` and
  ``decided_*`` keep the latest); existing decisions are copied in.

Revision ID: pmo0002_records
Revises: pmo0001
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = 'pmo0002_records'
down_revision = 'pmo0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('project_stage_changes', sa.Column('votes', sa.JSON(), nullable=True))
    op.add_column('escalations', sa.Column('log', sa.JSON(), nullable=True))
    escalations = sa.table(
        'escalations', sa.column('id', sa.Integer), sa.column('status', sa.String),
        sa.column('decision', sa.Text), sa.column('decided_by', sa.String),
        sa.column('decided_at', sa.DateTime), sa.column('decision_level', sa.String),
        sa.column('log', sa.JSON))
    bind = op.get_bind()
    found = bind.execute(sa.select(escalations).where(escalations.c.decided_by.is_not(None)))
    for row in found.mappings().all():
        at = row["decided_at"]
        entry = {"kind": row["status"] if row["status"] == "handed_back" else "decided",
                 "text": row["decision"] or "", "by": row["decided_by"],
                 "at": at.isoformat() if hasattr(at, "isoformat") else str(at or ""),
                 "level": row["decision_level"]}
        bind.execute(escalations.update().where(escalations.c.id == row["id"])
                     .values(log=[entry]))


def downgrade() -> None:
    with op.batch_alter_table('escalations') as batch_op:
        batch_op.drop_column('log')
    with op.batch_alter_table('project_stage_changes') as batch_op:
        batch_op.drop_column('votes')
