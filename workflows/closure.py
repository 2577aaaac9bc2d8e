"""Glue of project closure and lessons learned (结项与经验总结, ``bpmn/project_closure.bpmn``).

Every operation takes a :class:`~engine.services.ServiceCall`, writes PMO records through
:mod:`workflows.records` in the step's transaction and returns task-data JSON.  The cost
variance is computed here in the reporting currency; whether it needs the PM's explanation
is the decision table ``closure_cost_variance``; the lessons window is the table
``closure_lesson_window``.

Lessons are collected by a multi-instance *embedded* sub-process with the window timer on
each member's task, not by a called process with a timer on the call activity, because
(1) the engine keeps task properties (assignee, form, SLA) only for the caller's own
elements, so a called process's user task is open to every team member and its form is
not checked, and (2) SpiffWorkflow 3.2 orphans the sub-processes of a multi-instance
activity cancelled by a boundary event, and the next engine step fails.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import identity
from engine.errors import Forbidden, InvalidData, NotFound
from engine.services import Operation, ServiceCall
from engine.store.models import User, UserRole
from engine.working_days import add_working_days
from workflows import records
from workflows.catalog import CatalogEntry

KEY = "project_closure"
CLOSABLE = ("Initiation", "Executing")
ACTUALS = ("actual_end", "actual_cost", "customer_satisfaction")
LESSON_FIELDS = ("title", "category", "tags", "what_went_well", "what_did_not",
                 "recommendation")
#: The variance % of a cost against a budget of zero (the table sees it as far over).
NO_BUDGET_PCT = Decimal("9999.99")
_CENT = Decimal("0.01")


# --------------------------------------------------------------------------- start


def start_closure(call: ServiceCall) -> dict[str, Any]:
    """Check the request, bind the instance, move the project to Closing, record actuals.

    Refuses (per field, nothing written): an unknown project, one not in Initiation or
    Executing, a starter who is not its PM, an actual end before the project's start or
    in the future, unknown or inactive team members.
    """
    data, session = call.data, call.session
    pm = str(data.get("initiator") or call.actor)
    errors: dict[str, str] = {}
    project = _closable(session, data.get("project_id"), pm, errors)
    _check_end(data.get("actual_end"), project, call.now, errors)
    team = _team(session, data.get("lesson_team") or [], errors)
    if errors:
        raise InvalidData(errors)
    assert project is not None
    call.bind_project(project.id)
    call.describe(title=f"{project.code} {project.title}", business_key=project.code)
    records.set_stage(session, project.id, "Closing", actor=pm, now=call.now,
                      reason=f"Closure started by {pm}")
    view = records.record_actuals(session, project.id, {k: data[k] for k in ACTUALS},
                                  actor=pm, now=call.now)
    identity.grant_project_role(session, view.id, view.sponsor, "sponsor")
    for member in team:
        identity.grant_project_role(session, view.id, member, "team")
    summary = closure_summary(session, view, data, team)
    call.note("%(code)s Closing; actual cost %(cost)s = %(reported)s, variance %(pct)s%% "
              "against %(budget)s; lessons asked of: %(team)s.", code=view.code,
              cost=_money(view.actual_cost), reported=_money(view.actual_cost_reporting),
              pct=summary["variance_pct"], budget=_money(view.budget_reporting),
              team={"users": team})
    call.notify([view.sponsor], "Please sign off acceptance: %(code)s %(title)s",
                "%(pm)s is closing the project; your acceptance sign-off is needed.",
                params={"code": view.code, "title": view.title, "pm": {"user": pm}})
    return summary


def closure_summary(session: Session, view: records.ProjectView, data: dict[str, Any],
                    team: list[str]) -> dict[str, Any]:
    """What every later step shows and decides on (money in the reporting currency)."""
    budget = view.budget_reporting.amount
    actual = view.actual_cost_reporting.amount if view.actual_cost_reporting else Decimal(0)
    risks, _ = records.list_risks(session, project_id=view.id, limit=500)
    return {
        "project_id": view.id, "code": view.code, "title": view.title,
        "category": view.category, "pm": view.pm, "sponsor": view.sponsor,
        "planned_start": view.planned_start.isoformat(),
        "planned_end": view.planned_end.isoformat(),
        "actual_end": view.actual_end.isoformat() if view.actual_end else None,
        "budget": view.budget.to_json(), "budget_reporting": view.budget_reporting.to_json(),
        "actual_cost": records.to_json(view.actual_cost),
        "actual_cost_reporting": records.to_json(view.actual_cost_reporting),
        "variance": records.Money(actual - budget, view.budget_reporting.currency).to_json(),
        "variance_pct": format(variance_pct(budget, actual), "f"),
        "customer_satisfaction": view.customer_satisfaction,
        "deliverables_accepted": bool(data.get("deliverables_accepted")),
        "deliverables_notes": str(data.get("deliverables_notes") or ""),
        "open_items_count": int(data.get("open_items_count") or 0),
        "open_items_note": str(data.get("open_items_note") or ""),
        "open_risks_in_register": sum(1 for r in risks if r.status != "closed"),
        "team": team,
    }


def variance_pct(budget: Decimal, actual: Decimal) -> Decimal:
    """(actual - budget) / budget in per cent, to the cent, half up (negative: under)."""
    if budget == 0:
        return Decimal("0.00") if actual == 0 else NO_BUDGET_PCT
    return ((actual - budget) * 100 / budget).quantize(_CENT, rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- acceptance


def record_sign_off(call: ServiceCall) -> dict[str, Any]:
    """The sponsor's verdict; a refusal sends the project back to Executing with the reason."""
    decision, comment = _verdict(call, ("sign_off", "refuse"), "refuse")
    project = _project(call)
    if call.actor == project.pm:
        raise Forbidden("Four eyes: the project manager cannot accept their own project.")
    verdict = _record(call, "acceptance", decision, comment)
    if decision == "refuse":
        records.set_stage(call.session, project.id, "Executing", actor=call.actor,
                          now=call.now, reason=f"Acceptance refused by {call.actor}: {comment}")
        call.notify([project.pm], "Acceptance refused: %(code)s", "%(comment)s",
                    kind="rejected", params={"code": project.code, "comment": comment})
    if comment:
        call.note("Acceptance %(decision)s by %(who)s (round %(round)s): %(comment)s",
                  decision={"text": decision}, who={"user": call.actor},
                  round=verdict["round"], comment=comment)
    else:
        call.note("Acceptance %(decision)s by %(who)s (round %(round)s).",
                  decision={"text": decision}, who={"user": call.actor}, round=verdict["round"])
    return verdict


