"""SLA defaults: the second period after which an overdue step escalates

Revision ID: 0015_sla
Revises: 0014
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_sla'
down_revision = '0015_i18n'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sla_defaults', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalate_after', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sla_defaults', schema=None) as batch_op:
        batch_op.drop_column('escalate_after')
