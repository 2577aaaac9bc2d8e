"""Race stress: people acting on one instance at the same moment, over HTTP, hundreds of
times, on SQLite and PostgreSQL; the proof that PMOflow loses no work.

    python bench/race_stress.py [--rounds 100] [--sqlite-only] [--pg-only]
                                [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

For each database: a fresh schema, ``gunicorn 'pmoflow.app:create_app()'`` with two sync
workers and two ``pmoflow worker`` processes (timers), the people of the demo plus more
reviewers and writers, each with an API token.  Each round runs these races, every party
released by one barrier:

- ``claim``: ten reviewers claim one task (``POST /api/v1/tasks/{id}/claim``): exactly one
  200, nine 409, one ``claimed`` in the audit;
- ``siblings``: five people complete the five parallel branches of one request: all 200,
  the step after the join is open, every branch's data arrived;
- ``multi``: five people answer their part of one multi-instance sub-process: all 200, the
  next step is open, five answers collected in input order;
- ``closure``: the shipped closure process, sponsor and finance done, three team members
  send their lessons at once: all 200, curation is open, three lessons collected;
- ``claim_vs_complete``: one reviewer completes while another claims: one consistent
  outcome;
- ``timer``: a person completes a step just as its 1-second boundary timer comes due
  while the workers run: one path, never both, no failed job;
- ``kill``: after the rounds, 40 timers come due while the two workers run and one is
  killed with SIGKILL (and restarted) every few seconds: each fires exactly once.

Prints a table per database and last
``races=N lost=0 stranded=0 double_fired=0 server_errors=0``.  ``lost``: work a person
sent that is not there (or a sibling refused); ``stranded``: instances left running with
nothing open and nothing waiting; ``double_fired``: a timer that fired twice;
``server_errors``: HTTP 5xx answers.  Then ``pmoflow doctor``'s checks run over everything
the run made; the table's ``doctor`` column counts their findings (any is a failure).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench.http_bench import DEFAULT_PG, free_port, pg_schema  # noqa: E402
from engine import identity  # noqa: E402
from engine.api import Engine, EngineSettings, SourceFile  # noqa: E402
from engine.store.db import make_db_engine, make_sessionmaker  # noqa: E402
from engine.store.models import AuditEvent, HumanTask, Job, ProcessInstance  # noqa: E402
from engine.store.uow import unit_of_work  # noqa: E402
from workflows import records  # noqa: E402
from workflows.catalog import build_registry  # noqa: E402
from workflows.records.schema import upgrade_all  # noqa: E402
from workflows.roles import DEMO_USERS, ROLES  # noqa: E402

PROCESSES = ROOT / "tests" / "engine" / "processes"
BENCH = ROOT / "bench" / "processes"
BPMN = ROOT / "bpmn"
REVIEWERS = [f"reviewer{i}" for i in range(1, 11)]
WRITERS = [f"writer{i}" for i in range(1, 6)]


@dataclass
class Tally:
    """What the races found on one database."""

    races: int = 0
    lost: int = 0
    stranded: int = 0
    double_fired: int = 0
    server_errors: int = 0
    #: What ``pmoflow doctor`` finds at the end (stranded, rows out of step, failed jobs).
    doctor: int = 0
    per_race: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def lose(self, race: str, why: str) -> None:
        self.lost += 1
        if len(self.notes) < 20:
            self.notes.append(f"{race}: {why}")


class Api:
    """A JSON client with a bearer token (one connection per call: threads share it)."""

    def __init__(self, port: int, token: str, tally: Tally):
        self.port, self.token, self.tally = port, token, tally

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
            payload = None
            if body is not None:
                payload = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, payload, headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        if response.status >= 500:
            self.tally.server_errors += 1
        try:
            return response.status, json.loads(data) if data else None
        except ValueError:
            return response.status, None


def at_once(actions: list[Callable[[], Any]]) -> list[Any]:
    """Run the actions in threads released by one barrier; their results in order."""
    barrier = threading.Barrier(len(actions))
    out: list[Any] = [None] * len(actions)

    def run(i: int) -> None:
        barrier.wait()
        out[i] = actions[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


class World:
    """One database with its server, workers, people and tokens."""

    def __init__(self, url: str, home: Path, tally: Tally):
        self.url, self.home, self.tally = url, home, tally
        self.db = make_db_engine(url)
        upgrade_all(self.db)
        self.sessions = make_sessionmaker(self.db)
        self.engine = Engine(settings=EngineSettings(), services=build_registry())
        self.tokens: dict[str, str] = {}
        self._seed()
        self.port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "race-stress",
               "PMOFLOW_HOME": str(home), "PMOFLOW_SERVER_WORKER": "0",
               "PYTHONPATH": str(ROOT), "PMOFLOW_WORKER_POLL": "0.05",
               "PMOFLOW_RATE_LIMITS": "0"}
        self.env = env
        self.server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--log-level", "warning",
             "--bind", f"127.0.0.1:{self.port}", "pmoflow.app:create_app()"], cwd=ROOT, env=env)
        self.workers = [self._worker(), self._worker()]
        self._wait_for_server()

    # ----------------------------------------------------------------- set-up

    def _seed(self) -> None:
        now = self.engine.clock.now()
        with self.sessions() as s, unit_of_work(s):
            identity.ensure_roles(s, ROLES)
            for username, (name, roles) in DEMO_USERS.items():
                identity.create_user(s, username, now=now, display_name=name, roles=roles)
            for username in REVIEWERS[1:]:
                identity.create_user(s, username, now=now, roles=["pmo_reviewer"])
            for username in WRITERS:
                identity.create_user(s, username, now=now)
        with self.sessions() as s:
            forms = [SourceFile(f"forms/{p.name}", p.read_bytes())
                     for p in sorted((PROCESSES / "forms").glob("*.json"))]
            self.engine.deploy(s, [*_files(PROCESSES, "approval3.bpmn", "race_siblings.bpmn",
                                           "race_multi.bpmn"),
                                   *_files(BENCH, "race_timer_boundary.bpmn"), *forms],
                               "owner1")
            self.engine.deploy(s, _closure_files(), "owner1")
            for username in ["pm1", "pm2", "sponsor1", "finance1", "team1", "team2", "team3",
                             *REVIEWERS, *WRITERS]:
                self.tokens[username] = self.engine.create_token(s, username).secret

    def _worker(self) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "pmoflow.cli", "worker"], cwd=ROOT,
                                env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    def _wait_for_server(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/login")
                if conn.getresponse().status < 500:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not answer within 60 s")

    def api(self, username: str) -> Api:
        return Api(self.port, self.tokens[username], self.tally)

    def close(self) -> None:
        for proc in [self.server, *self.workers]:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.db.dispose()

    # ----------------------------------------------------------------- reads

    def open_tasks(self, instance_id: int) -> list[HumanTask]:
        with self.sessions() as s:
            return list(s.scalars(select(HumanTask).where(
                HumanTask.instance_id == instance_id, HumanTask.status == "open")
                .order_by(HumanTask.id)))

    def audit(self, instance_id: int, kind: str) -> list[AuditEvent]:
        with self.sessions() as s:
            return list(s.scalars(select(AuditEvent).where(
                AuditEvent.instance_id == instance_id, AuditEvent.kind == kind)))

    def start(self, key: str, actor: str, data: dict[str, Any]) -> int:
        with self.sessions() as s:
            return self.engine.start(s, key, actor, data).id

    def instance_data(self, instance_id: int) -> dict[str, Any]:
        with self.sessions() as s:
            return self.engine.instance_and_task_data(s, instance_id, None).data


def _files(folder: Path, *names: str) -> list[SourceFile]:
    return [SourceFile(n, (folder / n).read_bytes()) for n in names]


def _closure_files() -> list[SourceFile]:
    files = _files(BPMN, "project_closure.bpmn", "closure_cost_variance.dmn",
                   "closure_lesson_window.dmn")
    return files + [SourceFile(f"forms/{p.name}", p.read_bytes())
                    for p in sorted((BPMN / "forms").glob("project_closure-*.schema.json"))]


# --------------------------------------------------------------------------- races


def race_claim(w: World) -> None:
    iid = w.start("approval3", "pm1", {"title": "Claim race", "budget": 5})
    task = w.open_tasks(iid)[0].id
    results = at_once([lambda u=u: w.api(u).call("POST", f"/api/v1/tasks/{task}/claim")
                       for u in REVIEWERS])
    codes = Counter(code for code, _ in results)
    claimed = w.audit(iid, "claimed")
    if codes[200] != 1 or codes[409] != 9 or len(claimed) != 1:
        w.tally.lose("claim", f"answers {dict(codes)}, {len(claimed)} claimed in the audit")


def race_siblings(w: World) -> None:
    iid = w.start("race_siblings", "pm1", {})
    tasks = {t.element_id: t.id for t in w.open_tasks(iid)}
    results = at_once([
        lambda i=i: w.api(f"writer{i}").call("POST", f"/api/v1/tasks/{tasks[f'w{i}']}/complete",
                                             {f"part{i}": f"text {i}"})
        for i in range(1, 6)])
    refused = [code for code, _ in results if code != 200]
    if refused:
        w.tally.lose("siblings", f"answers {refused}")
    after = [t.element_id for t in w.open_tasks(iid)]
    data = w.instance_data(iid)
    if after != ["review"] or any(f"part{i}" not in data for i in range(1, 6)):
        w.tally.lose("siblings", f"after the join: open {after}, data keys {sorted(data)}")


def race_multi(w: World) -> None:
    iid = w.start("race_multi", "pm1", {"members": WRITERS})
    tasks = {t.assignee: t.id for t in w.open_tasks(iid)}
    results = at_once([lambda m=m: w.api(m).call("POST", f"/api/v1/tasks/{tasks[m]}/complete",
                                                 {"text": m}) for m in WRITERS])
    if any(code != 200 for code, _ in results):
        w.tally.lose("multi", f"answers {[c for c, _ in results]}")
    receipts = w.instance_data(iid).get("receipts")
    if [t.element_id for t in w.open_tasks(iid)] != ["collect"] or receipts != [
            {"member": m, "text": m} for m in WRITERS]:
        w.tally.lose("multi", f"collected {receipts}")


def race_closure(w: World) -> None:
    with w.sessions() as s, unit_of_work(s):
        now = w.engine.clock.now()
        project = records.propose_project(s, _proposal(), pm="pm1", now=now)
        project = records.approve_project(s, project.id, actor="pmohead", now=now)
        records.set_stage(s, project.id, "Executing", actor="pm1", now=now, reason="Start")
        identity.grant_project_role(s, project.id, "sponsor1", "sponsor")
        for member in ("team1", "team2", "team3"):
            identity.grant_project_role(s, project.id, member, "team")
    iid = w.start("project_closure", "pm1", {
        "project_id": project.id, "deliverables_accepted": True,
        "actual_cost": {"amount": "240000.00", "currency": "CNY"},
        "actual_end": "2026-02-27", "customer_satisfaction": 4, "open_items_count": 0,
        "lesson_team": ["team1", "team2", "team3"]})
    by_element = {t.element_id: t.id for t in w.open_tasks(iid) if t.assignee is None}
    w.api("sponsor1").call("POST", f"/api/v1/tasks/{by_element['sign_off']}/complete",
                           {"decision": "sign_off"})
    w.api("finance1").call("POST", f"/api/v1/tasks/{by_element['check_variance']}/complete",
                           {"decision": "accept"})
    lessons = {t.assignee: t.id for t in w.open_tasks(iid) if t.element_id == "write_lesson"}
    results = at_once([
        lambda m=m: w.api(m).call("POST", f"/api/v1/tasks/{lessons[m]}/complete",
                                  {"category": "supplier", "what_went_well": f"{m}: stand-ups"})
        for m in sorted(lessons)])
    if any(code != 200 for code, _ in results):
        w.tally.lose("closure", f"answers {[c for c, _ in results]}")
    after = [t.element_id for t in w.open_tasks(iid)]
    collected = w.instance_data(iid).get("collected_lessons") or []
    if after != ["curate"] or len(collected) != 3:
        w.tally.lose("closure", f"open {after}, {len(collected)} lessons collected")


def race_claim_vs_complete(w: World) -> None:
    iid = w.start("approval3", "pm2", {"title": "Claim or complete", "budget": 5})
    task = w.open_tasks(iid)[0].id
    done, claim = at_once([
        lambda: w.api("reviewer1").call("POST", f"/api/v1/tasks/{task}/complete",
                                        {"decision": "accept"}),
        lambda: w.api("reviewer2").call("POST", f"/api/v1/tasks/{task}/claim")])
    completed = len(w.audit(iid, "task_completed"))
    claimed = len(w.audit(iid, "claimed"))
    consistent = ((done[0] == 200 and claim[0] == 409 and completed == 1 and claimed == 0)
                  or (claim[0] == 200 and done[0] in (403, 409) and completed == 0
                      and claimed == 1))
    if not consistent:
        w.tally.lose("claim_vs_complete", f"complete {done[0]}, claim {claim[0]}, "
                     f"{completed} completed, {claimed} claimed")


def race_timer(w: World) -> None:
    iid = w.start("race_timer_boundary", "pm1", {})
    task = w.open_tasks(iid)[0].id
    time.sleep(1.0)  # the boundary timer comes due about now; the workers are polling
    code, _ = w.api("reviewer1").call("POST", f"/api/v1/tasks/{task}/complete", {})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        fired = w.audit(iid, "timer_fired")
        completed = w.audit(iid, "task_completed")
        open_now = [t.element_id for t in w.open_tasks(iid)]
        if (code == 200 and completed) or (fired and open_now == ["escalated"]):
            break
        time.sleep(0.1)
    with w.sessions() as s:
        jobs = list(s.scalars(select(Job).where(Job.instance_id == iid)))
    both = bool(completed) and bool(fired)
    if both or (code == 200) != bool(completed) or any(j.last_error for j in jobs):
        w.tally.lose("timer", f"complete {code}, {len(completed)} completed, "
                     f"{len(fired)} fired, jobs {[(j.status, j.last_error) for j in jobs]}")


def race_kill(w: World, timers: int = 40) -> None:
    ids = [w.start("race_timer_boundary", "pm1", {}) for _ in range(timers)]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(1.5)
        victim = w.workers[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        w.workers[0] = w._worker()
        w.workers.reverse()
        with w.sessions() as s:
            pending = s.scalar(select(func.count()).select_from(Job).where(
                Job.instance_id.in_(ids), Job.status == "pending"))
        if not pending:
            break
    w.tally.races += 1
    w.tally.per_race["kill"] += 1
    with w.sessions() as s:
        fired = Counter(e.instance_id for e in s.scalars(select(AuditEvent).where(
            AuditEvent.instance_id.in_(ids), AuditEvent.kind == "timer_fired")))
    unfired = [i for i in ids if fired[i] == 0]
    if unfired:  # a timer that never fired is lost work too
        w.tally.lose("kill", f"{len(unfired)} of {timers} timers never fired")


def _proposal() -> dict[str, Any]:
    return {"title": "Race closure", "business_case": "Stress", "strategic_objective": "Ops",
            "category": "it", "budget": {"amount": "250000.00", "currency": "CNY"},
            "planned_start": "2025-06-01", "planned_end": "2026-02-27",
            "sponsor": "sponsor1", "expected_roi_pct": "10", "risk_rating": "low",
            "departments": ["IT"], "headcount": 3}


RACES: dict[str, Callable[[World], None]] = {
    "claim": race_claim, "siblings": race_siblings, "multi": race_multi,
    "closure": race_closure, "claim_vs_complete": race_claim_vs_complete,
    "timer": race_timer,
}


def final_checks(w: World) -> None:
    """Stranded instances and timers that fired twice, over everything the run made."""
    with w.sessions() as s:
        fired = Counter(e.detail.get("job") for e in s.scalars(
            select(AuditEvent).where(AuditEvent.kind == "timer_fired")))
        w.tally.double_fired += sum(1 for n in fired.values() if n > 1)
        running = s.scalars(select(ProcessInstance.id).where(
            ProcessInstance.status == "running")).all()
        for iid in running:
            has_task = s.scalar(select(func.count()).select_from(HumanTask).where(
                HumanTask.instance_id == iid, HumanTask.status == "open"))
            has_job = s.scalar(select(func.count()).select_from(Job).where(
                Job.instance_id == iid, Job.status == "pending"))
            if not has_task and not has_job:
                w.tally.stranded += 1
    with w.sessions() as s:
        for f in w.engine.doctor(s, keep=False).findings:
            w.tally.doctor += 1
            if len(w.tally.notes) < 20:
                w.tally.notes.append(f"doctor: {f.code}: {f.message}")


def run_database(label: str, url: str, rounds: int) -> Tally:
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="pmoflow-race-") as home:
        world = World(url, Path(home), tally)
        try:
            for n in range(rounds):
                for name, race in RACES.items():
                    race(world)
                    tally.races += 1
                    tally.per_race[name] += 1
                if (n + 1) % 10 == 0:
                    print(f"  {label}: {n + 1}/{rounds} rounds, lost={tally.lost}, "
                          f"5xx={tally.server_errors}", flush=True)
            race_kill(world)
            time.sleep(2)
            final_checks(world)
        finally:
            world.close()
    return tally


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=100)
    p.add_argument("--sqlite-only", action="store_true")
    p.add_argument("--pg-only", action="store_true")
    p.add_argument("--pg-url", default=DEFAULT_PG)
    args = p.parse_args(argv)
    results: dict[str, Tally] = {}
    if not args.pg_only:
        with tempfile.TemporaryDirectory() as tmp:
            print("SQLite ...", flush=True)
            results["sqlite"] = run_database("sqlite", f"sqlite:///{tmp}/race.db", args.rounds)
    if not args.sqlite_only:
        made = pg_schema(args.pg_url)
        if isinstance(made, str):
            print(f"PostgreSQL not reachable: {made}")
        else:
            url, drop = made
            print("PostgreSQL ...", flush=True)
            try:
                results["postgres"] = run_database("postgres", url, args.rounds)
            finally:
                drop()
    print()
    print(f"{'database':10} {'races':>6} {'lost':>5} {'stranded':>9} {'double':>7} {'5xx':>5} "
          f"{'doctor':>7}")
    for label, t in results.items():
        print(f"{label:10} {t.races:6} {t.lost:5} {t.stranded:9} {t.double_fired:7} "
              f"{t.server_errors:5} {t.doctor:7}")
        for note in t.notes:
            print(f"    {note}")
    total = Tally()
    for t in results.values():
        total.races += t.races
        total.lost += t.lost
        total.stranded += t.stranded
        total.double_fired += t.double_fired
        total.server_errors += t.server_errors
        total.doctor += t.doctor
    print(f"doctor findings at the end (pmoflow doctor): {total.doctor}")
    print(f"races={total.races} lost={total.lost} stranded={total.stranded} "
          f"double_fired={total.double_fired} server_errors={total.server_errors}")
    bad = (total.lost or total.stranded or total.double_fired or total.server_errors
           or total.doctor)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