def resubmit(call: ServiceCall) -> dict[str, Any]:
    """The PM fixed the deliverables: Closing again, the sponsor is asked again."""
    project = _project(call)
    notes = str(call.params.get("fix_notes") or "").strip()
    records.set_stage(call.session, project.id, "Closing", actor=call.actor, now=call.now,
                      reason=f"Deliverables fixed: {notes}")
    call.notify([project.sponsor], "Please sign off acceptance again: %(code)s", "%(notes)s",
                params={"code": project.code, "notes": notes})
    call.note("Resubmitted for acceptance by %(who)s: %(notes)s", who={"user": call.actor},
              notes=notes)
    return {"fix_notes": notes, "by": call.actor, "at": call.now.isoformat()}


# --------------------------------------------------------------------------- cost variance


def record_variance(call: ServiceCall) -> dict[str, Any]:
    """Keep the variance rule's outcome (no matching rule: no explanation asked)."""
    rule = call.params.get("rule") or {}
    summary = call.data["closure"]
    check = {"pct": summary["variance_pct"], "variance": summary["variance"],
             "explain": rule.get("explain") is True,
             "threshold_pct": rule.get("threshold_pct"),
             "reason": str(rule.get("reason") or "No rule of closure_cost_variance matched.")}
    call.note("Cost variance %(pct)s%% (%(reason)s): the PM must explain it."
              if check["explain"] else
              "Cost variance %(pct)s%% (%(reason)s): no explanation needed.",
              pct=check["pct"], reason={"text": check["reason"]})
    return check


