"""Glue of the escalation process (问题升级, ``bpmn/escalation.bpmn``).

A PM raises an issue beyond their authority; the PMO triages it (hand back with
guidance, resolve at PMO level, or escalate to the steering committee); the decision is
logged and sent to the PMs of every project involved; the raising PM confirms or
reopens.  Every function writes through :mod:`workflows.records` in the step's own
transaction and returns the escalation as task data (the diagram keeps it in
``escalation``; gateways branch on ``escalation["status"]``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine import identity
from engine.errors import Conflict, InvalidData, NotFound
from engine.services import Operation, ServiceCall
from workflows import records
from workflows.catalog import CatalogEntry
from workflows.records.vocab import ACTIVE_STAGES, FINAL_STAGES

ENTRY = CatalogEntry(key="escalation", bpmn="escalation.bpmn", title_en="Escalation",
                     title_zh="问题升级")

#: Form outcomes (triage and steering) -> the status the records layer stores.
_RECORDED_AS = {"resolve": "decided", "hand_back": "handed_back"}
_TEXT_FIELD = "comment"


# --------------------------------------------------------------------------- raise


def escalation_raise(call: ServiceCall) -> dict[str, Any]:
    """Validate the PM's issue, bind the instance to the project, log it (``triage``).

    Cross-field rules the form cannot state: the project exists, is running and is
    managed by the person raising it; the affected projects are other projects that
    are not closed; the decision date is not in the past (checked by the records layer).
    The PMs of the affected projects are told an escalation names their project.
    """
    data = call.data
    project = _own_running_project(call, data.get("project_id"))
    _check_affected(call, data.get("affected_project_ids") or [])
    payload = {k: data.get(k) for k in ("title", "description", "kind", "severity", "tried",
                                        "needed_by")}
    payload["affected_project_ids"] = list(data.get("affected_project_ids") or [])
    payload["description"] = payload["description"] or ""
    esc = records.raise_escalation(call.session, project.id, payload, actor=call.actor,
                                   now=call.now, instance_id=call.instance_id)
    call.bind_project(project.id)
    call.describe(business_key=f"ESC-{esc.id}")
    call.note("Escalation %(id)s logged on %(code)s for %(n)s affected project(s).", id=esc.id,
              code=_code(project), n=len(esc.affected_project_ids))
    others = [pm for pm in records.escalation_recipients(call.session, esc.id)
              if pm != call.actor]
    call.notify(others, "Escalation on %(code)s names your project: %(title)s",
                "%(who)s escalated to the PMO (%(kind)s, %(severity)s); decision needed by "
                "%(day)s. You will be told the decision.", kind="escalation",
                params={"code": _code(project), "title": esc.title, "who": {"user": call.actor},
                        "kind": {"text": esc.kind}, "severity": {"text": esc.severity},
                        "day": {"date": str(esc.needed_by)}},
                named=True)  # the PMs of the affected projects: named on it
    return records.to_json(esc)


def _own_running_project(call: ServiceCall, project_id: Any) -> records.ProjectView:
    try:
        project = records.get_project(call.session, int(project_id))
    except (NotFound, TypeError, ValueError):
        raise InvalidData({"project_id": f"No project with id {project_id}."}) from None
    if project.stage not in ACTIVE_STAGES:
        raise InvalidData({"project_id": f"Project {_code(project)} is {project.stage}; "
                           "issues are escalated on approved, running projects."})
    if project.pm != call.actor:
        raise InvalidData({"project_id": f"You are not the PM of {_code(project)} "
                           f"({project.pm} is); its PM raises its escalations."})
    return project


def _check_affected(call: ServiceCall, ids: Iterable[Any]) -> None:
    """Affected projects that exist must not be closed, rejected or withdrawn.

    Unknown ids and the raising project itself are reported by the records layer.
    """
    closed = []
    for pid in ids:
        try:
            other = records.get_project(call.session, int(pid))
        except (NotFound, TypeError, ValueError):
            continue
        if other.stage in FINAL_STAGES:
            closed.append(f"{_code(other)} ({other.stage})")
    if closed:
        raise InvalidData({"affected_project_ids": "These projects are no longer running: "
                           + ", ".join(closed) + "."})


# --------------------------------------------------------------------------- triage


def escalation_to_head(call: ServiceCall) -> dict[str, Any]:
    """Triage is overdue: the PMO head owns it now (status ``pmo``); tell them."""
    esc_id = _escalation_id(call)
    esc = records.set_escalation_status(call.session, esc_id, "pmo", actor=call.actor,
                                        now=call.now)
    heads = _holders(call, "pmo_head", esc.raised_by)
    call.note("Triage SLA passed; moved to the PMO head (%(people)s).", people={"users": heads})
    call.notify(heads, "Overdue escalation for you to triage: %(title)s",
                "PMO triage passed its SLA; decision needed by %(day)s.", kind="escalation",
                params={"title": esc.title, "day": {"date": str(esc.needed_by)}})
    call.notify([esc.raised_by], "Your escalation went to the PMO head: %(title)s",
                "PMO triage passed its SLA, so the PMO head takes it over.", kind="escalation",
                params={"title": esc.title})
    return records.to_json(esc)


def escalation_remind(call: ServiceCall) -> None:
    """An SLA reminder to the holders of ``role`` (and a notice to ``copy_role``)."""
    esc = records.get_escalation(call.session, _escalation_id(call))
    step = str(call.params.get("step") or "this escalation")
    people = _holders(call, str(call.params["role"]), esc.raised_by)
    call.notify(people, "Reminder: %(step)s is due: %(title)s",
                "Decision needed by %(day)s (severity %(severity)s).", kind="reminder",
                params={"step": {"text": step}, "title": esc.title,
                        "day": {"date": str(esc.needed_by)}, "severity": {"text": esc.severity}})
    copy_role = str(call.params.get("copy_role") or "")
    copied = _holders(call, copy_role, esc.raised_by) if copy_role else []
    if copied:
        call.notify(copied, "Overdue: %(step)s: %(title)s",
                    "The %(role)s step passed its SLA; decision needed by %(day)s.",
                    kind="overdue", params={"step": {"text": step}, "title": esc.title,
                                            "role": {"role": call.params["role"]},
                                            "day": {"date": str(esc.needed_by)}})
    call.note("Reminded %(people)s; told %(copied)s." if copied else "Reminded %(people)s.",
              people={"users": people}, copied={"users": copied})


def escalation_decide(call: ServiceCall) -> dict[str, Any]:
    """Record a triage or steering outcome.

    The level comes from the log: ``steering`` once the PMO escalated it, else ``pmo``.
    Resolve and hand back are recorded (who, when, outcome, text) and sent to the PMs of
    the raising and the affected projects; escalate routes the issue to the committee.
    """
    decision = str(call.params.get("decision") or "")
    text = str(call.params.get("comment") or "").strip()
    esc = records.get_escalation(call.session, _escalation_id(call))
    level = "steering" if esc.status == "steering" else "pmo"
    allowed = ("resolve", "hand_back") + (("escalate",) if level == "pmo" else ())
    if decision not in allowed:
        raise InvalidData({"decision": f"Choose one of: {', '.join(allowed)}."})
    if not text:
        raise InvalidData({_TEXT_FIELD: "This field is required."})
    if decision == "escalate":
        return _to_steering(call, esc, text)
    try:
        esc = records.record_escalation_decision(
            call.session, esc.id, decision=text, decided_by=call.actor, level=level,
            now=call.now, outcome=_RECORDED_AS[decision])
    except InvalidData as err:
        raise InvalidData({_TEXT_FIELD: next(iter(err.errors.values()))}) from None
    _announce(call, esc)
    return records.to_json(esc)


def _to_steering(call: ServiceCall, esc: records.EscalationView, reason: str
                 ) -> dict[str, Any]:
    esc = records.set_escalation_status(call.session, esc.id, "steering", actor=call.actor,
                                        now=call.now)
    call.note("Escalated to the steering committee by %(who)s: %(reason)s",
              who={"user": call.actor}, reason=reason)
    call.notify(_holders(call, "steering", esc.raised_by),
                "Escalation for the steering committee: %(title)s",
                "The PMO cannot settle it: %(reason)s\nDecision needed by %(day)s.",
                kind="escalation", params={"title": esc.title, "reason": reason,
                                           "day": {"date": str(esc.needed_by)}})
    return records.to_json(esc)


def _announce(call: ServiceCall, esc: records.EscalationView) -> None:
    """Send the decision to the PMs of the raising and of the affected projects."""
    what = "Guidance" if esc.status == "handed_back" else "Decision"
    recipients = records.escalation_recipients(call.session, esc.id)
    call.notify(recipients, f"Escalation {what.lower()}: %(title)s",
                f"{what} (%(level)s level, %(who)s, %(at)s): %(decision)s", kind="decision",
                params={"title": esc.title, "level": {"text": esc.decision_level},
                        "who": {"user": esc.decided_by},
                        "at": {"at": esc.decided_at.isoformat() if esc.decided_at else ""},
                        "decision": esc.decision}, named=True)
    call.note(f"{what} recorded at %(level)s level by %(who)s; sent to %(people)s.",
              level={"text": esc.decision_level}, who={"user": esc.decided_by},
              people={"users": recipients})


# --------------------------------------------------------------------------- close


def escalation_close(call: ServiceCall) -> dict[str, Any]:
    """The raising PM closes the escalation (resolved / guidance accepted) or reopens it.

    A reopen needs a reason; the escalation goes back to PMO triage and whoever decided
    it, and the affected PMs, are told it is open again.
    """
    decision = str(call.params.get("decision") or "")
    comment = str(call.params.get("comment") or "").strip()
    esc = records.get_escalation(call.session, _escalation_id(call))
    try:
        if decision == "reopen":
            esc = records.reopen_escalation(call.session, esc.id, actor=call.actor,
                                            now=call.now, reason=comment)
        elif decision in ("resolved", "accept"):
            default = "Guidance accepted." if decision == "accept" else "Resolved."
            esc = records.resolve_escalation(call.session, esc.id, actor=call.actor,
                                             now=call.now, resolution=comment or default)
        else:
            raise InvalidData({"decision": "Choose resolved, accept or reopen."})
    except InvalidData as err:
        if "decision" in err.errors:
            raise
        raise InvalidData({_TEXT_FIELD: next(iter(err.errors.values()))}) from None
    except Conflict as err:
        raise InvalidData({"decision": str(err)}) from None
    _tell_closed(call, esc)
    return records.to_json(esc)


def _tell_closed(call: ServiceCall, esc: records.EscalationView) -> None:
    others = [pm for pm in records.escalation_recipients(call.session, esc.id)
              if pm != call.actor]
    people = list(dict.fromkeys([*([esc.decided_by] if esc.decided_by else []), *others]))
    if esc.status == "reopened":
        call.notify(people, "Escalation reopened: %(title)s",
                    "%(who)s reopened it (reopen #%(n)s): %(reason)s", kind="escalation",
                    params={"title": esc.title, "who": {"user": call.actor},
                            "n": esc.reopen_count, "reason": esc.reopen_reason})
        call.note("Reopened (#%(n)s); back to PMO triage.", n=esc.reopen_count)
    else:
        call.notify(people, "Escalation closed: %(title)s",
                    "%(who)s closed it: %(resolution)s", kind="escalation",
                    params={"title": esc.title, "who": {"user": call.actor},
                            "resolution": esc.resolution})
        call.note("Closed by the raising PM.")


# --------------------------------------------------------------------------- helpers


def _escalation_id(call: ServiceCall) -> int:
    esc = call.data.get("escalation")
    if not isinstance(esc, dict) or not isinstance(esc.get("id"), int):
        raise NotFound("this instance has no escalation record yet")
    return esc["id"]


def _holders(call: ServiceCall, role: str, exclude: str) -> list[str]:
    """Active holders of a global role, without ``exclude`` (the raising PM)."""
    return [u for u in identity.holders_anywhere(call.session, role) if u != exclude]


def _code(project: records.ProjectView) -> str:
    return project.code or f"project {project.id}"


OPERATIONS: tuple[tuple[str, Operation], ...] = (
    ("escalation_raise", escalation_raise),
    ("escalation_to_head", escalation_to_head),
    ("escalation_remind", escalation_remind),
    ("escalation_decide", escalation_decide),
    ("escalation_close", escalation_close),
)
