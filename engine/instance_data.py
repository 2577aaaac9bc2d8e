"""An instance's data as people see it: what its waiting steps hold, or what it ended
with, and what one task saw (deserializes that one instance; nothing is written)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine import access, execution
from engine.context import EngineContext
from engine.spiff.serializer import load_envelope_visits
from engine.store import rows
from engine.store.models import HumanTask
from engine.views import DataViews, instance_view


def data_views(
    ctx: EngineContext,
    session: Session,
    instance_id: int,
    task_id: int | None,
    *,
    spiff_task_id: str | None = None,
    viewer: str | None = None,
) -> DataViews:
    """The instance's current data, the data as task ``task_id`` sees it (``None``
    without one, or if it is not a task of this instance any more) and the visited
    elements, from one read and one deserialization.

    The data of the waiting user tasks wins over older copies held by timers and other
    waiting events. ``viewer``: :class:`Forbidden` unless that person may see the request.
    """
    found = rows.instance_with_open_tasks(session, instance_id=instance_id)  # one statement
    if found is None:
        raise rows.instance_not_found(instance_id)
    inst, open_tasks = found
    if viewer is not None:  # before anything of the request is loaded
        access.require_view_instance(session, viewer, inst, ctx.clock.now())
    view = instance_view(
        inst, ctx.cache.definition(session, inst.definition_id).version, open_tasks
    )
    visited = load_envelope_visits(inst.state)
    loaded = execution.load(ctx, session, inst, "system", ctx.clock.now())
    wf = loaded.workflow
    seen = None
    if task_id is not None:
        if spiff_task_id is None:  # else the caller read the task's row already
            row = session.get(HumanTask, task_id)
            if row is not None and row.instance_id == instance_id:
                spiff_task_id = row.spiff_task_id
        task = wf.get_task_from_id(uuid.UUID(spiff_task_id)) if spiff_task_id else None
        if task is not None:
            seen = copy.deepcopy(task.data)
    if wf.completed:
        return DataViews(copy.deepcopy(wf.data), seen, visited, view)
    merged: dict[str, Any] = {}
    waiting = wf.get_tasks(state=TaskState.WAITING | TaskState.STARTED, max_depth=10**9)
    ready = wf.get_tasks(state=TaskState.READY, max_depth=10**9)
    for t in [*waiting, *ready]:  # later wins: what people work on now
        # A branch waiting at a join holds no data of its own yet: take what it brought.
        merged.update(t.data or (t.parent.data if t.parent is not None else {}))
    return DataViews(copy.deepcopy(merged or wf.task_tree.data), seen, visited, view)
