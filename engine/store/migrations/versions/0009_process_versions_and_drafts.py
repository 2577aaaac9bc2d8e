"""process versions: deploy comment and effective date; process owners' drafts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa
import engine.store.models


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('process_definitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('effective_from', engine.store.models.UTCDateTime(),
                                      nullable=True))
    op.create_table('process_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('xml', sa.Text(), nullable=False),
    sa.Column('based_on', sa.Integer(), nullable=True),
    sa.Column('created_at', engine.store.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', engine.store.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['owner'], ['users.username'], name=op.f('fk_process_drafts_owner_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_drafts')),
    sa.UniqueConstraint('owner', 'process_key', name=op.f('uq_process_drafts_owner_process_key'))
    )


def downgrade() -> None:
    op.drop_table('process_drafts')
    with op.batch_alter_table('process_definitions', schema=None) as batch_op:
        batch_op.drop_column('effective_from')
        batch_op.drop_column('comment')
