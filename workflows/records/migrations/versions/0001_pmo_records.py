"""pmo records: projects, stage history, code sequences, risks, escalations, lessons

Besides the tables, search objects that only one database understands:

- SQLite: ``lessons_fts``, an FTS5 table with ``tokenize='trigram'`` over
  ``lessons.search_text`` (external content), kept in step by three triggers.
- PostgreSQL: the ``pg_trgm`` extension (if it can be created) and trigram GIN indexes on
  ``lessons.search_text`` and ``projects.title``, which serve ``ILIKE '%term%'``.  Without
  the extension the same ILIKE queries still work, by scanning.

A later SQLite migration that rebuilds ``lessons`` (``batch_alter_table``) drops the
triggers: recreate them and rebuild ``lessons_fts``.  See ``docs/records.md``.

Databases made before the engine and the PMO catalog were separated already hold these
tables (the engine's revision 0002 made them): this revision then adopts them as they are.

Revision ID: pmo0001
Revises:
Create Date: 2026-11-29
"""
import logging

import sqlalchemy as sa
from alembic import op

import engine.store.models

revision = 'pmo0001'
down_revision = None
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

SQLITE_SEARCH_UP = [
    """CREATE VIRTUAL TABLE lessons_fts USING fts5(
        search_text, content='lessons', content_rowid='id', tokenize='trigram')""",
    """CREATE TRIGGER lessons_fts_ai AFTER INSERT ON lessons BEGIN
        INSERT INTO lessons_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
    """CREATE TRIGGER lessons_fts_ad AFTER DELETE ON lessons BEGIN
        INSERT INTO lessons_fts(lessons_fts, rowid, search_text)
            VALUES ('delete', old.id, old.search_text);
    END""",
    """CREATE TRIGGER lessons_fts_au AFTER UPDATE OF search_text ON lessons BEGIN
        INSERT INTO lessons_fts(lessons_fts, rowid, search_text)
            VALUES ('delete', old.id, old.search_text);
        INSERT INTO lessons_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
    # Index whatever is already there (nothing on a fresh install).
    "INSERT INTO lessons_fts(lessons_fts) VALUES ('rebuild')",
]
SQLITE_SEARCH_DOWN = [
    "DROP TRIGGER IF EXISTS lessons_fts_au",
    "DROP TRIGGER IF EXISTS lessons_fts_ad",
    "DROP TRIGGER IF EXISTS lessons_fts_ai",
    "DROP TABLE IF EXISTS lessons_fts",
]
PG_TRGM_INDEXES = {
    "ix_lessons_search_trgm": ("lessons", "search_text"),
    "ix_projects_title_trgm": ("projects", "title"),
}


def _pg_trgm_schema(bind) -> str | None:
    """The schema pg_trgm lives in, creating the extension if needed; None if unavailable.

    It is created in ``public`` when that schema exists (not in the first schema of the
    search path), so dropping an application schema never drops the extension from under
    another one.  Creation needs the right to create extensions: when it fails (or two
    installs race), the savepoint keeps the migration going and search uses plain ILIKE.
    """
    def installed() -> str | None:
        return bind.exec_driver_sql(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
            "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'").scalar()

    schema = installed()
    if schema:
        return schema
    has_public = bind.exec_driver_sql(
        "SELECT 1 FROM pg_namespace WHERE nspname = 'public'").scalar()
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm"
                                 + (" SCHEMA public" if has_public else ""))
    except sa.exc.DBAPIError as exc:
        log.warning("pg_trgm is not available (%s); lesson search will scan with ILIKE",
                    str(exc).splitlines()[0])
    return installed()


def _search_up() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_SEARCH_UP:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        schema = _pg_trgm_schema(bind)
        if schema is None:
            return
        for name, (table, column) in PG_TRGM_INDEXES.items():
            op.execute(f'CREATE INDEX {name} ON {table} USING gin '
                       f'({column} "{schema}".gin_trgm_ops)')


def _search_down() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_SEARCH_DOWN:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        # The extension stays: other schemas or applications may use it.
        for name in PG_TRGM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")


def _made_by_the_engine_chain() -> bool:
    """True on a database whose engine migrations (before the split) made these tables."""
    return sa.inspect(op.get_bind()).has_table("projects")


