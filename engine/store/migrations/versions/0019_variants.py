"""The steps each instance went through (``process_instances.steps_done``), kept by the
engine, so the dashboard can summarise approvals by route (``engine.rollup`` kind
``variant``); the summary is built again by ``pmoflow init`` where there is work

Revision ID: 0019_variants
Revises: 0018_rollup
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0019_variants'
down_revision = '0018_rollup'
branch_labels = None
depends_on = None

SUMMARY = ('insight_durations', 'insight_counts')


def upgrade() -> None:
    # a plain ADD COLUMN: a batch (copy and drop) of process_instances fails on SQLite
    # with the tasks' foreign keys pointing at it
    op.add_column('process_instances', sa.Column('steps_done', sa.Text(), nullable=True))
    for table in SUMMARY:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('element_id', existing_type=sa.String(length=200),
                                  type_=sa.String(length=1000), existing_nullable=False)
    # Each instance's completed steps: the order does not matter (readers sort them).
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "UPDATE process_instances p SET steps_done = s.steps FROM ("
            "SELECT instance_id, string_agg(DISTINCT element_id, ',') AS steps "
            "FROM human_tasks WHERE status = 'completed' GROUP BY instance_id) s "
            "WHERE p.id = s.instance_id")
    else:
        op.execute(
            "UPDATE process_instances SET steps_done = (SELECT group_concat(DISTINCT "
            "h.element_id) FROM human_tasks h WHERE h.instance_id = process_instances.id "
            "AND h.status = 'completed')")
    # An empty install's summary is complete; one with work is summarised again (v2 has
    # the variants) by the command that upgraded it.
    op.execute(
        "UPDATE install_settings SET value = 'v2' WHERE key = 'insight.rollup' "
        "AND NOT EXISTS (SELECT 1 FROM process_instances)")


def downgrade() -> None:
    op.execute("UPDATE install_settings SET value = 'v1' WHERE key = 'insight.rollup'")
    op.execute("DELETE FROM insight_durations WHERE kind = 'variant'")
    for table in SUMMARY:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('element_id', existing_type=sa.String(length=1000),
                                  type_=sa.String(length=200), existing_nullable=False)
    op.execute("ALTER TABLE process_instances DROP COLUMN steps_done")  # no copy (see up)
