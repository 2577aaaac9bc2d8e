"""single sign-on: identities at an OpenID provider, group -> role mapping, groups seen

Revision ID: 0016_sso
Revises: 0015_sla
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa
import engine.store.models


revision = '0016_sso'
down_revision = '0016_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sso_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('sso_roles', sa.JSON(), nullable=False),
    sa.Column('created_at', engine.store.models.UTCDateTime(), nullable=False),
    sa.Column('last_sign_in_at', engine.store.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['username'], ['users.username'],
                            name=op.f('fk_sso_identities_username_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_identities')),
    sa.UniqueConstraint('issuer', 'subject', name=op.f('uq_sso_identities_issuer_subject'))
    )
    with op.batch_alter_table('sso_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_identities_username'), ['username'],
                              unique=False)
    op.create_table('sso_group_roles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_name', sa.String(length=200), nullable=False),
    sa.Column('role_key', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', engine.store.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['role_key'], ['roles.key'],
                            name=op.f('fk_sso_group_roles_role_key_roles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_group_roles')),
    sa.UniqueConstraint('group_name', 'role_key',
                        name=op.f('uq_sso_group_roles_group_name_role_key'))
    )
    op.create_table('sso_groups_seen',
    sa.Column('group_name', sa.String(length=200), nullable=False),
    sa.Column('last_seen_at', engine.store.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('group_name', name=op.f('pk_sso_groups_seen'))
    )


def downgrade() -> None:
    op.drop_table('sso_groups_seen')
    op.drop_table('sso_group_roles')
    with op.batch_alter_table('sso_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sso_identities_username'))
    op.drop_table('sso_identities')