def upgrade() -> None:
    if _made_by_the_engine_chain():
        log.info("PMO record tables exist (made before the split): adopting them")
        return
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('code_sequences',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('next_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_code_sequences'))
    )
    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('business_case', sa.Text(), nullable=False),
    sa.Column('strategic_objective', sa.String(length=500), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('budget_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('budget_reporting', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('reporting_currency', sa.String(length=3), nullable=False),
    sa.Column('planned_start', sa.Date(), nullable=False),
    sa.Column('planned_end', sa.Date(), nullable=False),
    sa.Column('actual_end', sa.Date(), nullable=True),
    sa.Column('actual_cost_amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('actual_cost_currency', sa.String(length=3), nullable=True),
    sa.Column('actual_cost_reporting', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('customer_satisfaction', sa.SmallInteger(), nullable=True),
    sa.Column('expected_roi_pct', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('risk_rating', sa.String(length=16), nullable=False),
    sa.Column('departments', sa.JSON(), nullable=False),
    sa.Column('headcount', sa.Integer(), nullable=False),
    sa.Column('pm', sa.String(length=64), nullable=False),
    sa.Column('sponsor', sa.String(length=64), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('approval_instance_id', sa.Integer(), nullable=True),
    sa.Column('created_at', engine.store.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', engine.store.models.UTCDateTime(), nullable=False),
    sa.Column('approved_at', engine.store.models.UTCDateTime(), nullable=True),
    sa.Column('closed_at', engine.store.models.UTCDateTime(), nullable=True),
    sa.CheckConstraint('budget_amount >= 0', name=op.f('ck_projects_budget_not_negative')),
    sa.CheckConstraint('headcount >= 0', name=op.f('ck_projects_headcount_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('code', name=op.f('uq_projects_code'))
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_projects_approval_instance_id'), ['approval_instance_id'], unique=False)
        batch_op.create_index('ix_projects_pm_stage', ['pm', 'stage'], unique=False)
        batch_op.create_index('ix_projects_sponsor_stage', ['sponsor', 'stage'], unique=False)
        batch_op.create_index('ix_projects_stage_id', ['stage', 'id'], unique=False)

    op.create_table('escalations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('affected_project_ids', sa.JSON(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('tried', sa.Text(), nullable=False),
    sa.Column('needed_by', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decision', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', engine.store.models.UTCDateTime(), nullable=True),
    sa.Column('decision_level', sa.String(length=16), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('resolved_at', engine.store.models.UTCDateTime(), nullable=True),
    sa.Column('raised_by', sa.String(length=64), nullable=False),
    sa.Column('raised_at', engine.store.models.UTCDateTime(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('reopen_reason', sa.Text(), nullable=True),
    sa.Column('updated_at', engine.store.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_escalations_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalations'))
    )
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalations_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_escalations_project_status', ['project_id', 'status'], unique=False)
        batch_op.create_index('ix_escalations_raised_by', ['raised_by', 'status'], unique=False)
        batch_op.create_index('ix_escalations_status_severity', ['status', 'severity'], unique=False)

    op.create_table('lessons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('what_went_well', sa.Text(), nullable=False),
    sa.Column('what_did_not', sa.Text(), nullable=False),
    sa.Column('recommendation', sa.Text(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('published_at', engine.store.models.UTCDateTime(), nullable=True),
    sa.Column('curated_by', sa.String(length=64), nullable=True),
    sa.Column('curated_at', engine.store.models.UTCDateTime(), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('created_at', engine.store.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', engine.store.models.UTCDateTime(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['merged_into_id'], ['lessons.id'], name=op.f('fk_lessons_merged_into_id_lessons'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_lessons_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lessons'))
    )
    with op.batch_alter_table('lessons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lessons_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_lessons_merged_into_id', ['merged_into_id'], unique=False)
        batch_op.create_index('ix_lessons_project_id', ['project_id'], unique=False)
        batch_op.create_index('ix_lessons_published_created', ['published', 'created_at'], unique=False)

    op.create_table('project_stage_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('from_stage', sa.String(length=16), nullable=True),
    sa.Column('to_stage', sa.String(length=16), nullable=False),
    sa.Column('at', engine.store.models.UTCDateTime(), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_stage_changes_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_stage_changes'))
    )
    with op.batch_alter_table('project_stage_changes', schema=None) as batch_op:
        batch_op.create_index('ix_project_stage_changes_project_at', ['project_id', 'at'], unique=False)
        batch_op.create_index('ix_project_stage_changes_to_stage_at', ['to_stage', 'at'], unique=False)

    op.create_table('risks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('probability', sa.SmallInteger(), nullable=False),
    sa.Column('impact', sa.SmallInteger(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('levels_required', sa.SmallInteger(), nullable=False),
    sa.Column('response', sa.String(length=16), nullable=False),
    sa.Column('contingency', sa.Text(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decision', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', engine.store.models.UTCDateTime(), nullable=True),
    sa.Column('decision_level', sa.SmallInteger(), nullable=True),
    sa.Column('response_plan', sa.Text(), nullable=True),
    sa.Column('close_reason', sa.Text(), nullable=True),
    sa.Column('closed_at', engine.store.models.UTCDateTime(), nullable=True),
    sa.Column('raised_by', sa.String(length=64), nullable=False),
    sa.Column('raised_at', engine.store.models.UTCDateTime(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', engine.store.models.UTCDateTime(), nullable=False),
    sa.CheckConstraint('impact BETWEEN 1 AND 5', name=op.f('ck_risks_impact_range')),
    sa.CheckConstraint('levels_required BETWEEN 1 AND 3', name=op.f('ck_risks_levels_required_range')),
    sa.CheckConstraint('probability BETWEEN 1 AND 5', name=op.f('ck_risks_probability_range')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_risks_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risks'))
    )
    with op.batch_alter_table('risks', schema=None) as batch_op:
        batch_op.create_index('ix_risks_category_level', ['category', 'level'], unique=False)
        batch_op.create_index(batch_op.f('ix_risks_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_risks_project_status', ['project_id', 'status'], unique=False)
        batch_op.create_index('ix_risks_status_level', ['status', 'level'], unique=False)

    op.create_table('risk_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('risk_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('reviewer', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('at', engine.store.models.UTCDateTime(), nullable=False),
    sa.CheckConstraint('level BETWEEN 1 AND 3', name=op.f('ck_risk_reviews_level_range')),
    sa.ForeignKeyConstraint(['risk_id'], ['risks.id'], name=op.f('fk_risk_reviews_risk_id_risks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_reviews'))
    )
    with op.batch_alter_table('risk_reviews', schema=None) as batch_op:
        batch_op.create_index('ix_risk_reviews_risk_at', ['risk_id', 'at'], unique=False)

    # ### end Alembic commands ###
    _search_up()


def downgrade() -> None:
    _search_down()
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('risk_reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_reviews_risk_at')

    op.drop_table('risk_reviews')
    with op.batch_alter_table('risks', schema=None) as batch_op:
        batch_op.drop_index('ix_risks_status_level')
        batch_op.drop_index('ix_risks_project_status')
        batch_op.drop_index(batch_op.f('ix_risks_instance_id'))
        batch_op.drop_index('ix_risks_category_level')

    op.drop_table('risks')
    with op.batch_alter_table('project_stage_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_project_stage_changes_to_stage_at')
        batch_op.drop_index('ix_project_stage_changes_project_at')

    op.drop_table('project_stage_changes')
    with op.batch_alter_table('lessons', schema=None) as batch_op:
        batch_op.drop_index('ix_lessons_published_created')
        batch_op.drop_index('ix_lessons_project_id')
        batch_op.drop_index('ix_lessons_merged_into_id')
        batch_op.drop_index(batch_op.f('ix_lessons_instance_id'))

    op.drop_table('lessons')
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_index('ix_escalations_status_severity')
        batch_op.drop_index('ix_escalations_raised_by')
        batch_op.drop_index('ix_escalations_project_status')
        batch_op.drop_index(batch_op.f('ix_escalations_instance_id'))

    op.drop_table('escalations')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index('ix_projects_stage_id')
        batch_op.drop_index('ix_projects_sponsor_stage')
        batch_op.drop_index('ix_projects_pm_stage')
        batch_op.drop_index(batch_op.f('ix_projects_approval_instance_id'))

    op.drop_table('projects')
    op.drop_table('code_sequences')
    # ### end Alembic commands ###
