"""The inbox at scale: who started the request on its tasks (the four-eyes test without
reading the instance), the pool of project-scoped roles by project

Revision ID: 0017_inbox
Revises: 0016_scale
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_inbox'
down_revision = '0016_scale'
branch_labels = None
depends_on = None

POOL = "status = 'open' AND assignee IS NULL"


def upgrade() -> None:
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('started_by', sa.String(length=64), nullable=False,
                                      server_default=''))
    op.execute(
        "UPDATE human_tasks SET started_by = (SELECT p.started_by FROM process_instances p "
        "WHERE p.id = human_tasks.instance_id)")
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.create_index(
            'ix_human_tasks_pool_project', ['role', 'project_id', 'due_at', 'id'], unique=False,
            sqlite_where=sa.text(POOL), postgresql_where=sa.text(POOL),
            postgresql_include=['four_eyes', 'distinct_actors', 'instance_id', 'started_by'])
        batch_op.drop_index('ix_human_tasks_pool_role_due')
        batch_op.create_index(
            'ix_human_tasks_pool_role_due', ['role', 'due_at', 'id'], unique=False,
            sqlite_where=sa.text(POOL), postgresql_where=sa.text(POOL),
            postgresql_include=['project_id', 'four_eyes', 'distinct_actors', 'instance_id',
                                'started_by'])


def downgrade() -> None:
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_human_tasks_pool_role_due')
        batch_op.create_index(
            'ix_human_tasks_pool_role_due', ['role', 'due_at', 'id'], unique=False,
            sqlite_where=sa.text(POOL), postgresql_where=sa.text(POOL),
            postgresql_include=['project_id', 'four_eyes', 'distinct_actors', 'instance_id'])
        batch_op.drop_index('ix_human_tasks_pool_project')
        batch_op.drop_column('started_by')
