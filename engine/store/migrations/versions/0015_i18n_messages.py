"""notifications keep their message key and params (shown in the reader's language)

Revision ID: 0015_i18n
Revises: 0014
Create Date: 2026-12-06

Rows written before keep only their English ``title``/``body`` and are shown as they are.
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_i18n'
down_revision = '0015_records'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('message')