def record_finance_check(call: ServiceCall) -> dict[str, Any]:
    """Finance accepts the variance or asks the PM (again) to explain it."""
    decision, comment = _verdict(call, ("accept", "ask_again"), "ask_again")
    project = _project(call)
    if call.actor == project.pm:
        raise Forbidden("Four eyes: the project manager cannot check their own costs.")
    verdict = _record(call, "variance_review", decision, comment)
    verdict["explanation"] = str(call.data.get("variance_explanation") or "")
    if decision == "ask_again":
        call.notify([project.pm], "Finance asks about the cost variance of %(code)s",
                    "%(comment)s", kind="rework",
                    params={"code": project.code, "comment": comment})
    call.note("Cost variance %(decision)s by %(who)s"
              + (" (explanation: %(explanation)s)" if verdict["explanation"] else "")
              + (": %(comment)s" if comment else ""), decision={"text": decision},
              who={"user": call.actor}, explanation=verdict["explanation"], comment=comment)
    return verdict


# --------------------------------------------------------------------------- lessons


def open_window(call: ServiceCall) -> dict[str, Any]:
    """The lessons window: closes ``days`` working days from now; reminder a day before."""
    days = max(1, int(call.params.get("days") or 5))
    team = list(call.data.get("lesson_team") or [])
    closes = add_working_days(call.now, days)
    remind = add_working_days(call.now, days - 1) if days > 1 else call.now + (
        closes - call.now) / 2
    summary = call.data["closure"]
    if team:
        call.note("Lessons window of %(days)s working days, until %(closes)s; asked: %(team)s.",
                  days=days, closes={"at": closes.isoformat()}, team={"users": team})
    else:
        call.note("Nobody to ask for lessons: the collection is skipped.")
    return {"days": days, "closes_at": closes.isoformat(), "remind_at": remind.isoformat(),
            "members": team, "code": summary["code"], "title": summary["title"]}


def save_lesson(call: ServiceCall) -> dict[str, Any]:
    """Store one member's lesson the moment it is written (unpublished until curated)."""
    member = str(call.params["member"])
    fields = {k: call.data[k] for k in LESSON_FIELDS if k in call.data}
    view = records.add_lesson(call.session, _project_id(call), fields, author=member,
                              now=call.now, instance_id=call.instance_id)
    call.note("Lesson #%(id)s by %(member)s (entered by %(who)s) saved." if call.actor != member
              else "Lesson #%(id)s by %(member)s saved.", id=view.id, member={"user": member},
              who={"user": call.actor})
    return {"member": member, "answered": True, "lesson_id": view.id,
            "at": call.now.isoformat()}


def lesson_missed(call: ServiceCall) -> dict[str, Any]:
    """The window closed before this member answered: their request is cancelled."""
    member = str(call.params["member"])
    call.note("%(member)s did not answer before the lessons window closed.",
              member={"user": member})
    return {"member": member, "answered": False, "lesson_id": None,
            "at": call.now.isoformat()}


def remind_member(call: ServiceCall) -> None:
    """One working day before the window closes: remind a member who has not answered."""
    member, window = str(call.params["member"]), call.data.get("lesson_window") or {}
    call.notify([member], "Reminder: lessons learned for %(code)s",
                "The window closes at %(closes)s.", kind="reminder",
                params={"code": window.get("code"), "closes": {"at": window.get("closes_at")}})
    call.note("Reminded %(member)s to write their lessons.", member={"user": member})


