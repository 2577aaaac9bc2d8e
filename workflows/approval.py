"""Glue of the project approval process (立项审批, ``bpmn/project_approval.bpmn``).

Every operation takes a :class:`~engine.services.ServiceCall`, writes PMO records through
:mod:`workflows.records` in the step's transaction and returns task-data JSON.  Who must
approve comes from the decision table ``approval_routing`` (``bpmn/approval_routing.dmn``);
how the parallel reviews combine is :func:`combine_reviews`.  Cycle time: a project's
stage history (``records.stage_history``) holds the submission (``from_stage`` None, at,
by) and the decision (Initiation or Rejected, at, by, reason); ``approved_at`` is on the
project itself.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import identity
from engine.errors import InvalidData
from engine.services import Operation, ServiceCall
from engine.store.models import HumanTask, User
from workflows import records
from workflows.catalog import CatalogEntry

KEY = "project_approval"
PROPOSAL_FIELDS = (
    "title", "business_case", "strategic_objective", "category", "budget",
    "planned_start", "planned_end", "sponsor", "expected_roi_pct", "risk_rating",
    "departments", "headcount",
)
#: Roles the diagram has a review branch for (the table may route to these only).
REVIEW_ROLES = ("pmo_head", "finance", "steering")
#: Review SLA when the table matched no rule and the PMO head reviews by default.
DEFAULT_SLA_DAYS = 3
OUTCOMES = ("approve", "reject", "changes")


def _proposal(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in PROPOSAL_FIELDS if k in data}


def _rate_note(view: records.ProjectView) -> dict[str, Any]:
    """The budget (and its reporting-currency value) as a note param (``{"msg": ...}``);
    amounts as ``{"money": [amount, currency]}``, shown by currency and the reader's
    locale."""
    money, rep = view.budget, view.budget_reporting
    if money.currency == rep.currency:
        return {"msg": ["budget %(amount)s", {"amount": _money(money)}]}
    return {"msg": ["budget %(amount)s = %(rep_amount)s at the planning rate %(rate)s "
                    "%(rep_currency)s/%(currency)s",
                    {"amount": _money(money), "rep_amount": _money(rep),
                     "currency": money.currency, "rep_currency": rep.currency,
                     "rate": records.RATES[money.currency]}]}


def _money(value: records.Money) -> dict[str, list[str]]:
    return {"money": [str(value.amount), value.currency]}


def record_proposal(call: ServiceCall) -> dict[str, Any]:
    """Record the proposal (stage Proposed), bind the instance, make the sponsor sponsor."""
    pm = call.data.get("initiator") or call.actor
    view = records.propose_project(call.session, _proposal(call.data), pm=pm, now=call.now,
                                   instance_id=call.instance_id)
    call.bind_project(view.id)
    call.describe(title=view.title)
    identity.grant_project_role(call.session, view.id, view.sponsor, "sponsor")
    call.note("Proposal #%(id)s recorded (Proposed) by %(pm)s; %(budget)s; %(sponsor)s is its "
              "sponsor.", id=view.id, pm={"user": pm}, budget=_rate_note(view),
              sponsor={"user": view.sponsor})
    call.notify([view.sponsor], "You are the sponsor of the proposal '%(title)s'",
                "%(pm)s named you sponsor; the PMO reviews it now.",
                params={"title": view.title, "pm": {"user": pm}})
    return records.to_json(view)


def update_proposal(call: ServiceCall) -> dict[str, Any]:
    """Write the revised proposal to the record; move the sponsor role if it changed."""
    project_id = call.data["project"]["id"]
    before = records.get_project(call.session, project_id)
    view = records.update_proposal(call.session, project_id, _proposal(call.data),
                                   actor=call.actor, now=call.now)
    note = "Proposal revised by %(who)s; %(budget)s."
    if view.sponsor != before.sponsor:
        identity.revoke_project_role(call.session, project_id, before.sponsor, "sponsor")
        identity.grant_project_role(call.session, project_id, view.sponsor, "sponsor")
        note += " Sponsor changed from %(before)s to %(after)s."
    call.note(note, who={"user": call.actor}, budget=_rate_note(view),
              before={"user": before.sponsor}, after={"user": view.sponsor})
    return records.to_json(view)


def record_routing(call: ServiceCall) -> dict[str, Any]:
    """Check and keep the ``approval_routing`` result: roles, SLA days, escalation targets.

    No matching rule sends the proposal to the PMO head (the diagram's default flow); a
    role without a review branch in the diagram is refused so nothing is approved
    unreviewed.  Two rules for one role: the first wins.
    """
    approvers = [a for a in call.params.get("approvers") or [] if isinstance(a, dict)]
    unknown = sorted({str(a.get("role")) for a in approvers} - set(REVIEW_ROLES))
    if unknown:
        raise InvalidData({"decision": (
            f"The approval rules route to {', '.join(map(repr, unknown))}, which this "
            "process has no review step for; ask the PMO administrator to correct the "
            "approval_routing table.")})
    previous = int((call.data.get("routing") or {}).get("round", 0))
    routing: dict[str, Any] = {"roles": [], "sla_days": {}, "escalate_to": {}, "reviews": {},
                               "default": not approvers, "round": previous + 1}
    for a in approvers or [{"role": "pmo_head"}]:
        role = a["role"]
        if role in routing["roles"]:
            continue
        routing["roles"].append(role)
        routing["sla_days"][role] = max(1, int(a.get("sla_days") or DEFAULT_SLA_DAYS))
        routing["escalate_to"][role] = str(a.get("escalate_to") or "pmo_head")
    shown = [[r, routing["sla_days"][r]] for r in routing["roles"]]
    call.note(("No routing rule matched: the PMO head reviews. " if not approvers else "")
              + "Round %(round)s: routed to %(routes)s.", round=routing["round"],
              routes={"routes": shown})
    return routing


def _with_review(routing: dict[str, Any], review: dict[str, Any]) -> dict[str, Any]:
    """The round's routing with one more decision in ``reviews``.

    Each parallel branch returns the routing with only its own decision added; the join
    deep-merges the branches, so ``reviews`` ends up holding every decision of the round
    (a new round starts from a fresh routing, so nothing of an earlier round survives).
    """
    return {**routing, "reviews": {**routing.get("reviews", {}), review["role"]: review}}


def record_review(call: ServiceCall) -> dict[str, Any]:
    """One approver's decision (who, when, outcome, reason), kept in the round's routing."""
    p = call.params
    review = {"role": p["role"], "decision": p["decision"], "comment": p.get("comment") or "",
              "by": call.actor, "label": f"{call.actor} ({p['role']})",
              "at": call.now.isoformat()}
    call.note("%(role)s review by %(who)s: %(decision)s"
              + (" (%(comment)s)" if review["comment"] else ""), role={"role": p["role"]},
              who={"user": call.actor}, decision={"text": p["decision"]},
              comment=review["comment"])
    return _with_review(p["routing"], review)


def committee_outcome(ballots: list[dict[str, Any]], seats: int = 3) -> str:
    """A majority of the seats approves or rejects; anything else asks for changes."""
    majority = seats // 2 + 1
    for outcome in ("approve", "reject"):
        if sum(1 for b in ballots if b.get("decision") == outcome) >= majority:
            return outcome
    return "changes"


def record_committee(call: ServiceCall) -> dict[str, Any]:
    """The steering committee's decision from its votes (2 of 3 decide).

    The decision is the committee's (``by`` is ``committee:steering``), not the member
    whose vote settled it; ``votes`` names each member with their vote and comment.
    """
    ballots = [b for b in call.params.get("votes") or [] if isinstance(b, dict)]
    seats = int(call.params.get("seats") or 3)
    outcome = committee_outcome(ballots, seats)
    votes = _named_votes(call.session, call.instance_id, "steering_vote", seats, ballots,
                         call.actor)
    voters = sorted({v["by"] for v in votes})
    reasons = "; ".join(b["comment"] for b in ballots
                        if b.get("decision") == outcome and b.get("comment"))
    tally = ", ".join(f"{o} {sum(b.get('decision') == o for b in ballots)}" for o in OUTCOMES)
    call.note("Steering committee: %(outcome)s (%(tally)s; voters %(voters)s).",
              outcome={"text": outcome}, tally=tally, voters={"users": voters})
    return _with_review(call.params["routing"], {
        "role": "steering", "decision": outcome, "comment": reasons, "by": COMMITTEE,
        "label": f"steering committee ({', '.join(voters)})", "voters": voters,
        "at": call.now.isoformat(), "votes": votes})


#: Who decided, when the steering committee did (the stage history shows the committee).
COMMITTEE = "committee:steering"


def _named_votes(session: Session, instance_id: int | None, element: str, seats: int,
                 ballots: list[dict[str, Any]], actor: str) -> list[dict[str, Any]]:
    """Each vote of this round with who cast it: the completed vote tasks (who, for whom,
    decision, comment), then the vote being completed now (``actor``'s: the ballot no
    completed task accounts for)."""
    rows = session.execute(select(HumanTask.status, HumanTask.completed_by,
                                  HumanTask.on_behalf_of, HumanTask.outcome,
                                  HumanTask.comment).where(
        HumanTask.instance_id == instance_id, HumanTask.element_id == element)
        .order_by(HumanTask.id.desc()).limit(seats)).all()
    left = list(ballots)
    votes = []
    for status, by, behalf, decision, comment in reversed(rows):
        if status != "completed" or not by:
            continue
        votes.append({"by": by, "on_behalf_of": behalf, "decision": decision or "",
                      "comment": comment or ""})
        for i, b in enumerate(left):
            if b.get("decision") == decision and (b.get("comment") or "") == (comment or ""):
                del left[i]
                break
    if left:
        votes.append({"by": actor, "on_behalf_of": None,
                      "decision": str(left[0].get("decision") or ""),
                      "comment": str(left[0].get("comment") or "")})
    return votes


def combine_reviews(call: ServiceCall) -> dict[str, Any]:
    """Any reject: rejected; else any change request: changes; all approve: approved.

    The reviews of one round all finish first (the inclusive join), so the PM gets every
    approver's feedback at once.
    """
    routing = call.params["routing"]
    done = routing.get("reviews", {})
    missing = [role for role in routing["roles"] if role not in done]
    if missing:  # cannot happen: the join waits for every routed review
        raise InvalidData({"decision": f"No decision from {', '.join(missing)} yet."})
    reviews = [done[role] for role in routing["roles"]]
    result, hits = "approved", reviews
    for outcome, name in (("changes", "changes"), ("reject", "rejected")):
        found = [r for r in reviews if r["decision"] == outcome]
        if found:
            result, hits = name, found
    reason = "; ".join(f"{r['label']}: {r['comment']}" if r["comment"] else r["label"]
                       for r in hits)
    call.note("Reviews combined: %(result)s - %(reason)s", result={"text": result},
              reason={"reviews": hits})
    # The committee decides when it is among the deciding reviews (its votes are kept).
    deciding = next((r for r in hits if r.get("by") == COMMITTEE), hits[0])
    return {"result": result, "reason": reason, "decided_by": deciding["by"],
            "votes": deciding.get("votes") or [], "reviews": reviews}


def register_project(call: ServiceCall) -> dict[str, Any]:
    """Approve: the project gets its code and stage Initiation; PM and sponsor are told."""
    result = call.data.get("review_result") or {}
    committee = result.get("decided_by") == COMMITTEE
    view = records.approve_project(call.session, call.data["project"]["id"],
                                   actor=COMMITTEE if committee else call.actor, now=call.now,
                                   votes=result.get("votes") if committee else None)
    reason = result.get("reason", "")
    call.describe(business_key=view.code)
    reviews = (call.data.get("review_result") or {}).get("reviews")
    call.note("Registered as %(code)s (Initiation); approved by %(reason)s.", code=view.code,
              reason={"reviews": reviews} if reviews else reason)
    call.notify([view.pm, view.sponsor], "Project approved: %(code)s %(title)s",
                "Your proposal is approved and registered as %(code)s. Record the "
                "kick-off when it has taken place.", kind="approved",
                params={"code": view.code, "title": view.title})
    return records.to_json(view)


def reject_proposal(call: ServiceCall) -> dict[str, Any]:
    """Reject: stage Rejected with the reason; the PM (and sponsor) are told why."""
    reason = str(call.params.get("reason") or "").strip()
    by = str(call.params.get("decided_by") or call.actor)
    votes = (call.data.get("review_result") or {}).get("votes") if by == COMMITTEE else None
    view = records.reject_project(call.session, call.data["project"]["id"], actor=by,
                                  now=call.now, reason=reason, votes=votes)
    who: dict[str, Any] = ({"msg": ["the steering committee", {}]} if by == COMMITTEE
                           else {"user": by})
    call.note("Rejected by %(by)s: %(reason)s", by=who, reason=reason)
    call.notify([view.pm, view.sponsor], "Proposal rejected: %(title)s",
                "Rejected by %(by)s. Reason: %(reason)s", kind="rejected",
                params={"title": view.title, "by": who, "reason": reason})
    return records.to_json(view)


def start_execution(call: ServiceCall) -> dict[str, Any]:
    """The PM recorded the kick-off: the project moves to Executing."""
    project = records.get_project(call.session, call.data["project"]["id"])
    raw = call.params.get("kickoff_date")
    try:
        day = date.fromisoformat(str(raw))
    except ValueError:
        raise InvalidData({"kickoff_date": "Must be a date (YYYY-MM-DD)."}) from None
    if day > call.now.date():
        raise InvalidData({"kickoff_date": "The kick-off cannot be in the future."})
    if project.approved_at and day < project.approved_at.date():
        raise InvalidData({"kickoff_date": "The kick-off cannot be before the approval "
                                           f"({project.approved_at.date().isoformat()})."})
    view = records.set_stage(call.session, project.id, "Executing", actor=call.actor,
                             now=call.now, reason=f"Kick-off on {day.isoformat()}")
    call.note("%(code)s kicked off on %(day)s: Executing.", code=view.code,
              day={"date": day.isoformat()})
    call.notify([view.sponsor], "%(code)s is executing", "Kick-off on %(day)s.",
                params={"code": view.code, "day": {"date": day.isoformat()}})
    return records.to_json(view)


def remind(call: ServiceCall) -> None:
    """SLA reached: remind who holds the step (claimants; for unclaimed seats the role's
    holders who have not acted yet, never the submitter)."""
    role, element = call.params["role"], call.params["element"]
    seats = int(call.params.get("seats") or 1)
    claimed, unclaimed = _open_tasks(call.session, call.instance_id, element)
    people = set(claimed)
    if unclaimed:
        done = _voters(call.session, call.instance_id, element, seats)
        people |= {u for u in _holders(call.session, role)
                   if u not in done and u != call.data.get("initiator")}
    step, title = call.params.get("step", element), call.data.get("title", "")
    call.notify(sorted(people), "Reminder: %(step)s of '%(title)s' is due",
                "The %(step)s of '%(title)s' has reached its SLA.", kind="reminder",
                params={"step": {"text": step}, "title": title})
    call.note("SLA reached on %(step)s: reminded %(people)s.", step={"text": step},
              people={"users": sorted(people)})


def escalate(call: ServiceCall) -> None:
    """A second period passed: tell the next level (a role's holders, or one person)."""
    target = str(call.params.get("to") or "pmo_head")
    people = _holders(call.session, target) or (
        [target] if _active_user(call.session, target) else _holders(call.session, "pmo_head"))
    title, step = call.data.get("title", ""), call.params.get("step", "review")
    call.notify(people, "Escalation: %(step)s of '%(title)s' is overdue",
                "The %(step)s of '%(title)s' is past its SLA twice over; please follow up.",
                kind="escalation", params={"step": {"text": step}, "title": title})
    call.note("%(step)s overdue: escalated to %(target)s (%(people)s).", step={"text": step},
              target={"role": target}, people={"users": people})


def withdrawn(call: ServiceCall) -> None:
    """``onCancel``: the request was withdrawn or cancelled; the project is Withdrawn."""
    project = call.data.get("project") or {}
    if not project.get("id"):
        return
    reason = f"{call.params.get('status')}: {call.params.get('reason')}"
    view = records.withdraw_project(call.session, project["id"], actor=call.actor,
                                    now=call.now, reason=reason)
    call.note("Project #%(id)s Withdrawn (%(reason)s).", id=view.id, reason=reason)
    call.notify([view.sponsor], "Proposal withdrawn: %(title)s", "%(reason)s", kind="withdrawn",
                params={"title": view.title, "reason": reason})


# --------------------------------------------------------------------------- demo data

#: (title, PM, stage, category, budget CNY, risk) of the demo portfolio.
DEMO_PROJECTS = (
    ("Warehouse automation", "pm1", "Executing", "operations", "850000.00", "medium"),
    ("Customer portal relaunch", "pm2", "Executing", "it", "420000.00", "low"),
    ("Data centre migration", "pm1", "Initiation", "it", "1600000.00", "high"),
)
DEMO_SPONSOR = "sponsor1"
DEMO_TEAM = ("team1", "team2", "team3")


def seed_demo(bpm: Any, session: Session, now: datetime) -> None:
    """Three demo projects straight through the records (two Executing, one Initiation).

    sponsor1 sponsors all three and team1..team3 are their team; skipped for a title
    that already exists, so running it again changes nothing.  Commits.
    """
    from engine.store.uow import unit_of_work

    del bpm  # the records need no engine; the hook's signature is shared
    with unit_of_work(session):
        for title, pm, stage, category, amount, risk in DEMO_PROJECTS:
            found, _ = records.list_projects(session, q=title)
            if any(p.title == title for p in found):
                continue
            data = {"title": title, "business_case": f"{title}: demo project.",
                    "strategic_objective": "Operational excellence", "category": category,
                    "budget": {"amount": amount, "currency": "CNY"},
                    "planned_start": now.date().isoformat(), "planned_end": f"{now.year + 1}-06-30",
                    "sponsor": DEMO_SPONSOR, "expected_roi_pct": "12", "risk_rating": risk,
                    "departments": ["IT", "Operations"], "headcount": 8}
            view = records.propose_project(session, data, pm=pm, now=now)
            records.approve_project(session, view.id, actor="pmohead", now=now)
            if stage == "Executing":
                records.set_stage(session, view.id, "Executing", actor=pm, now=now,
                                  reason="Kick-off (demo data)")
            identity.grant_project_role(session, view.id, DEMO_SPONSOR, "sponsor")
            for member in DEMO_TEAM:
                identity.grant_project_role(session, view.id, member, "team")


# --------------------------------------------------------------------------- look-ups


def _holders(session: Session, role: str) -> list[str]:
    return identity.holders(session, role)


def _active_user(session: Session, username: str) -> bool:
    return session.scalar(select(User.id).where(
        User.username == username, User.active.is_(True))) is not None


def _open_tasks(session: Session, instance_id: int, element: str) -> tuple[list[str], int]:
    """Claimants of the element's open tasks, and how many are unclaimed."""
    rows = list(session.scalars(select(HumanTask.assignee).where(
        HumanTask.instance_id == instance_id, HumanTask.element_id == element,
        HumanTask.status == "open")))
    return sorted({r for r in rows if r}), sum(1 for r in rows if not r)


def _voters(session: Session, instance_id: int, element: str, seats: int) -> set[str]:
    """Who completed one of the newest ``seats`` tasks of the element (this activation)."""
    rows = session.execute(select(HumanTask.status, HumanTask.completed_by,
                                  HumanTask.on_behalf_of).where(
        HumanTask.instance_id == instance_id, HumanTask.element_id == element)
        .order_by(HumanTask.id.desc()).limit(seats))
    return {who for status, *pair in rows if status == "completed" for who in pair if who}


OPERATIONS: tuple[tuple[str, Operation], ...] = (
    ("approval_record_proposal", record_proposal),
    ("approval_update_proposal", update_proposal),
    ("approval_record_routing", record_routing),
    ("approval_record_review", record_review),
    ("approval_record_committee", record_committee),
    ("approval_combine_reviews", combine_reviews),
    ("approval_register_project", register_project),
    ("approval_reject_proposal", reject_proposal),
    ("approval_start_execution", start_execution),
    ("approval_remind", remind),
    ("approval_escalate", escalate),
    ("approval_withdrawn", withdrawn),
)

ENTRY = CatalogEntry(key=KEY, bpmn="project_approval.bpmn", title_en="Project approval",
                     title_zh="立项审批")
