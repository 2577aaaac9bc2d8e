"""incidents: what the doctor found and failed jobs, open until repaired or cleared

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa
import engine.store.models


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('human_task_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_at', engine.store.models.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', engine.store.models.UTCDateTime(), nullable=False),
    sa.Column('seen_count', sa.Integer(), nullable=False),
    sa.Column('resolved_at', engine.store.models.UTCDateTime(), nullable=True),
    sa.Column('resolved_by', sa.String(length=64), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_incidents_instance_id_process_instances')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index('ix_incidents_open_key', ['key'], unique=True,
                              sqlite_where=sa.text("status = 'open'"),
                              postgresql_where=sa.text("status = 'open'"))
        batch_op.create_index('ix_incidents_status_opened_at', ['status', 'opened_at'], unique=False)
        batch_op.create_index('ix_incidents_instance_id', ['instance_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_instance_id')
        batch_op.drop_index('ix_incidents_status_opened_at')
        batch_op.drop_index('ix_incidents_open_key')

    op.drop_table('incidents')