def load_lessons(call: ServiceCall) -> list[dict[str, Any]]:
    """The project's lessons from the library (saved as they arrived), oldest first."""
    found, _ = records.list_lessons(call.session, project_id=_project_id(call), limit=500)
    keep = ("id", "author", "title", "category", "tags", *LESSON_FIELDS[3:], "published")
    lessons = [{k: records.to_json(getattr(v, k)) for k in keep} for v in reversed(found)]
    call.note("%(n)s lesson(s) collected for curation.", n=len(lessons))
    return lessons


def curate(call: ServiceCall) -> dict[str, Any]:
    """Apply the PMO's edits and merges and publish the chosen lessons.

    Only lessons collected for this closure may be touched.  Errors on an edit are
    reported on its row (``edits.<row>.<field>``).
    """
    data = call.data
    own = {lesson["id"] for lesson in data.get("collected_lessons") or []}
    publish = [int(i) for i in data.get("publish_ids") or []]
    merges = {int(r["source"]): int(r["target"]) for r in data.get("merges") or []}
    rows = list(data.get("edits") or [])
    edits = {int(r["lesson_id"]): {k: v for k, v in r.items() if k != "lesson_id"}
             for r in rows}
    errors = {field: f"Lesson {', '.join(map(str, sorted(bad)))} was not collected here."
              for field, bad in (("publish_ids", set(publish) - own),
                                 ("merges", (set(merges) | set(merges.values())) - own),
                                 ("edits", set(edits) - own)) if bad}
    if errors:
        raise InvalidData(errors)
    try:
        views = records.curate_lessons(call.session, publish_ids=publish, merges=merges,
                                       edits=edits, curator=call.actor, now=call.now)
    except InvalidData as exc:
        index = {str(int(r["lesson_id"])): str(i) for i, r in enumerate(rows)}
        raise InvalidData({_row_path(k, index): v for k, v in exc.errors.items()}) from exc
    published = sorted(v.id for v in views if v.published)
    for view in views:
        if view.published:
            call.notify([view.author], "Your lesson is published: %(title)s",
                        "The PMO published it in the lessons library.", kind="lesson",
                        params={"title": view.title or view.id})
    call.note("Curated by %(who)s: published %(published)s, merged %(merged)s, edited "
              "%(edited)s.", who={"user": call.actor},
              published=_ids(published), merged=str(merges) if merges else {"text": "none"},
              edited=_ids(sorted(edits)))
    return {"published": published, "merges": {str(k): v for k, v in merges.items()},
            "edited": sorted(edits), "by": call.actor, "at": call.now.isoformat()}


# --------------------------------------------------------------------------- archive


def archive(call: ServiceCall) -> dict[str, Any]:
    """Stage Closed (by the sponsor whose acceptance closes it) with a summary of the
    decisions; the PM and the sponsor are told."""
    project = _project(call)
    reason = closing_summary(call.data)
    by = str((call.data.get("acceptance") or {}).get("by") or call.actor)
    view = records.set_stage(call.session, project.id, "Closed", actor=by, now=call.now,
                             reason=reason)
    summary = closing_summary_message(call.data)
    call.notify([view.pm, view.sponsor], "Project closed: %(code)s %(title)s", "%(reason)s",
                kind="completed", params={"code": view.code, "title": view.title,
                                          "reason": summary})
    call.note("%(code)s Closed. %(reason)s", code=view.code, reason=summary)
    return records.to_json(view)


def closing_summary_message(data: dict[str, Any]) -> dict[str, Any]:
    """:func:`closing_summary` as a message param (shown in the reader's language)."""
    acc, check = data.get("acceptance") or {}, data.get("cost_check") or {}
    review = data.get("variance_review") or {}
    receipts = data.get("lesson_receipts") or []
    published = (data.get("curation") or {}).get("published") or []
    msgid = ("Acceptance signed off by %(sponsor)s (round %(round)s). Cost variance %(pct)s%% "
             "(%(reason)s) accepted by %(finance)s"
             + (" after the PM's explanation" if review.get("explanation") else "")
             + ". Lessons: %(answered)s of %(asked)s answered, %(published)s published.")
    return {"msg": [msgid, {
        "sponsor": {"user": acc.get("by")}, "round": acc.get("round"), "pct": check.get("pct"),
        "reason": {"text": check.get("reason")}, "finance": {"user": review.get("by")},
        "answered": sum(1 for r in receipts if r.get("answered")), "asked": len(receipts),
        "published": len(published)}]}


