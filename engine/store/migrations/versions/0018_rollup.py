"""Monthly summary of finished work for the dashboard (engine.rollup); a new, empty
install is marked as summarised, an install with work is summarised by ``pmoflow init``
(or any command that upgrades the schema) after the migrations

Revision ID: 0018_rollup
Revises: 0017_inbox
Create Date: 2026-12-06
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


revision = '0018_rollup'
down_revision = '0017_inbox'
branch_labels = None
depends_on = None

KEYS = ['month', 'kind', 'process_key', 'element_id', 'role']


def _keys() -> list[sa.Column]:
    return [sa.Column('month', sa.Date(), nullable=False),
            sa.Column('kind', sa.String(length=8), nullable=False),
            sa.Column('process_key', sa.String(length=200), nullable=False),
            sa.Column('element_id', sa.String(length=200), nullable=False),
            sa.Column('role', sa.String(length=64), nullable=False)]


def upgrade() -> None:
    op.create_table(
        'insight_durations', *_keys(),
        sa.Column('measure', sa.String(length=4), nullable=False),
        sa.Column('tenths', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*KEYS, 'measure', 'tenths', name=op.f('pk_insight_durations')))
    op.create_table(
        'insight_counts', *_keys(),
        sa.Column('started', sa.Integer(), nullable=False),
        sa.Column('completed', sa.Integer(), nullable=False),
        sa.Column('with_due', sa.Integer(), nullable=False),
        sa.Column('late', sa.Integer(), nullable=False),
        sa.Column('last_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*KEYS, name=op.f('pk_insight_counts')))
    # the open work and the running instances of a period, read live beside the summary
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.create_index(
            'ix_human_tasks_open_created', ['created_at'], unique=False,
            sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"),
            postgresql_include=['id', 'process_key', 'element_id', 'role', 'due_at'])
        batch_op.create_index(
            'ix_human_tasks_open_step', ['process_key', 'element_id', 'created_at'],
            unique=False, sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"), postgresql_include=['id', 'due_at'])
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.create_index(
            'ix_process_instances_running_started', ['started_at'], unique=False,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"), postgresql_include=['process_key'])
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT id FROM process_instances LIMIT 1")).first() is None:
        bind.execute(sa.text(
            "INSERT INTO install_settings (key, value, updated_by, updated_at) "
            "VALUES ('insight.rollup', 'v1', 'migration', :now)"),
            {"now": datetime.now(UTC).replace(tzinfo=None)})


def downgrade() -> None:
    op.execute("DELETE FROM install_settings WHERE key = 'insight.rollup'")
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.drop_index('ix_process_instances_running_started')
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_human_tasks_open_step')
        batch_op.drop_index('ix_human_tasks_open_created')
    op.drop_table('insight_counts')
    op.drop_table('insight_durations')
