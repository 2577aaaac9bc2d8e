"""pmo records: who has read which published lesson (read counts of the lessons library)

``lesson_reads``: one row per lesson and reader, written the first time the reader opens
the published lesson; the library and the dashboard count them.

Revision ID: pmo0003_insight2
Revises: pmo0002_records
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

import engine.store.models

revision = 'pmo0003_insight2'
down_revision = 'pmo0002_records'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'lesson_reads',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lesson_id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('read_at', engine.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'],
                                name=op.f('fk_lesson_reads_lesson_id_lessons'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lesson_reads')),
        sa.UniqueConstraint('lesson_id', 'username',
                            name=op.f('uq_lesson_reads_lesson_id_username')),
    )
    op.create_index('ix_lesson_reads_read_at', 'lesson_reads', ['read_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_lesson_reads_read_at', table_name='lesson_reads')
    op.drop_table('lesson_reads')
