"""``pmoflow demo --year``: a year of PMO work simulated through the real engine.

The simulation runs the four shipped processes with a moved clock that ends at the
install's "now": proposals of every size and category arrive through the months, people
of each role take their time to act (longer early in the year, shorter later: the PMO's
approval cycle falls from about 45 days toward 20), the job runner fires the SLA
reminders, urgent-risk windows and lesson windows as the clock passes them, and every
step is an ordinary engine verb (start, complete, fire_due_jobs) that writes the same
rows the web app writes.  A seeded :class:`random.Random` makes every choice, so the same
seed gives the same counts.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import identity
from engine.api import Engine
from engine.clock import ManualClock
from engine.errors import EngineError, InvalidData
from engine.store.models import (
    DecisionDefinition,
    HumanTask,
    ProcessDefinition,
    ProcessInstance,
    User,
)
from engine.store.uow import unit_of_work
from workflows import records
from workflows.records import pages as pmo_pages
from workflows.records.models import Lesson, Project
from workflows.roles import DEMO_USERS

DAY = 86400.0
#: Requests that arrive per simulated month (a few hundred in a year).
PER_MONTH = {"project_approval": 18, "risk_review": 8, "escalation": 5}
#: People the demo year adds to the demo users (more PMs, sponsors and reviewers).
EXTRA_USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pm3": ("Ahmed Karim (PM)", ("pm",)),
    "pm4": ("Julia Santos (PM)", ("pm",)),
    "sponsor2": ("Huang Lei (Sponsor)", ("sponsor",)),
    "sponsor3": ("Peter Olsen (Sponsor)", ("sponsor",)),
    "reviewer2": ("Mei Tanaka (PMO reviewer)", ("pmo_reviewer",)),
    "finance2": ("Lucas Meyer (Finance)", ("finance",)),
}
PMS = ("pm1", "pm2", "pm3", "pm4")
SPONSORS = ("sponsor1", "sponsor2", "sponsor3")
TEAM = ("team1", "team2", "team3")
#: Mean calendar days a person of each step waits before acting, at the start of the year.
WAIT_DAYS = {
    "check": 10.5, "review_pmo_head": 13.0, "review_finance": 17.0, "steering_vote": 20.0,
    "revise": 6.0, "kickoff": 3.0,
    "sponsor_review": 3.0, "pmo_review": 2.5, "steering_review": 4.0,
    "triage": 2.0, "head_triage": 1.5, "steer": 5.0, "guidance": 2.0, "confirm": 3.0,
    "sign_off": 6.0, "check_variance": 5.0, "explain": 3.0, "fix": 5.0,
    "write_lesson": 3.0, "curate": 4.0,
}
#: How much faster everyone acts by the end of the simulated span (1.0 = no change).
END_FACTOR = 0.38
#: Days simulated before the year starts, so its first month already has work in flight.
WARMUP_DAYS = 60
CATEGORIES = ("it", "construction", "rnd", "compliance", "operations", "marketing", "other")
TITLES = {
    "it": ("CRM replacement", "Data warehouse", "Intranet search", "ERP upgrade",
           "Cloud migration", "Service desk tooling"),
    "construction": ("Tower site", "Substation refit", "Warehouse extension",
                     "Office fit-out", "Bridge inspection"),
    "rnd": ("Battery pilot", "Sensor prototype", "Materials study", "AI triage pilot"),
    "compliance": ("GDPR audit", "ISO 27001 renewal", "Export control review",
                   "Cybersecurity law gap fix"),
    "operations": ("Fleet renewal", "Shift planning", "Spare parts pooling",
                   "Call centre merge"),
    "marketing": ("Brand refresh", "Trade fair 2027", "Loyalty programme", "Web shop"),
    "other": ("Canteen tender", "Archive digitisation", "Mentoring scheme"),
}
RISK_CATEGORIES = ("technical", "schedule", "cost", "supplier", "compliance", "currency",
                   "cultural", "resource", "scope", "other")
RISK_TITLES = {
    "technical": "Integration fails under load", "schedule": "Permit arrives late",
    "cost": "Steel price rises", "supplier": "Only one certified supplier",
    "compliance": "New data-export rule", "currency": "USD contract exposure",
    "cultural": "Two teams, two ways of working", "resource": "Key engineer may leave",
    "scope": "Customer keeps adding reports", "other": "Office move during go-live",
}
ISSUES = ("Shared crane", "Test lab slot", "Vendor delay", "Budget freeze", "Scope dispute")
ESCALATION_KINDS = ("resource_conflict", "priority_conflict", "vendor", "budget", "scope")
LESSON_CATEGORIES = ("technical", "schedule", "cost", "supplier", "resource", "scope",
                     "stakeholder", "communication", "quality", "process")


@dataclass
class DemoYearResult:
    """What a demo year did: requests started per process, steps completed, timers fired."""

    seed: int
    months: int
    start: datetime
    end: datetime
    started: dict[str, int] = field(default_factory=dict)
    completed_tasks: int = 0
    jobs_fired: int = 0
    refused_actions: int = 0
    #: Why actions were refused: (step, error code) -> how often.
    refusals: Counter[tuple[str, str]] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        """Requests started, all processes together."""
        return sum(self.started.values())


def real_work(session: Session, demo_install: bool) -> str | None:
    """Why this database must not get a demo year (None when it may): it already holds
    process instances, or projects of people who are not demo users, or any project at
    all when it is not a demo install (``pmoflow init --demo``)."""
    demo_people = set(DEMO_USERS) | set(EXTRA_USERS)
    instances = session.scalar(select(func.count()).select_from(ProcessInstance)) or 0
    q = select(func.count()).select_from(Project)
    if demo_install:
        q = q.where(Project.pm.not_in(sorted(demo_people)))
    outsiders = session.scalar(q) or 0
    session.rollback()
    if outsiders:
        return (f"the database holds {outsiders} project(s) of people who are not demo users "
                "(real work)" if demo_install else f"the database holds {outsiders} "
                "project(s) and is not a demo install (real work)")
    if instances:
        return f"the database already holds {instances} process instance(s)"
    return None


def ensure_people(session: Session, now: datetime, password: str | None) -> None:
    """The demo year's extra people (same password as the demo users; None: none)."""
    with unit_of_work(session):
        known = set(session.scalars(select(User.username)))
        for username, (name, roles) in EXTRA_USERS.items():
            if username not in known:
                identity.create_user(session, username, now=now, password=password,
                                     display_name=name, roles=list(roles))