def closing_summary(data: dict[str, Any]) -> str:
    """One paragraph for the stage history: acceptance, cost variance, lessons."""
    acc, check = data.get("acceptance") or {}, data.get("cost_check") or {}
    review = data.get("variance_review") or {}
    receipts = data.get("lesson_receipts") or []
    answered = sum(1 for r in receipts if r.get("answered"))
    published = (data.get("curation") or {}).get("published") or []
    explained = " after the PM's explanation" if review.get("explanation") else ""
    return (f"Acceptance signed off by {acc.get('by')} (round {acc.get('round')}). "
            f"Cost variance {check.get('pct')}% ({check.get('reason')}) accepted by "
            f"{review.get('by')}{explained}. Lessons: {answered} of {len(receipts)} answered, "
            f"{len(published)} published.")


# --------------------------------------------------------------------------- SLAs, cancel


def remind(call: ServiceCall) -> None:
    """SLA reached: remind the sponsor of this project, or finance (never the submitter)."""
    project, step = _project(call), str(call.params.get("step"))
    audience = str(call.params.get("audience"))
    people = [project.sponsor] if audience == "sponsor" else [
        u for u in _holders(call.session, audience) if u != call.data.get("initiator")]
    call.notify(people, "Reminder: %(step)s of %(code)s is due",
                "The %(step)s has reached its SLA of %(days)s working days.", kind="reminder",
                params={"step": {"text": step}, "code": project.code,
                        "days": call.params.get("due_days")})
    call.note("SLA reached on the %(step)s: reminded %(people)s.", step={"text": step},
              people={"users": people})


def escalate(call: ServiceCall) -> None:
    """A second period passed: the PMO head is told (the step stays open)."""
    project, step = _project(call), str(call.params.get("step"))
    heads = _holders(call.session, "pmo_head")
    call.notify(heads, "Overdue: %(step)s of %(code)s",
                "The %(step)s of %(code)s %(title)s is past twice its SLA of %(days)s working "
                "days; please follow up.", kind="escalation",
                params={"step": {"text": step}, "code": project.code, "title": project.title,
                        "days": call.params.get("due_days")})
    call.note("%(step)s overdue: escalated to %(people)s.", step={"text": step},
              people={"users": heads})


def withdrawn(call: ServiceCall) -> None:
    """``onCancel``: a closure withdrawn or cancelled returns the project to Executing."""
    if call.project_id is None:
        return
    project = records.get_project(call.session, call.project_id)
    if project.stage != "Closing":
        return
    reason = f"Closure {call.params.get('status')}: {call.params.get('reason')}"
    records.set_stage(call.session, project.id, "Executing", actor=call.actor, now=call.now,
                      reason=reason)
    call.notify([project.sponsor], "Closure of %(code)s withdrawn", "%(reason)s",
                kind="withdrawn", params={"code": project.code, "reason": reason})
    call.note("%(code)s back to Executing (%(reason)s).", code=project.code, reason=reason)


# --------------------------------------------------------------------------- helpers


def _ids(ids: list[Any]) -> Any:
    """A list of ids for a note: as Python prints it, or the word ``none``."""
    return str(ids) if ids else {"text": "none"}


