"""Load, run and save one instance's workflow inside a unit of work.

This is the part of every engine action that touches SpiffWorkflow: rebuild the workflow
from its spec-less state and cached spec, run it in the sandbox, translate library errors
into engine errors that name the element and line, and save with an optimistic lock.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from engine import access, calendar_admin, notifications
from engine.context import EngineContext
from engine.definitions import DefinitionSnapshot
from engine.errors import EngineError, InstanceChanged, TaskFailed, WorkflowStalled
from engine.services import ServiceCall
from engine.spiff.decisions import take_evaluations
from engine.spiff.fixes import merge_missed_instances
from engine.spiff.joins import take_conflicts
from engine.spiff.sandbox import SandboxedScriptEngine
from engine.spiff.serializer import SavedState, dump_state, load_state
from engine.spiff.stepping import Stalled, VisitCapExceeded, VisitCounter, prune
from engine.spiff.timebase import using_clock
from engine.store import rows
from engine.store.rows import Rec

log = logging.getLogger(__name__)


@dataclass
class Loaded:
    """An instance row with its live workflow, ready for one action."""

    instance: Rec
    definition: DefinitionSnapshot
    workflow: BpmnWorkflow
    counter: VisitCounter
    services: list[ServiceCall] = field(default_factory=list)
    #: The instance's open human tasks as of loading (None: not fetched yet).
    open_rows: list[Rec] | None = None
    #: Versions of the processes its call activities run, by process key.
    called: dict[str, DefinitionSnapshot] = field(default_factory=dict)
    #: The install's business calendar SLAs count in.
    calendar: Any = None

    @property
    def meta(self) -> dict[str, Any]:
        """The definition's element metadata and references."""
        return self.definition.meta

    def definition_of(self, task: Any) -> DefinitionSnapshot:
        """The process version a task's element belongs to (a called process's for a task
        inside a call activity, else the instance's own)."""
        return self.called.get(task.workflow.spec.name, self.definition)

    def original_id(
        self, bpmn_id: str | None, definition: DefinitionSnapshot | None = None
    ) -> str | None:
        """Diagram element id for a runtime id (reserved ids were renamed at deploy)."""
        if bpmn_id is None:
            return None
        meta = (definition or self.definition).meta
        return meta.get("id_map", {}).get(bpmn_id, bpmn_id)

    def element_map(self, definition_id: int | None) -> dict[str, Any]:
        """Element metadata by original id of the instance's process version or of a
        called one (by its definition id)."""
        for definition in (self.definition, *self.called.values()):
            if definition.id == definition_id:
                return definition.meta.get("elements", {})
        return self.meta.get("elements", {})

    def element(
        self, element_id: str | None, definition: DefinitionSnapshot | None = None
    ) -> dict[str, Any]:
        """Element metadata by original id ({} if unknown)."""
        meta = (definition or self.definition).meta
        return meta.get("elements", {}).get(element_id or "", {})


def visit_cap(ctx: EngineContext, definition: DefinitionSnapshot) -> int:
    """The per-element visit cap for this process (its own setting or the default)."""
    raw = definition.meta.get("max_element_visits")
    try:
        return int(raw) if raw else ctx.settings.max_element_visits
    except ValueError:
        return ctx.settings.max_element_visits


def sandbox_for(
    ctx: EngineContext,
    session: Session,
    instance: Rec,
    actor: str,
    now: datetime,
    calls: list[ServiceCall],
    id_map: dict[str, str],
    on_behalf_of: str | None = None,
) -> SandboxedScriptEngine:
    """A sandboxed script engine whose service tasks call the registered glue."""

    def services(task: Any, name: str, params: dict[str, Any]) -> Any:
        bpmn_id = task.task_spec.bpmn_id
        call = ServiceCall(
            session=session,
            instance_id=instance.id,
            process_key=instance.process_key,
            element_id=id_map.get(bpmn_id, bpmn_id),
            actor=actor,
            now=now,
            params={k: v.get("value") if isinstance(v, dict) else v for k, v in params.items()},
            data=dict(task.data),
            project_id=instance.project_id,
            on_behalf_of=on_behalf_of,
            calendar=ctx.calendar,
        )
        result = ctx.services.call(name, call)
        calls.append(call)
        if call.bound_project_id is not None:
            instance.project_id = call.bound_project_id
        if call.title:
            instance.title = call.title
        if call.business_key:
            instance.business_key = call.business_key
        return result

    return SandboxedScriptEngine(
        limits=ctx.settings.sandbox, helpers=ctx.helpers, services=services
    )


