"""Indexes for a big install: the inbox's pools and own tasks in list order, project
roles by user (read on every request), dashboard reads by period

Revision ID: 0016_scale
Revises: 0015_sla
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0016_scale'
down_revision = '0016_validation'
branch_labels = None
depends_on = None

POOL = "status = 'open' AND assignee IS NULL"
OPEN = "status = 'open'"
# What the dashboard's figures read, in the index (PostgreSQL: index-only scans).
TASK_FIGURES = ['process_key', 'element_id', 'role', 'status', 'due_at', 'completed_at',
                'project_id', 'instance_id', 'name']
INSTANCE_FIGURES = ['process_key', 'status', 'project_id']


def upgrade() -> None:
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.create_index(
            'ix_human_tasks_pool_role_due', ['role', 'due_at', 'id'], unique=False,
            sqlite_where=sa.text(POOL), postgresql_where=sa.text(POOL),
            postgresql_include=['project_id', 'four_eyes', 'distinct_actors', 'instance_id'])
        batch_op.create_index(
            'ix_human_tasks_open_assignee_due', ['assignee', 'due_at', 'id'], unique=False,
            sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
        batch_op.create_index('ix_human_tasks_created_at', ['created_at'], unique=False,
                              postgresql_include=TASK_FIGURES)
    with op.batch_alter_table('project_roles', schema=None) as batch_op:
        batch_op.create_index('ix_project_roles_username', ['username', 'role_key'],
                              unique=False)
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.create_index('ix_process_instances_started_at', ['started_at'], unique=False,
                              postgresql_include=INSTANCE_FIGURES + ['ended_at'])
        batch_op.create_index('ix_process_instances_ended_at', ['ended_at'], unique=False,
                              postgresql_include=INSTANCE_FIGURES + ['started_at'])


def downgrade() -> None:
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.drop_index('ix_process_instances_ended_at')
        batch_op.drop_index('ix_process_instances_started_at')
    with op.batch_alter_table('project_roles', schema=None) as batch_op:
        batch_op.drop_index('ix_project_roles_username')
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_human_tasks_created_at')
        batch_op.drop_index('ix_human_tasks_open_assignee_due')
        batch_op.drop_index('ix_human_tasks_pool_role_due')
