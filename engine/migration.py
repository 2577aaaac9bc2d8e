"""Move running instances to another version of their process.

The saved state is spec-less (see :mod:`engine.spiff.serializer`): moving an instance
rebinds it to the other version's spec. Every step it waits at, and every step kept in
its saved task tree, must exist in the target version by element id; the predicted
future is dropped and predicted again from the new diagram, so a step added after the
one it waits at is taken. Task ids do not change, so open tasks and timer jobs stay
attached. An instance that cannot move is refused with the names of the steps missing.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.definitions import current_bindings
from engine.errors import FieldError, InvalidData, NotFound, NotReady
from engine.spiff.serializer import dump_state, load_state
from engine.store import rows
from engine.store.models import ProcessDefinition, ProcessInstance
from engine.store.uow import unit_of_work
from engine.views import MoveCandidate, MoveResult

_WAITING = TaskState.READY | TaskState.WAITING | TaskState.STARTED
_FUTURE = TaskState.FUTURE | TaskState.PREDICTED_MASK


def candidates(ctx: EngineContext, session: Session, target_id: int) -> list[MoveCandidate]:
    """Running instances of the target's process on older versions, each with the steps
    it waits at and the ones the target lacks (none: it may move)."""
    target = _definition(session, target_id)
    found = (
        session.execute(
            select(ProcessInstance.id)
            .where(
                ProcessInstance.process_key == target.key,
                ProcessInstance.status == "running",
                ProcessInstance.definition_id != target.id,
            )
            .order_by(ProcessInstance.id)
        )
        .scalars()
        .all()
    )
    out = []
    for instance_id in found:
        inst = rows.require_instance(session, instance_id)
        source = ctx.cache.definition(session, inst.definition_id)
        if source.version > target.version:
            continue  # only forward: a newer version's work does not move back
        spec, subs = ctx.cache.for_bindings(
            session, target.id, _bindings(session, inst, target, ctx.clock.now())
        )
        _doc, missing, waiting = _checked(inst.state, spec, subs, source.meta)
        out.append(
            MoveCandidate(inst.id, inst.title, source.version, tuple(waiting), tuple(missing))
        )
    return out


def move(
    ctx: EngineContext,
    session: Session,
    instance_ids: Sequence[int],
    target_id: int,
    actor: str,
    reason: str,
) -> MoveResult:
    """Move each instance that can move to version ``target_id``; the others stay and
    are named with why. One transaction; every move audited."""
    if not reason or not reason.strip():
        raise InvalidData(
            {
                "reason": FieldError(
                    "Say why the instances move to the new version.",
                    "move.reason_required",
                    field="reason",
                )
            }
        )
    moved: list[int] = []
    refused: dict[int, str] = {}
    with unit_of_work(session):
        now = ctx.clock.now()
        target = _definition(session, target_id)
        for instance_id in instance_ids:
            why = _move_one(ctx, session, instance_id, target, actor, reason.strip(), now)
            if why is None:
                moved.append(instance_id)
            else:
                refused[instance_id] = why
    return MoveResult(tuple(moved), refused)


def _move_one(
    ctx: EngineContext,
    session: Session,
    instance_id: int,
    target: ProcessDefinition,
    actor: str,
    reason: str,
    now: datetime,
) -> str | None:
    inst = rows.require_instance(session, instance_id, lock=True)
    if inst.process_key != target.key:
        return f"instance {instance_id} runs {inst.process_key!r}, not {target.key!r}"
    if inst.status != "running":
        return f"instance {instance_id} is already {inst.status}"
    if inst.definition_id == target.id:
        return f"instance {instance_id} already runs version {target.version}"
    source = ctx.cache.definition(session, inst.definition_id)
    bindings = _bindings(session, inst, target, now)
    spec, subs = ctx.cache.for_bindings(session, target.id, bindings)
    doc, missing, _waiting = _checked(inst.state, spec, subs, source.meta)
    if missing:
        return (
            f"version {target.version} has no step {', '.join(missing)}, where "
            f"instance {instance_id} waits or has been"
        )
    saved = load_state(json.dumps(doc), spec, subs)
    for task in saved.workflow.get_tasks(state=_WAITING, max_depth=10**9):
        task.task_spec._predict(task, mask=TaskState.NOT_FINISHED_MASK)
    inst.definition_id = target.id
    inst.bindings = bindings
    if not rows.save_state(session, inst, dump_state(saved), now):
        raise NotReady(
            f"instance {instance_id} changed while it was being moved; try again",
            code="instance.changed",
            instance_id=instance_id,
        )
    rows.audit(
        session,
        instance_id=inst.id,
        at=now,
        actor=actor,
        kind="moved_version",
        reason=reason,
        detail={"process": target.key, "from": source.version, "to": target.version},
    )
    return None


def _definition(session: Session, definition_id: int) -> ProcessDefinition:
    row = session.get(ProcessDefinition, definition_id)
    if row is None:
        raise NotFound(
            f"no process definition {definition_id}",
            code="definition.not_found",
            definition_id=definition_id,
        )
    return row


def _bindings(
    session: Session, inst: Any, target: ProcessDefinition, now: datetime
) -> dict[str, Any]:
    """The decisions and called processes the instance keeps; what the new version needs
    besides comes from what is in effect ``now``."""
    now_bound = current_bindings(session, target, now)
    kept = inst.bindings or {}
    return {
        part: {key: kept.get(part, {}).get(key, value) for key, value in found.items()}
        for part, found in now_bound.items()
    }


def _checked(
    state: str, spec: Any, subs: dict, meta: dict[str, Any]
) -> tuple[dict[str, Any], list[str], list[str]]:
    """(state document without predicted futures, names of steps the target lacks,
    names of the steps waiting now)."""
    envelope = json.loads(state)
    doc = copy.deepcopy(envelope)
    wf = doc["workflow"]
    missing: list[str] = []
    waiting: list[str] = []
    _check_tree(wf, spec, meta, missing, waiting)
    for sub in wf.get("subprocesses", {}).values():
        sub_spec = subs.get(sub.get("spec"))
        if sub_spec is None:
            missing.append(_name(meta, sub.get("spec")))
            continue
        _check_tree(sub, sub_spec, meta, missing, waiting)
    return doc, sorted(set(missing)), sorted(set(waiting))


def _check_tree(
    tree: dict[str, Any], spec: Any, meta: dict[str, Any], missing: list[str], waiting: list[str]
) -> None:
    tasks: dict[str, dict[str, Any]] = tree["tasks"]
    for task in list(tasks.values()):
        if task["id"] in tasks and task["state"] & _WAITING:
            _drop_future(tasks, task)
    for task in tasks.values():
        if task["state"] & _WAITING and task["task_spec"] in _element_ids(meta):
            waiting.append(_name(meta, task["task_spec"]))
        if task["task_spec"] not in spec.task_specs:
            missing.append(_name(meta, task["task_spec"]))


def _drop_future(tasks: dict[str, dict[str, Any]], task: dict[str, Any]) -> None:
    keep = []
    for child_id in task["children"]:
        child = tasks.get(child_id)
        if child is not None and child["state"] & _FUTURE and not child.get("triggered"):
            _remove(tasks, child)
        else:
            keep.append(child_id)
    task["children"] = keep


def _remove(tasks: dict[str, dict[str, Any]], task: dict[str, Any]) -> None:
    for child_id in task["children"]:
        child = tasks.get(child_id)
        if child is not None:
            _remove(tasks, child)
    tasks.pop(task["id"], None)


def _element_ids(meta: dict[str, Any]) -> set[str]:
    elements = meta.get("elements", {})
    id_map = meta.get("id_map", {})
    return set(elements) | set(id_map)


def _name(meta: dict[str, Any], spec_name: str | None) -> str:
    original = meta.get("id_map", {}).get(spec_name, spec_name) or "?"
    element = meta.get("elements", {}).get(original, {})
    name = element.get("name")
    return f"{name} ({original})" if name else original
