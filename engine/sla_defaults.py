"""SLA defaults per step: how long a user task may take when its diagram gives no ``sla``
(nor ``slaExpression``).  A PMO administrator sets them per process key and element id;
the projection reads them when it opens a task (see :mod:`engine.projection`).  A
duration is a number of working days (``3``) or an ISO 8601 duration whose days and weeks
are working days (``P3D``, ``P1W``, ``PT4H``), as for the diagram's own ``sla``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine import admin_audit
from engine.definitions import latest_process
from engine.errors import FieldError, InvalidData, NotFound
from engine.store.models import ProcessDefinition, SlaDefault
from engine.views import SlaDefaultView, StepView
from engine.working_days import MAX_WORKING_DAYS, sla_due

#: Element types that open a human task.
HUMAN_STEPS = frozenset({"userTask", "manualTask"})


def parse(duration: str | int) -> str | int:
    """The duration as :func:`engine.working_days.sla_due` takes it: whole working days as
    an int, otherwise a normalised ISO string; :class:`InvalidData` on ``duration``."""
    text = str(duration).strip().upper()
    if text.isdigit():
        if int(text) > MAX_WORKING_DAYS:
            raise InvalidData(
                {
                    "duration": FieldError(
                        f"At most {MAX_WORKING_DAYS} working days.",
                        "sla.too_long",
                        field="duration",
                        limit=MAX_WORKING_DAYS,
                    )
                }
            )
        return int(text)
    try:
        sla_due(datetime(2026, 1, 5), text)
    except (ValueError, OverflowError):
        value = str(duration).strip()
        raise InvalidData(
            {
                "duration": FieldError(
                    f"{value!r} is not a duration such as P3D (three working days) or PT4H.",
                    "sla.duration_invalid",
                    field="duration",
                    value=value,
                )
            }
        ) from None
    return text


def listing(session: Session) -> list[SlaDefaultView]:
    """Every SLA default, by process and element."""
    return [
        _view(r)
        for r in session.scalars(
            select(SlaDefault).order_by(SlaDefault.process_key, SlaDefault.element_id)
        )
    ]


def steps(session: Session) -> list[StepView]:
    """The human steps of every active process version, by process and step name."""
    found = []
    for d in session.scalars(
        select(ProcessDefinition)
        .where(ProcessDefinition.active.is_(True))
        .order_by(ProcessDefinition.key)
    ):
        for element_id, info in (d.meta or {}).get("elements", {}).items():
            if info.get("type") in HUMAN_STEPS:
                props = info.get("properties") or {}
                sla = props.get("sla") or (props.get("slaExpression") and "=")
                found.append(
                    StepView(d.key, d.name, element_id, info.get("name") or element_id, sla or None)
                )
    return sorted(found, key=lambda s: (s.process_name, s.name, s.element_id))


def put(
    session: Session,
    actor: str,
    now: datetime,
    process_key: str,
    element_id: str,
    duration: str,
    escalate_after: str | None = None,
) -> SlaDefaultView:
    """Set (or change) the default for one step of a deployed process, and optionally the
    second period after which an overdue step escalates (``escalate_after``, same
    notation; empty: one working day); audited."""
    process_key, element_id = (process_key or "").strip(), (element_id or "").strip()
    _require_step(session, process_key, element_id)
    value = str(parse(duration))
    second = None
    if escalate_after and str(escalate_after).strip():
        try:
            second = str(parse(escalate_after))
        except InvalidData as exc:
            raise InvalidData(
                {"escalate_after": _moved(exc.errors["duration"], "escalate_after")}
            ) from None
    row = _find(session, process_key, element_id)
    before = _audited(row.duration, row.escalate_after) if row is not None else {}
    if row is None:
        row = SlaDefault(
            process_key=process_key,
            element_id=element_id,
            duration=value,
            escalate_after=second,
            updated_by=actor,
            updated_at=now,
        )
        session.add(row)
    elif row.duration == value and row.escalate_after == second:
        return _view(row)
    row.duration, row.escalate_after, row.updated_by, row.updated_at = value, second, actor, now
    session.flush()
    admin_audit.record(
        session,
        actor=actor,
        now=now,
        kind="sla_default.set",
        target=f"{process_key}/{element_id}",
        before=before,
        after=_audited(value, second),
    )
    return _view(row)


def remove(session: Session, actor: str, now: datetime, process_key: str, element_id: str) -> None:
    """Drop a default (the step has no deadline again unless its diagram gives one)."""
    row = _find(session, process_key, element_id)
    if row is None:
        raise NotFound(
            f"no SLA default for {process_key}/{element_id}",
            code="sla.not_found",
            process=process_key,
            element_id=element_id,
        )
    session.delete(row)
    admin_audit.record(
        session,
        actor=actor,
        now=now,
        kind="sla_default.removed",
        target=f"{process_key}/{element_id}",
        before={"duration": row.duration},
        after={},
    )


_FOR_PROCESS = select(SlaDefault.element_id, SlaDefault.duration).where(
    SlaDefault.process_key == bindparam("process_key")
)


def finder(session: Session, process_key: str) -> Callable[[str], str | int | None]:
    """``find(element_id)``: the default for a step of ``process_key`` or None; reads the
    process's defaults once, on first use (most actions open no task without an SLA)."""
    loaded: dict[str, str] | None = None

    def find(element_id: str) -> str | int | None:
        nonlocal loaded
        if loaded is None:
            loaded = dict(session.execute(_FOR_PROCESS, {"process_key": process_key}).all())
        value = loaded.get(element_id)
        return None if value is None else parse(value)

    return find


def _find(session: Session, process_key: str, element_id: str) -> SlaDefault | None:
    return session.scalar(
        select(SlaDefault).where(
            SlaDefault.process_key == process_key, SlaDefault.element_id == element_id
        )
    )


def _require_step(session: Session, process_key: str, element_id: str) -> None:
    definition = latest_process(session, process_key) if process_key else None
    if definition is None:
        raise InvalidData(
            {
                "process_key": FieldError(
                    f"No deployed process {process_key!r}.",
                    "sla.unknown_step",
                    field="process_key",
                    process=process_key,
                )
            }
        )
    info = (definition.meta or {}).get("elements", {}).get(element_id)
    if info is None or info.get("type") not in HUMAN_STEPS:
        raise InvalidData(
            {
                "element_id": FieldError(
                    f"{process_key} has no user task {element_id!r}.",
                    "sla.unknown_step",
                    field="element_id",
                    process=process_key,
                    element_id=element_id,
                )
            }
        )


def _audited(duration: str, escalate_after: str | None) -> dict[str, str]:
    """What the audit keeps of a default (the second period only when one is set)."""
    return {"duration": duration, **({"escalate_after": escalate_after} if escalate_after else {})}


def _moved(error: FieldError, field: str) -> FieldError:
    """The same problem, named on another field."""
    params = {**error.params, "field": field}
    return FieldError(str(error), error.code, **params)


def _view(row: SlaDefault) -> SlaDefaultView:
    return SlaDefaultView(
        process_key=row.process_key,
        element_id=row.element_id,
        duration=row.duration,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
        escalate_after=row.escalate_after,
    )