def _closable(session: Session, raw: Any, pm: str, errors: dict[str, str]
              ) -> records.ProjectView | None:
    try:
        project = records.get_project(session, int(raw))
    except (NotFound, TypeError, ValueError):
        errors["project_id"] = f"No project with id {raw!r}."
        return None
    name = project.code or f"#{project.id}"
    if project.stage not in CLOSABLE:
        errors["project_id"] = (f"{name} is {project.stage}; only a project in Initiation "
                                "or Executing can be closed.")
    elif project.pm != pm:
        errors["project_id"] = f"Only the project's manager ({project.pm}) can close {name}."
    return project


def _check_end(raw: Any, project: records.ProjectView | None, now: datetime,
               errors: dict[str, str]) -> None:
    try:
        end = date.fromisoformat(str(raw))
    except ValueError:
        errors["actual_end"] = "Must be a date (YYYY-MM-DD)."
        return
    if end > now.date():
        errors["actual_end"] = "The actual end cannot be in the future."
    elif project is not None and end < project.planned_start:
        errors["actual_end"] = ("The actual end cannot be before the project's start "
                                f"({project.planned_start.isoformat()}).")


def _team(session: Session, raw: list[Any], errors: dict[str, str]) -> list[str]:
    names = list(dict.fromkeys(str(u).strip() for u in raw if str(u).strip()))
    active = set(session.scalars(select(User.username).where(
        User.username.in_(names), User.active.is_(True)))) if names else set()
    unknown = [n for n in names if n not in active]
    if unknown:
        errors["lesson_team"] = f"Unknown or inactive user(s): {', '.join(unknown)}."
    return names


def _verdict(call: ServiceCall, allowed: tuple[str, ...], needs_comment: str
             ) -> tuple[str, str]:
    decision = str(call.params.get("decision") or "")
    comment = str(call.params.get("comment") or "").strip()
    if decision not in allowed:
        raise InvalidData({"decision": f"Choose one of: {', '.join(allowed)}."})
    if decision == needs_comment and not comment:
        raise InvalidData({"comment": "Say why (a comment is required)."})
    return decision, comment


def _record(call: ServiceCall, previous: str, decision: str, comment: str) -> dict[str, Any]:
    before = call.data.get(previous) or {}
    return {"decision": decision, "comment": comment, "by": call.actor,
            "at": call.now.isoformat(), "round": int(before.get("round") or 0) + 1}


def _project_id(call: ServiceCall) -> int:
    if call.project_id is not None:
        return call.project_id
    return int(call.data["closure"]["project_id"])


def _project(call: ServiceCall) -> records.ProjectView:
    return records.get_project(call.session, _project_id(call))


def _row_path(key: str, index: dict[str, str]) -> str:
    parts = key.split(".")
    if len(parts) > 2 and parts[0] == "edits" and parts[1] in index:
        parts[1] = index[parts[1]]
    return ".".join(parts)


def _money(value: records.Money | None) -> dict[str, list[str]] | str:
    """An amount as a note param (shown by currency and the reader's locale)."""
    return {"money": [str(value.amount), value.currency]} if value else "-"


def _holders(session: Session, role: str) -> list[str]:
    return list(session.scalars(select(UserRole.username).join(
        User, User.username == UserRole.username).where(
        UserRole.role_key == role, User.active.is_(True)).order_by(UserRole.username)))


OPERATIONS: tuple[tuple[str, Operation], ...] = (
    ("closure_start", start_closure),
    ("closure_record_sign_off", record_sign_off),
    ("closure_resubmit", resubmit),
    ("closure_record_variance", record_variance),
    ("closure_record_finance_check", record_finance_check),
    ("closure_open_window", open_window),
    ("closure_save_lesson", save_lesson),
    ("closure_lesson_missed", lesson_missed),
    ("closure_remind_member", remind_member),
    ("closure_load_lessons", load_lessons),
    ("closure_curate", curate),
    ("closure_archive", archive),
    ("closure_remind", remind),
    ("closure_escalate", escalate),
    ("closure_withdrawn", withdrawn),
)

ENTRY = CatalogEntry(key=KEY, bpmn="project_closure.bpmn", title_en="Project closure",
                     title_zh="结项与经验总结")