def backdate_definitions(session: Session, start: datetime) -> int:
    """Let the deployed processes and decision tables take effect from ``start`` (the
    first simulated day): a demo year starts its requests on them a year back.  Only
    called on a database without instances.  Returns how many versions moved."""
    moved = 0
    with unit_of_work(session):
        for model in (ProcessDefinition, DecisionDefinition):
            for row in session.scalars(select(model).where(model.effective_from > start)):
                row.effective_from = start
                row.deployed_at = min(row.deployed_at, start)
                moved += 1
    return moved


class _Sim:
    """The event loop: arrivals and people's actions in time order, the job runner
    firing whatever falls due between them."""

    def __init__(self, bpm: Engine, clock: ManualClock, session: Session, rng: random.Random,
                 start: datetime, end: datetime, result: DemoYearResult,
                 progress: Callable[[float, str], None]):
        self.bpm, self.clock, self.session, self.rng = bpm, clock, session, rng
        self.start, self.end, self.result, self.progress = start, end, result, progress
        self.queue: list[tuple[datetime, int, str, Any]] = []
        self.seq = 0
        self.seen: set[int] = set()
        self.rounds: Counter[int] = Counter()  # rework rounds per instance
        self.proposals: dict[int, dict[str, Any]] = {}  # instance -> proposal data
        self.risks: dict[int, dict[str, Any]] = {}  # instance -> risk data
        self.closure_planned: set[int] = set()  # project ids
        self.holders: dict[str, list[str]] = {}
        self.year_start = end - timedelta(days=30.44 * result.months)
        #: Who reads which lesson: its own generator, so the year's other choices (and
        #: counts) stay what the seed gave them before lessons were read.
        self.reading = random.Random(rng.getstate()[1][0])

    # ------------------------------------------------------------------ time

    def factor(self, when: datetime) -> float:
        """How slowly people act at ``when``: 1.0 until the year starts, END_FACTOR at
        the end."""
        span = (self.end - self.year_start).total_seconds() or 1.0
        frac = min(1.0, max(0.0, (when - self.year_start).total_seconds() / span))
        return 1.0 - (1.0 - END_FACTOR) * frac

    def office(self, when: datetime) -> datetime:
        """``when`` moved into office hours (Mon-Fri 08:00-18:00 UTC)."""
        if when.hour < 8:
            when = when.replace(hour=8) + timedelta(minutes=self.rng.randint(0, 90))
        elif when.hour >= 18:
            when = (when + timedelta(days=1)).replace(hour=8) + timedelta(
                minutes=self.rng.randint(0, 120))
        while when.weekday() >= 5:
            when += timedelta(days=1)
        return when

    def push(self, when: datetime, kind: str, payload: Any) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (when, self.seq, kind, payload))

    # ------------------------------------------------------------------ the loop

    def schedule_arrivals(self) -> None:
        months = math.ceil((self.end - self.start).total_seconds() / DAY / 30.44)
        for m in range(months):
            month_start = self.start + timedelta(days=30.44 * m)
            for key, n in PER_MONTH.items():
                count = max(1, round(n * self.rng.uniform(0.8, 1.2)))
                for _ in range(count):
                    at = month_start + timedelta(days=self.rng.uniform(0, 30.44))
                    if at < self.end:
                        self.push(self.office(at), "start", key)

    def run(self) -> None:
        self.schedule_arrivals()
        span = (self.end - self.start).total_seconds()
        last_shown = -1
        while self.queue and self.queue[0][0] < self.end:
            when, _, kind, payload = heapq.heappop(self.queue)
            self.move_to(when)
            if kind == "start":
                self.start_request(payload)
            elif kind == "close":
                self.start_closure(payload)
            else:
                self.complete(payload)
            self.scan()
            shown = int(100 * (when - self.start).total_seconds() / span)
            if shown != last_shown:
                last_shown = shown
                self.progress(shown / 100, f"{when:%Y-%m-%d}  {self.result.requests} requests")
        self.move_to(self.end)
        self.progress(1.0, f"{self.end:%Y-%m-%d}  {self.result.requests} requests")

    def move_to(self, when: datetime) -> None:
        if when > self.clock.now():
            self.clock.set(when)
        while True:
            report = self.bpm.fire_due_jobs(self.session)
            self.result.jobs_fired += report.fired
            if report.fired + report.failed < 100:
                break

    def scan(self) -> None:
        """Schedule the action of every open task not yet seen."""
        rows = self.session.execute(
            select(HumanTask.id, HumanTask.element_id).where(HumanTask.status == "open")
            .order_by(HumanTask.id)).all()
        self.session.rollback()
        now = self.clock.now()
        for task_id, element in rows:
            if task_id in self.seen:
                continue
            self.seen.add(task_id)
            mean = WAIT_DAYS.get(element, 3.0) * self.factor(now)
            days = self.rng.gammavariate(2.0, mean / 2.0)
            self.push(self.office(now + timedelta(days=days)), "task", task_id)

    # ------------------------------------------------------------------ starting

    def start_request(self, key: str) -> None:
        try:
            if key == "project_approval":
                pm = self.rng.choice(PMS)
                data = self.proposal()
                self.read_lessons(pm, data["category"])
                view = self.bpm.start(self.session, key, pm, data)
                self.proposals[view.id] = data
            elif key == "risk_review":
                project = self.running_project()
                if project is None:
                    return
                data = self.risk(project)
                view = self.bpm.start(self.session, key, project.pm, data)
                self.risks[view.id] = data
            else:
                project = self.running_project()
                if project is None:
                    return
                view = self.bpm.start(self.session, key, project.pm, self.issue(project))
        except EngineError as exc:
            self.result.refused_actions += 1
            self.result.refusals[(key, exc.code)] += 1
            self.session.rollback()
            return
        self.result.started[key] = self.result.started.get(key, 0) + 1

    def read_lessons(self, pm: str, category: str) -> None:
        """Before proposing, the PM opens some of the lessons the proposal form shows for
        the category, and now and then one more from the library."""
        shown = pmo_pages.lessons_by_project_category(self.session, [category]).get(
            category, [])
        chosen = [lesson.id for lesson in shown if self.reading.random() < 0.45]
        if self.reading.random() < 0.3:
            other = self.session.scalars(select(Lesson.id).where(
                Lesson.published.is_(True), Lesson.merged_into_id.is_(None))
                .order_by(Lesson.id)).all()
            if other:
                chosen.append(self.reading.choice(other))
        self.session.rollback()
        if not chosen:
            return
        with unit_of_work(self.session) as work:
            for lesson_id in chosen:
                records.record_read(work, lesson_id, pm, self.clock.now())

    def start_closure(self, project_id: int) -> None:
        project = self.session.get(Project, project_id)
        if project is None or project.stage not in ("Initiation", "Executing"):
            self.session.rollback()
            return
        pm, budget = project.pm, project.budget_reporting
        self.session.rollback()
        ratio = self.rng.choice((0.82, 0.9, 0.95, 0.98, 1.0, 1.04, 1.08, 1.15, 1.25, 1.4))
        cost = (budget * _dec(ratio)).quantize(_dec(0.01))
        team = self.rng.sample(TEAM, self.rng.randint(0, 3))
        accepted = self.rng.random() > 0.1
        open_items = self.rng.choice((0, 0, 0, 1, 3))
        data = {"project_id": project_id, "deliverables_accepted": accepted,
                "actual_cost": {"amount": str(cost), "currency": "CNY"},
                "actual_end": self.clock.now().date().isoformat(),
                "customer_satisfaction": self.rng.randint(2, 5),
                "open_items_count": open_items, "lesson_team": team}
        if not accepted:
            data["deliverables_notes"] = "The final report is still missing."
        if open_items:
            data["open_items_note"] = "Warranty fixes handed to operations."
        try:
            self.bpm.start(self.session, "project_closure", pm, data, title="Closure")
        except EngineError as exc:
            self.result.refused_actions += 1
            self.result.refusals[("project_closure", exc.code)] += 1
            self.session.rollback()
            return
        self.result.started["project_closure"] = self.result.started.get(
            "project_closure", 0) + 1

    def running_project(self) -> Project | None:
        rows = list(self.session.scalars(select(Project).where(
            Project.stage.in_(("Initiation", "Executing"))).order_by(Project.id)))
        self.session.rollback()
        return self.rng.choice(rows) if rows else None

    def proposal(self) -> dict[str, Any]:
        rng = self.rng
        category = rng.choice(CATEGORIES)
        amount = math.exp(rng.uniform(math.log(20_000), math.log(4_000_000)))
        currency = "USD" if rng.random() < 0.1 else "CNY"
        if currency == "USD":
            amount /= 7.2
        start = self.clock.now().date() + timedelta(days=rng.randint(20, 60))
        n = rng.randint(1, 999)
        return {
            "title": f"{rng.choice(TITLES[category])} {n}",
            "business_case": "Demo year: a simulated proposal.",
            "strategic_objective": rng.choice(("Customer retention", "Cost reduction",
                                               "Compliance", "Growth")),
            "category": category,
            "budget": {"amount": f"{amount:.2f}", "currency": currency},
            "planned_start": start.isoformat(),
            "planned_end": (start + timedelta(days=rng.randint(90, 400))).isoformat(),
            "sponsor": rng.choice(SPONSORS),
            "expected_roi_pct": round(rng.uniform(2, 40), 1),
            "risk_rating": rng.choices(("low", "medium", "high"), (5, 3, 1))[0],
            "departments": rng.sample(["IT", "Sales", "Operations", "Finance", "HR"],
                                      rng.choices((1, 2, 3), (6, 3, 1))[0]),
            "headcount": rng.randint(2, 40),
        }

    def risk(self, project: Project) -> dict[str, Any]:
        rng = self.rng
        category = rng.choice(RISK_CATEGORIES)
        urgent = rng.random() < 0.12
        data = {"project_id": project.id, "title": RISK_TITLES[category],
                "description": "Demo year: a simulated risk.", "category": category,
                "probability": rng.randint(1, 5), "impact": rng.randint(1, 5),
                "response": rng.choice(("avoid", "mitigate", "transfer", "accept")),
                "contingency": "Fallback plan agreed with the team.",
                "owner": project.pm, "urgent": urgent}
        if urgent:
            data["immediate_action"] = "Stopped the affected work until decided."
        return data

    def issue(self, project: Project) -> dict[str, Any]:
        rng = self.rng
        others = [p.id for p in self.session.scalars(select(Project).where(
            Project.stage.in_(("Initiation", "Executing")), Project.id != project.id)
            .order_by(Project.id))]
        self.session.rollback()
        affected = rng.sample(others, min(len(others), rng.choice((0, 1, 1, 2))))
        return {"project_id": project.id, "affected_project_ids": affected,
                "title": f"{rng.choice(ISSUES)} on {project.code or project.title}",
                "description": "Demo year: a simulated escalation.",
                "kind": rng.choice(ESCALATION_KINDS),
                "severity": rng.choices(("low", "medium", "high", "critical"), (2, 4, 3, 1))[0],
                "tried": "Talked to the other project managers; no agreement.",
                "needed_by": (self.clock.now().date() + timedelta(days=rng.randint(5, 30))
                              ).isoformat()}

    # ------------------------------------------------------------------ acting

    def complete(self, task_id: int) -> None:
        task = self.session.get(HumanTask, task_id)
        if task is None or task.status != "open":
            self.session.rollback()
            return
        element, role, assignee = task.element_id, task.role, task.assignee
        instance_id, project_id, key = task.instance_id, task.project_id, task.process_key
        starter = self.session.scalar(select(ProcessInstance.started_by).where(
            ProcessInstance.id == instance_id))
        self.session.rollback()
        people = [assignee] if assignee else self.candidates(role, project_id, starter)
        code = "nobody"
        for safe in (False, True):
            data = self.form(key, element, instance_id, project_id, safe)
            for who in people:
                try:
                    self.bpm.complete(self.session, task_id, who, data)
                except InvalidData as exc:
                    self.session.rollback()
                    code = "invalid: " + ", ".join(sorted(exc.errors))
                    break  # try the safe answer
                except EngineError as exc:
                    self.session.rollback()
                    code = exc.code
                    continue  # someone else (four eyes, one vote each)
                self.result.completed_tasks += 1
                self.after(key, element, instance_id, project_id, data)
                return
            else:
                break
        self.result.refused_actions += 1
        self.result.refusals[(element, code)] += 1

    def candidates(self, role: str | None, project_id: int | None, starter: str | None
                   ) -> list[str]:
        if role == "sponsor" and project_id is not None:
            project = self.session.get(Project, project_id)
            found = [project.sponsor] if project is not None else []
            self.session.rollback()
            return found
        if role not in self.holders:
            self.holders[role or ""] = sorted(identity.holders(self.session, role)) if role \
                else []
            self.session.rollback()
        people = [p for p in self.holders[role or ""] if p != starter]
        self.rng.shuffle(people)
        return people

    def after(self, key: str, element: str, instance_id: int, project_id: int | None,
              data: dict[str, Any]) -> None:
        """Plan the closure of a project that has just kicked off."""
        if key == "project_approval" and element == "kickoff" and project_id is not None \
                and project_id not in self.closure_planned and self.rng.random() < 0.8:
            self.closure_planned.add(project_id)
            at = self.clock.now() + timedelta(days=self.rng.uniform(40, 200))
            if at < self.end:
                self.push(self.office(at), "close", project_id)

    def pick(self, options: tuple[tuple[str, float], ...], instance_id: int) -> str:
        """A decision; past two rounds of rework people stop sending work back."""
        if self.rounds[instance_id] >= 2:
            options = tuple(o for o in options if o[0] not in ("rework", "changes",
                                                               "send_back", "reopen",
                                                               "ask_again", "refuse")) \
                or options
        names, weights = zip(*options, strict=True)
        return self.rng.choices(names, weights)[0]

    def form(self, key: str, element: str, instance_id: int, project_id: int | None,
             safe: bool) -> dict[str, Any]:
        """What the person answers at this step."""
        rng, comment = self.rng, "Demo year: see the attached notes."
        late = self.factor(self.clock.now()) < 0.7  # better proposals later in the year
        if key == "project_approval":
            if element == "check":
                d = "accept" if safe else self.pick(
                    (("accept", 80 if late else 68), ("rework", 12 if late else 26),
                     ("reject", 4)), instance_id)
                if d == "rework":
                    self.rounds[instance_id] += 1
                return {"decision": d, "charter_complete": True, "plan_attached": True,
                        "budget_broken_down": True,
                        **({"comment": "Please add the WBS."} if d != "accept" else {})}
            if element in ("review_pmo_head", "review_finance", "steering_vote"):
                d = "approve" if safe else self.pick(
                    (("approve", 78), ("changes", 12 if late else 18), ("reject", 8)),
                    instance_id)
                if d == "changes":
                    self.rounds[instance_id] += 1
                return {"decision": d, **({"comment": comment} if d != "approve" else {})}
            if element == "revise":
                data = dict(self.proposals.get(instance_id) or self.proposal())
                return data
            if element == "kickoff":
                return {"kickoff_date": self.clock.now().date().isoformat()}
        if key == "risk_review":
            if element == "revise":
                data = {k: v for k, v in (self.risks.get(instance_id) or {}).items()
                        if k not in ("project_id", "urgent", "immediate_action")}
                if data:
                    data["impact"] = max(1, int(data["impact"]) - 1)
                return data
            options: tuple[tuple[str, float], ...] = (("approve", 80), ("send_back", 12))
            if element != "steering_review":
                options += (("escalate", 6),)
            d = "approve" if safe else self.pick(options, instance_id)
            if d == "send_back":
                self.rounds[instance_id] += 1
            return {"decision": d, "comment": comment}
        if key == "escalation":
            if element in ("triage", "head_triage"):
                d = "resolve" if safe else rng.choices(("resolve", "hand_back", "escalate"),
                                                       (55, 25, 20))[0]
                return {"decision": d, "comment": "Agreed a split of the shared resource."}
            if element == "steer":
                d = "resolve" if safe else rng.choices(("resolve", "hand_back"), (75, 25))[0]
                return {"decision": d, "comment": "Portfolio priority decided."}
            d = ("accept" if element == "guidance" else "resolved") if safe else \
                self.pick((("accept" if element == "guidance" else "resolved", 85),
                           ("reopen", 15)), instance_id)
            if d == "reopen":
                self.rounds[instance_id] += 1
            return {"decision": d, "comment": "Done; thanks."}
        if key == "project_closure":
            if element == "sign_off":
                d = "sign_off" if safe else self.pick((("sign_off", 85), ("refuse", 15)),
                                                      instance_id)
                if d == "refuse":
                    self.rounds[instance_id] += 1
                return {"decision": d, "comment": "Two reports are still missing."}
            if element == "fix":
                return {"fix_notes": "Delivered the missing reports."}
            if element == "explain":
                return {"variance_explanation": "Supplier day rates rose in the last quarter."}
            if element == "check_variance":
                d = "accept" if safe else self.pick((("accept", 80), ("ask_again", 20)),
                                                    instance_id)
                if d == "ask_again":
                    self.rounds[instance_id] += 1
                return {"decision": d, "comment": "Which contract clause allowed it?"}
            if element == "write_lesson":
                category = rng.choice(LESSON_CATEGORIES)
                return {"title": f"Lesson on {category}", "category": category,
                        "tags": [category],
                        "what_went_well": "Weekly check-ins with the sponsor.",
                        "what_did_not": "Late involvement of the supplier.",
                        "recommendation": "Book the supplier's experts at kick-off."}
            if element == "curate":
                found, _ = records.list_lessons(self.session, project_id=project_id)
                self.session.rollback()
                ids = [lesson.id for lesson in found if not lesson.published]
                return {"publish_ids": ids[: max(1, len(ids) - 1)] if ids else []}
        return {}


