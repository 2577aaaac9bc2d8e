"""Revocable sessions and sign-in lockout: a per-user session version (part of the
signed-in id, so raising it ends every session and remember-me cookie), the count of
consecutive failed sign-ins and when the account was locked

Revision ID: 0016_sessions
Revises: 0015_sla
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

import engine.store.models


revision = '0016_sessions'
down_revision = '0015_sla'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('failed_sign_ins', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('locked_at', engine.store.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locked_at')
        batch_op.drop_column('failed_sign_ins')
        batch_op.drop_column('session_version')
