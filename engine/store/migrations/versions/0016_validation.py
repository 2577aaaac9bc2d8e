"""Camunda 7 imports: uploaded files and the owner's group/operation choices

Revision ID: 0016_validation
Revises: 0015_sla
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

import engine.store.models


revision = '0016_validation'
down_revision = '0016_sso'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'camunda_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner', sa.String(length=64), nullable=False),
        sa.Column('files', sa.JSON(), nullable=False),
        sa.Column('group_roles', sa.JSON(), nullable=False),
        sa.Column('operations', sa.JSON(), nullable=False),
        sa.Column('created_at', engine.store.models.UTCDateTime(), nullable=False),
        sa.Column('updated_at', engine.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['owner'], ['users.username'],
                                name=op.f('fk_camunda_imports_owner_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_camunda_imports')),
    )


def downgrade() -> None:
    op.drop_table('camunda_imports')