def _loaded(
    ctx: EngineContext,
    session: Session,
    instance: Rec,
    definition: DefinitionSnapshot,
    workflow: BpmnWorkflow,
    visits: dict[str, int],
    actor: str,
    now: datetime,
    on_behalf_of: str | None = None,
) -> Loaded:
    calls: list[ServiceCall] = []
    id_map = definition.meta.get("id_map", {})
    workflow.script_engine = sandbox_for(
        ctx, session, instance, actor, now, calls, id_map, on_behalf_of
    )
    counter = VisitCounter(visits, visit_cap(ctx, definition), id_map)
    called = {
        key: ctx.cache.definition(session, def_id)
        for key, def_id in (instance.bindings or {}).get("processes", {}).items()
    }
    calendar_admin.refresh(ctx.calendar, session)
    return Loaded(
        instance, definition, workflow, counter, calls, called=called, calendar=ctx.calendar
    )


def new_workflow(
    ctx: EngineContext, session: Session, instance: Rec, actor: str, now: datetime
) -> Loaded:
    """A fresh workflow for a new instance (its row must already have an id)."""
    definition = ctx.cache.definition(session, instance.definition_id)
    spec, subs = ctx.cache.for_bindings(session, definition.id, instance.bindings)
    return _loaded(ctx, session, instance, definition, BpmnWorkflow(spec, subs), {}, actor, now)


def load(
    ctx: EngineContext,
    session: Session,
    instance: Rec,
    actor: str,
    now: datetime,
    *,
    on_behalf_of: str | None = None,
) -> Loaded:
    """Rebuild an instance's workflow from its saved state and cached spec."""
    definition = ctx.cache.definition(session, instance.definition_id)
    spec, subs = ctx.cache.for_bindings(session, definition.id, instance.bindings)
    saved = load_state(instance.state, spec, subs)
    if merge_missed_instances(saved.workflow):
        log.warning("instance %s: merged multi-instance results missed before", instance.id)
    return _loaded(
        ctx, session, instance, definition, saved.workflow, saved.visits, actor, now, on_behalf_of
    )


def save(session: Session, loaded: Loaded, now: datetime, *, new: bool = False) -> None:
    """Prune, serialize and write the state with every changed column of the instance.

    The revision check makes a concurrent writer lose with :class:`Conflict`; ``new``
    (the first save, right after the insert) keeps revision 1.
    """
    prune(loaded.workflow)
    text = dump_state(SavedState(loaded.workflow, loaded.counter.visits))

    def changed() -> InstanceChanged:
        return InstanceChanged(
            f"instance {loaded.instance.id} was changed by someone else while you worked on "
            "it; reload and try again",
            instance_id=loaded.instance.id,
        )

    if not rows.save_state(session, loaded.instance, text, now, bump=not new, conflict=changed):
        raise changed()


def audit_services(session: Session, loaded: Loaded, now: datetime, actor: str) -> None:
    """Audit what the run did besides moving tasks: the glue calls (and send the
    notifications they asked for) and data that two branches wrote before a join."""
    for call in loaded.services:
        rows.audit(
            session,
            instance_id=loaded.instance.id,
            at=now,
            actor=actor,
            kind="service_called",
            element_id=call.element_id,
            element_name=loaded.element(call.element_id).get("name"),
            detail={"notes": call.notes, "note_keys": call.note_keys}
            if call.note_keys
            else {"notes": call.notes},
        )
        for note in call.notifications:  # need-to-know: only those who may see it
            people = access.audience(
                session, note.usernames, loaded.instance, now, named=note.named
            )
            if people:
                notifications.write(session, replace(note, usernames=people), now)
    loaded.services.clear()
    record_decisions(session, loaded, now, actor)
    for conflict in take_conflicts(loaded.workflow):
        join_id = loaded.original_id(conflict.join_id)
        rows.audit(
            session,
            instance_id=loaded.instance.id,
            at=now,
            actor=actor,
            kind="data_conflict",
            element_id=join_id,
            element_name=loaded.element(join_id).get("name"),
            detail={
                "key": conflict.key,
                "branches": [loaded.original_id(b) for b in conflict.branches],
                "kept": loaded.original_id(conflict.winner),
            },
        )


