"""Glue of the three-level risk review (三级评审, ``bpmn/risk_review.bpmn``).

A PM raises a risk on a running project they manage (only its PM: a PMO member who raised
one would then be barred from their own level-2 review).  The PMO's table
``risk_scoring`` gives score, level and how many levels review it; ``risk_review_sla``
gives each level's SLA and, for urgent risks, the decision window (48 hours) after which
the steering committee decides.  Level 1 is the project's sponsor (project-scoped role),
level 2 the PMO head (a PMO reviewer acts for them by delegation, recorded on behalf),
level 3 one member of the steering committee recording the committee's decision.  The
diagram keeps the review's state in ``review`` (what the operations here return) and
branches on ``review["level"]``, ``review["next"]`` (``review`` / ``revise`` /
``decided``: from the table's ``levels_required``, raised by escalations) and
``review["clock"]`` (the table's decision window).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from engine import identity
from engine.errors import InvalidData, NotFound
from engine.services import Operation, ServiceCall
from engine.working_days import sla_due
from workflows import records
from workflows.catalog import CatalogEntry
from workflows.records.vocab import ACTIVE_STAGES, TOP_REVIEW_LEVEL

ENTRY = CatalogEntry(key="risk_review", bpmn="risk_review.bpmn",
                     title_en="Three-level risk review", title_zh="三级评审")

#: Review level -> (role of its task, its key in the table risk_review_sla, step name).
LEVELS = {1: ("sponsor", "sponsor", "sponsor review"), 2: ("pmo_head", "pmo", "PMO review"),
          3: ("steering", "steering", "steering committee decision")}
RISK_FIELDS = ("title", "description", "category", "probability", "impact", "response",
               "contingency", "owner", "urgent")
#: Who is told when a level's review is overdue (level 3 has no level above it).
TOLD_WHEN_LATE = {1: 2, 2: 3, 3: 2}
#: The register has no column for an urgent risk's immediate action: it is kept as the
#: last paragraph of the description, after this mark.
ACTION_MARK = "\n\n[Immediate action] "


# --------------------------------------------------------------------------- raise


def risk_check(call: ServiceCall) -> dict[str, Any]:
    """Check the start form against the records and bind the instance to the project.

    The project must exist and be running (Initiation, Executing, Closing) and the starter
    must be its PM; the owner must be an active user; an urgent risk says what was done.
    The project's named sponsor is given the project-scoped ``sponsor`` role if they lack
    it, so that level 1 always has its reviewer.
    """
    data = call.data
    project = _project(call, data.get("project_id"))
    _check_owner(call, data.get("owner"))
    if data.get("urgent") and not str(data.get("immediate_action") or "").strip():
        raise InvalidData({"immediate_action": "Say what you already did about the risk."})
    call.bind_project(project.id)
    call.describe(business_key=project.code)
    if not identity.holds_role_for(call.session, project.sponsor, "sponsor", project.id):
        identity.grant_project_role(call.session, project.id, project.sponsor, "sponsor")
        call.note("%(sponsor)s made sponsor of %(code)s (as registered).",
                  sponsor={"user": project.sponsor}, code=project.code)
    return {"id": project.id, "code": project.code, "title": project.title,
            "label": f"{project.code} {project.title}", "pm": project.pm,
            "sponsor": project.sponsor}


def _project(call: ServiceCall, project_id: Any) -> records.ProjectView:
    try:
        project = records.get_project(call.session, int(project_id))
    except (NotFound, TypeError, ValueError):
        raise InvalidData({"project_id": f"No project with id {project_id}."}) from None
    name = project.code or f"Project {project.id}"
    if project.stage not in ACTIVE_STAGES:
        raise InvalidData({"project_id": f"{name} is {project.stage}; risks are raised on "
                           "approved, running projects."})
    if project.pm != call.actor:
        raise InvalidData({"project_id": f"You are not the PM of {name} ({project.pm} is); "
                           "its PM raises its risks."})
    return project


def _check_owner(call: ServiceCall, owner: Any) -> None:
    if not isinstance(owner, str) or not identity.is_active_user(call.session, owner):
        raise InvalidData({"owner": f"No active user named {owner!r}."})


def risk_register(call: ServiceCall) -> dict[str, Any]:
    """Enter the scored risk in the register (or the PM's revision) and open a level.

    First time: ``raise_risk`` and level 1, with the decision window starting now.  After a
    send-back: ``revise_risk`` (scored again) and the level that sent it back; levels added
    by an escalation stay required whatever the new score.
    """
    data = call.data
    _check_owner(call, data.get("owner"))
    scoring = {"score": data.get("score"), "level": data.get("risk_level"),
               "levels_required": data.get("levels_required")}
    payload = {k: data.get(k) for k in RISK_FIELDS}
    if data.get("urgent"):
        payload["description"] = (f"{data.get('description') or ''}{ACTION_MARK}"
                                  f"{str(data.get('immediate_action') or '').strip()}")
    if data.get("review"):
        return _revise(call, dict(data["review"]), payload, scoring)
    risk = records.raise_risk(call.session, data["project"]["id"], payload, actor=call.actor,
                              now=call.now, instance_id=call.instance_id, **scoring)
    hours = int(data.get("decision_hours") or 0)
    review = {"risk_id": risk.id, "level": 1, "clock": hours > 0, "forced_top": False,
              "deadline": _iso(call.now + timedelta(hours=hours)) if hours else None,
              "reviewer": None, "outcome": None, "comment": ""}
    call.note("Risk %(id)s raised: score %(score)s, %(level)s, %(n)s level(s).", id=risk.id,
              score=risk.score, level={"text": risk.level}, n=risk.levels_required)
    _tell(call, [risk.owner], "You own a new risk: %(title)s",
          "%(code)s, score %(score)s (%(level)s).", _facts(risk))
    return _open_level(call, review, risk)


def _revise(call: ServiceCall, review: dict[str, Any], payload: dict[str, Any],
            scoring: dict[str, Any]) -> dict[str, Any]:
    kept = _escalated_levels(records.get_risk(call.session, review["risk_id"]), review)
    scoring["levels_required"] = max(int(scoring["levels_required"] or 1), kept)
    risk = records.revise_risk(call.session, review["risk_id"], payload, actor=call.actor,
                               now=call.now, **scoring)
    call.note("Risk %(id)s revised: score %(score)s, %(level)s; back to level %(n)s.",
              id=risk.id, score=risk.score, level={"text": risk.level}, n=review["level"])
    return _open_level(call, review, risk)


def _escalated_levels(risk: records.RiskView, review: dict[str, Any]) -> int:
    """Levels that reviewers' escalations (or the decision window) made necessary."""
    if review.get("forced_top"):
        return TOP_REVIEW_LEVEL
    return max([r.level + 1 for r in risk.reviews if r.outcome == "escalate"], default=1)


# --------------------------------------------------------------------------- review


def risk_record_review(call: ServiceCall) -> dict[str, Any]:
    """Record one level's verdict and say where the review goes next.

    approve: the next level if the risk needs it, else decided; escalate: the next level
    (the register raises ``levels_required``); send back: the PM revises.
    """
    review = dict(call.data["review"])
    level = int(review["level"])
    decision = str(call.params.get("decision") or "")
    comment = str(call.params.get("comment") or "").strip()
    allowed = ("approve", "send_back") + (("escalate",) if level < TOP_REVIEW_LEVEL else ())
    if decision not in allowed:
        raise InvalidData({"decision": f"Choose one of: {', '.join(allowed)}."})
    if decision != "approve" and not comment:
        raise InvalidData({"comment": "This field is required."})
    risk = records.record_risk_review(call.session, review["risk_id"], level=level,
                                      reviewer=call.actor, outcome=decision, comment=comment,
                                      now=call.now)
    review.update(reviewer=call.actor, outcome=decision, comment=comment)
    call.note("Level %(n)s (%(what)s): %(decision)s by %(who)s.", n=level,
              what={"text": LEVELS[level][2]}, decision={"text": decision},
              who={"user": call.actor})
    if decision == "send_back":  # the PM has as long as a level-1 review
        return _step(call, review, risk, "revise", LEVELS[1][1])
    if level < risk.levels_required:
        review["level"] = level + 1
        return _open_level(call, review, risk)
    return _step(call, review, risk, "decided", None)


def risk_escalate_top(call: ServiceCall) -> dict[str, Any]:
    """The decision window passed without a decision: the steering committee decides."""
    review = dict(call.data["review"])
    risk = records.escalate_risk(call.session, review["risk_id"], to_level=TOP_REVIEW_LEVEL,
                                 now=call.now)
    review.update(level=TOP_REVIEW_LEVEL, clock=False, forced_top=True)
    call.note("No decision by %(deadline)s: risk %(id)s goes to the steering committee.",
              deadline={"at": review["deadline"]}, id=risk.id)
    _tell(call, [risk.raised_by, risk.owner, *_holders(call, 2, risk)],
          "No decision in time on an urgent risk: %(title)s",
          "%(code)s: no level decided by %(deadline)s; the steering committee now decides.",
          {**_facts(risk), "deadline": {"at": review["deadline"]}}, kind="escalation")
    return _open_level(call, review, risk)


def risk_remind(call: ServiceCall) -> None:
    """An SLA timer fired: remind whoever holds the step; after a second period, tell the
    next level (or, for the PM's revision, the reviewer who sent it back)."""
    review = call.data["review"]
    risk = records.get_risk(call.session, review["risk_id"])
    level = int(review["level"])
    late = call.now >= datetime.fromisoformat(review["overdue"])
    revising = review.get("next") == "revise"
    step = "revision of" if revising else f"level-{level} {LEVELS[level][2]} of"
    facts = {**_facts(risk), "step": {"text": step}, "due": {"at": review["due"]}}
    if not late:
        people = [risk.raised_by] if revising else _holders(call, level, risk)
        _tell(call, people, "Reminder: %(step)s risk '%(title)s' is due",
              "%(code)s, %(level)s risk; due %(due)s.", facts, kind="reminder")
    else:
        people = ([review["reviewer"], *_holders(call, 2, risk)] if revising
                  else _holders(call, TOLD_WHEN_LATE[level], risk))
        _tell(call, people, "Overdue: %(step)s risk '%(title)s'",
              "%(code)s: due %(due)s; the work goes on.", facts, kind="overdue")


# --------------------------------------------------------------------------- result


def risk_decide(call: ServiceCall) -> dict[str, Any]:
    """Enter the decision in the register (status accepted); tell the PM and the owner."""
    review = call.data["review"]
    risk = records.get_risk(call.session, review["risk_id"])
    decision = "Response plan approved" + (f": {review['comment']}" if review["comment"] else ".")
    if review.get("forced_top"):
        decision += " (Steering committee: no level decided within the decision window.)"
    risk = records.decide_risk(call.session, risk.id, decision=decision,
                               decided_by=review["reviewer"], level=int(review["level"]),
                               response_plan=f"{risk.response}: {risk.contingency}",
                               now=call.now)
    _tell(call, [risk.raised_by, risk.owner], "Risk decided: %(title)s",
          "%(code)s: %(decision)s Decided by %(who)s at level %(n)s.",
          {**_facts(risk), "decision": {"sentence": decision}, "who": {"user": risk.decided_by},
           "n": risk.decision_level}, kind="decision")
    call.note("Risk %(id)s accepted at level %(n)s by %(who)s.", id=risk.id,
              n=risk.decision_level, who={"user": risk.decided_by})
    return records.to_json(risk)


def risk_withdrawn(call: ServiceCall) -> None:
    """The PM withdrew the instance (``onCancel``): close the risk with the reason."""
    review = call.data.get("review") or {}
    if not review.get("risk_id"):
        return
    risk = records.close_risk(call.session, review["risk_id"], actor=call.actor, now=call.now,
                              reason=f"Withdrawn by {call.actor}: {call.params['reason']}")
    call.note("Risk %(id)s closed (withdrawn).", id=risk.id)


# --------------------------------------------------------------------------- helpers


def _open_level(call: ServiceCall, review: dict[str, Any], risk: records.RiskView
                ) -> dict[str, Any]:
    """Route to ``review["level"]``: its SLA, reminder times, and a notice to its holders."""
    level = int(review["level"])
    _step(call, review, risk, "review", LEVELS[level][1])
    _tell(call, _holders(call, level, risk),
          "Risk for your %(what)s (level %(n)s): %(title)s",
          "%(code)s: score %(score)s (%(level)s); due %(due)s.",
          {**_facts(risk), "what": {"text": LEVELS[level][2]}, "n": level,
           "due": {"at": review["due"]}})
    return review


def _step(call: ServiceCall, review: dict[str, Any], risk: records.RiskView, step: str,
          sla_key: str | None) -> dict[str, Any]:
    """Set where the review goes next; a step that waits on a person gets its deadlines."""
    review.update(_deadlines(call, sla_key) if sla_key else {}, next=step,
                  trail=_trail(risk), levels_required=risk.levels_required)
    return review


def _deadlines(call: ServiceCall, sla_key: str) -> dict[str, str]:
    """Due time (the step's SLA), overdue time (a second period) and the reminder cycle."""
    sla = call.data["review_sla"][sla_key]
    calendar = call.calendar or ()
    due = sla_due(call.now, sla, calendar)
    overdue = sla_due(due, sla, calendar)
    seconds = int((overdue - due).total_seconds())
    return {"due": _iso(due), "overdue": _iso(overdue),
            "remind_cycle": f"R2/{_iso(due)}/PT{seconds}S"}


def _holders(call: ServiceCall, level: int, risk: records.RiskView) -> list[str]:
    """Who reviews at ``level``: the project's sponsor, the PMO heads, the committee."""
    if level == 1:
        people = [records.get_project(call.session, risk.project_id).sponsor]
    else:
        role = LEVELS[level][0]
        people = identity.holders_anywhere(call.session, role)
    return [p for p in people if p != risk.raised_by]


def _facts(risk: records.RiskView) -> dict[str, Any]:
    """Message params every risk notice uses (``title``/``body`` are message ids)."""
    return {"title": risk.title, "code": risk.project_code, "score": risk.score,
            "level": {"text": risk.level}}


def _tell(call: ServiceCall, people: list[str | None], title: str, body: str,
          params: dict[str, Any], *, kind: str = "risk") -> None:
    wanted = list(dict.fromkeys(p for p in people if p and p != call.actor))
    if wanted:  # named: its raiser, its owner and its reviewers (need-to-know)
        call.notify(wanted, title, body, kind=kind, params=params, named=True)
        call.note("Told %(people)s: %(what)s", people={"users": wanted},
                  what={"msg": [title, params]})


def _trail(risk: records.RiskView) -> str:
    return "\n".join(f"Level {r.level}, {r.reviewer}, {r.at:%Y-%m-%d %H:%M} UTC: {r.outcome}"
                     + (f": {r.comment}" if r.comment else "") for r in risk.reviews)


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


OPERATIONS: tuple[tuple[str, Operation], ...] = (
    ("risk_check", risk_check),
    ("risk_register", risk_register),
    ("risk_record_review", risk_record_review),
    ("risk_escalate_top", risk_escalate_top),
    ("risk_remind", risk_remind),
    ("risk_decide", risk_decide),
    ("risk_withdrawn", risk_withdrawn),
)


# --------------------------------------------------------------------------- demo data

#: (project title, risk title, category, P, I, response, contingency, (score, level,
#: levels) as the default table risk_scoring gives them; a test keeps them in step).
DEMO_RISKS = (
    ("Customer portal relaunch", "Licence fees in USD rise with the exchange rate",
     "currency", 3, 2, "accept", "A 5% reserve in the budget covers the licence fees.",
     (6, "low", 1)),
    ("Warehouse automation", "Conveyor supplier shared with two other projects", "supplier",
     4, 3, "mitigate", "Pre-qualify a second supplier; keep three weeks of float before "
     "installation.", (12, "medium", 2)),
    ("Data centre migration", "Floor load of the new server hall not verified", "technical",
     3, 5, "mitigate", "Structural survey before the racks are ordered; spread the load "
     "with floor plates.", (15, "high", 3)),
)
DEMO_REVIEWERS = {2: "pmohead", 3: "steer1"}  # level 1 is each project's sponsor


def seed_demo(bpm: Any, session: Session, now: datetime) -> None:
    """Decided demo risks on the demo projects, straight through the records.

    Projects that do not exist (or are not running) are skipped, and so is a risk whose
    title the project already has: running it again changes nothing.  Commits.
    """
    from engine.store.uow import unit_of_work

    del bpm  # the records need no engine; the hook's signature is shared
    with unit_of_work(session):
        for spec in DEMO_RISKS:
            found, _ = records.list_projects(session, q=spec[0])
            project = next((x for x in found
                            if x.title == spec[0] and x.stage in ACTIVE_STAGES), None)
            if project is not None and not any(r.title == spec[1] for r in records.list_risks(
                    session, project_id=project.id, limit=500)[0]):
                _seed_risk(session, project, spec, now)


def _seed_risk(session: Session, project: records.ProjectView, spec: tuple, now: datetime
               ) -> None:
    _project_title, title, category, p, i, response, plan, (score, level, levels) = spec
    data = {"title": title, "description": f"{title} (demo data).", "category": category,
            "probability": p, "impact": i, "response": response, "contingency": plan,
            "owner": project.pm, "urgent": False}
    risk = records.raise_risk(session, project.id, data, actor=project.pm, now=now,
                              score=score, level=level, levels_required=levels)
    reviewers = {1: project.sponsor, **DEMO_REVIEWERS}
    for n in range(1, levels + 1):
        records.record_risk_review(session, risk.id, level=n, reviewer=reviewers[n],
                                   outcome="approve", now=now)
    records.decide_risk(session, risk.id, decision="Response plan approved.",
                        decided_by=reviewers[levels], level=levels,
                        response_plan=f"{response}: {plan}", now=now)
