"""distinct_actors on a human task: the inbox reads the committee rule from the row

Revision ID: 0015_records
Revises: 0014
Create Date: 2026-12-06
"""
import json

from alembic import op
import sqlalchemy as sa


revision = '0015_records'
down_revision = '0014'
branch_labels = None
depends_on = None


def _marked(meta) -> list[str]:
    """Element ids marked distinctActors in a definition's meta (JSON text or dict)."""
    if isinstance(meta, str):
        meta = json.loads(meta or "{}")
    elements = (meta or {}).get("elements") or {}
    return [key for key, info in elements.items()
            if str(((info or {}).get("properties") or {}).get("distinctActors", "")).lower()
            == "true"]


def upgrade() -> None:
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('distinct_actors', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    # Existing tasks of steps marked distinctActors (the step's process version: the
    # task's form version, else its instance's) get the flag.
    bind = op.get_bind()
    tasks = sa.table('human_tasks', sa.column('id', sa.Integer),
                     sa.column('element_id', sa.String), sa.column('instance_id', sa.Integer),
                     sa.column('form_definition_id', sa.Integer),
                     sa.column('distinct_actors', sa.Boolean))
    instances = sa.table('process_instances', sa.column('id', sa.Integer),
                         sa.column('definition_id', sa.Integer))
    definitions = sa.table('process_definitions', sa.column('id', sa.Integer),
                           sa.column('meta', sa.Text))
    for def_id, meta in bind.execute(sa.select(definitions.c.id, definitions.c.meta)):
        marked = _marked(meta)
        if not marked:
            continue
        of_definition = sa.func.coalesce(
            tasks.c.form_definition_id,
            sa.select(instances.c.definition_id)
            .where(instances.c.id == tasks.c.instance_id).scalar_subquery())
        bind.execute(tasks.update()
                     .where(tasks.c.element_id.in_(marked), of_definition == def_id)
                     .values(distinct_actors=True))


def downgrade() -> None:
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.drop_column('distinct_actors')