def record_decisions(session: Session, loaded: Loaded, now: datetime, actor: str) -> None:
    """Store the decision tables the run evaluated: their input values, matched rows and
    outputs (a row to replay drafts over, and a "decision" audit event)."""
    bound = (loaded.instance.bindings or {}).get("decisions", {})
    for found in take_evaluations(loaded.workflow):
        element_id = loaded.original_id(found.element_id)
        outputs = {"rows": found.rows, "columns": found.columns}
        rows.decision_evaluation(
            session,
            instance_id=loaded.instance.id,
            decision_key=found.decision,
            definition_id=bound.get(found.decision),
            element_id=element_id,
            inputs={"values": found.inputs, "context": found.context},
            outputs=outputs,
            at=now,
        )
        rows.audit(
            session,
            instance_id=loaded.instance.id,
            at=now,
            actor=actor,
            kind="decision",
            element_id=element_id,
            element_name=loaded.element(element_id).get("name"),
            detail={
                "decision": found.decision,
                "definition_id": bound.get(found.decision),
                "inputs": found.inputs,
                **outputs,
            },
        )


@contextlib.contextmanager
def engine_errors(loaded: Loaded, clock) -> Iterator[None]:
    """Run SpiffWorkflow code under the engine clock; translate its errors."""
    try:
        with using_clock(clock):
            yield
    except (EngineError, DBAPIError):
        raise  # ours already; the database's is handled (retried) by the caller
    except VisitCapExceeded as exc:
        raise TaskFailed(
            str(exc),
            element_id=exc.element_id,
            element_name=loaded.element(exc.element_id).get("name"),
            error_type="LoopLimit",
            code="run.loop_limit",
        ) from exc
    except Stalled as exc:
        raise WorkflowStalled(str(exc)) from exc
    except SpiffWorkflowException as exc:
        original = _engine_error_in(exc)
        if original is not None:  # e.g. glue refusing bad data with InvalidData, or the
            raise original from exc  # database busy under a glue call (retried by callers)
        raise translate(loaded, exc) from exc
    except RecursionError as exc:
        raise TaskFailed(
            "the process nests or loops too deeply for the engine",
            error_type="RecursionError",
            code="run.too_deep",
        ) from exc
    except Exception as exc:  # anything else the library or glue raised mid-run
        log.exception("unexpected error while running instance %s", loaded.instance.id)
        raise TaskFailed(f"{type(exc).__name__}: {exc}", error_type=type(exc).__name__) from exc


def _engine_error_in(exc: BaseException) -> EngineError | DBAPIError | None:
    """The first EngineError or database error in an exception's cause/context chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, EngineError | DBAPIError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def translate(loaded: Loaded, exc: SpiffWorkflowException) -> TaskFailed:
    """A :class:`TaskFailed` naming the element, line and cause of a library error."""
    task = getattr(exc, "task", None)
    spec = getattr(exc, "task_spec", None) or (task.task_spec if task is not None else None)
    bpmn_id = getattr(spec, "bpmn_id", None) if spec is not None else None
    element_id = loaded.original_id(bpmn_id)
    name = getattr(spec, "bpmn_name", None) or loaded.element(element_id).get("name")
    cause = exc.__cause__ or exc.__context__
    error_type = getattr(exc, "error_type", None) or type(exc).__name__
    message = str(exc)
    if cause is not None and str(cause) and str(cause) not in message:
        message = f"{message} ({type(cause).__name__}: {cause})"
    return TaskFailed(
        message,
        element_id=element_id,
        element_name=name,
        line=getattr(exc, "line_number", None) or None,
        error_type=error_type,
        source_line=getattr(exc, "error_line", None) or None,
    )