def _dec(value: float) -> Any:
    from decimal import Decimal

    return Decimal(str(value))


def span_start(end: datetime, months: int, warmup_days: int = WARMUP_DAYS) -> datetime:
    """The first simulated moment (09:00 UTC): ``months`` months and a warm-up before
    ``end``."""
    days = round(30.44 * months) + warmup_days
    return (end.astimezone(UTC) - timedelta(days=days)).replace(
        hour=9, minute=0, second=0, microsecond=0)


def run(bpm: Engine, session: Session, *, end: datetime, months: int = 12, seed: int = 1,
        warmup_days: int = WARMUP_DAYS,
        progress: Callable[[float, str], None] = lambda frac, text: None) -> DemoYearResult:
    """Simulate ``months`` months ending at ``end`` (after ``warmup_days`` of warm-up)
    through a copy of ``bpm`` whose clock starts that much earlier; return what was
    done.  The deployed versions must be in effect from :func:`span_start`."""
    if not 1 <= months <= 24:
        raise ValueError(f"--months {months}: choose 1 to 24")
    began = time.monotonic()
    end = end.astimezone(UTC)
    start = span_start(end, months, warmup_days)
    clock = ManualClock(start)
    sim_engine = Engine(clock=clock, settings=bpm.settings, services=bpm.services)
    result = DemoYearResult(seed=seed, months=months, start=start, end=end)
    sim = _Sim(sim_engine, clock, session, random.Random(seed), start, end, result, progress)
    sim.run()
    result.seconds = time.monotonic() - began
    return result
