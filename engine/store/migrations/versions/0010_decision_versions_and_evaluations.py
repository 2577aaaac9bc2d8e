"""decision versions (draft, published, retired, effective from) and recorded evaluations

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa
import engine.store.models


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('decision_definitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=False,
                                      server_default='published'))
        batch_op.add_column(sa.Column('effective_from', engine.store.models.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('published_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('published_at', engine.store.models.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('comment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('retired_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('retired_at', engine.store.models.UTCDateTime(),
                                      nullable=True))
    # Versions deployed before took effect when they were deployed.
    op.execute("UPDATE decision_definitions SET effective_from = deployed_at, "
               "published_by = deployed_by, published_at = deployed_at")
    op.create_table('decision_evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('decision_key', sa.String(length=200), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=True),
    sa.Column('element_id', sa.String(length=200), nullable=True),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('outputs', sa.JSON(), nullable=False),
    sa.Column('at', engine.store.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_decision_evaluations_instance_id_process_instances')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_evaluations'))
    )
    with op.batch_alter_table('decision_evaluations', schema=None) as batch_op:
        batch_op.create_index('ix_decision_evaluations_key_at', ['decision_key', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('decision_evaluations', schema=None) as batch_op:
        batch_op.drop_index('ix_decision_evaluations_key_at')
    op.drop_table('decision_evaluations')
    with op.batch_alter_table('decision_definitions', schema=None) as batch_op:
        for column in ('retired_at', 'retired_by', 'comment', 'published_at', 'published_by',
                       'effective_from', 'status'):
            batch_op.drop_column(column)
