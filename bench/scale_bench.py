"""Inbox, badge and dashboard queries on a big install (issues 14 and 16).

```
.venv/bin/python bench/scale_bench.py                # builds pmoflow_scale first if missing
.venv/bin/python bench/scale_bench.py --rebuild      # generate the data again (~4 min)
.venv/bin/python bench/scale_bench.py --quick        # fewer rounds
```

The data: ``bench/scale_data.py`` (1,000,000 instances, 100,000 open tasks in PostgreSQL,
a schema kept between runs).  Each query runs through the engine's own functions (what a
page calls), each round in a fresh session (no per-transaction cache carried over), and
prints p50/p95 beside its goal: inbox queries p95 <= 20 ms, each dashboard figure p95 <=
200 ms (default filters: the twelve months up to today).  Last line:

    inbox_p95_ms=X dashboard_p95_ms=Y

X is the worst p95 of the inbox rows (lists and badges), Y the worst dashboard figure.
Timings on a shared machine are noisy; the machine's load is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import scale_data  # noqa: E402  (bench/ is the script's folder)
from sqlalchemy import func, select, text  # noqa: E402

INBOX_GOAL_MS = 20.0
DASHBOARD_GOAL_MS = 200.0


@dataclasses.dataclass
class Row:
    """One measured query."""

    name: str
    group: str  # inbox | dashboard | other
    times: list[float]

    def pct(self, p: float) -> float:
        ordered = sorted(self.times)  # nearest rank
        return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]

    @property
    def goal(self) -> float | None:
        return {"inbox": INBOX_GOAL_MS, "dashboard": DASHBOARD_GOAL_MS}.get(self.group)


def measure(rows: list[Row], name: str, group: str, sessions: Any, fn: Callable[[Any], Any],
            rounds: int) -> None:
    """Run ``fn(session)`` ``rounds`` times (one uncounted warm-up), each in a new session."""
    times = []
    for i in range(rounds + 1):
        with sessions() as session:
            t = time.perf_counter()
            fn(session)
            elapsed = (time.perf_counter() - t) * 1000
            session.rollback()
        if i:
            times.append(elapsed)
    row = Row(name, group, times)
    rows.append(row)
    print(f"  {name:<58} p50 {statistics.median(times):9.2f} ms  p95 {row.pct(95):9.2f} ms",
          flush=True)


def busiest(session: Any, column: Any) -> str:
    from engine.store.models import HumanTask

    return session.execute(
        select(column).where(HumanTask.status == "open", column.is_not(None))
        .group_by(column).order_by(func.count().desc()).limit(1)).scalar_one()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pg-url", default=os.environ.get("PMOFLOW_TEST_PG", scale_data.DEFAULT_PG))
    p.add_argument("--schema", default=scale_data.DEFAULT_SCHEMA)
    p.add_argument("--rebuild", action="store_true")
    p.add_argument("--quick", action="store_true", help="fewer rounds")
    p.add_argument("--rounds", type=int, default=40, help="rounds per inbox query")
    p.add_argument("--dashboard-rounds", type=int, default=10, help="rounds per figure")
    p.add_argument("--only", choices=("inbox", "dashboard"), help="one group")
    p.add_argument("--instances", type=int, default=1_000_000, help="when generating")
    p.add_argument("--open-tasks", type=int, default=100_000, help="when generating")
    p.add_argument("--people", type=int, default=1000, help="when generating")
    p.add_argument("--drop", action="store_true", help="drop the schema afterwards")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.dashboard_rounds = 10, 3
    url = scale_data.ensure(args.pg_url, args.schema, rebuild=args.rebuild,
                            instances=args.instances, open_tasks=args.open_tasks,
                            people=args.people)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "scale-bench")

    from engine import identity, pages, tasks
    from engine.store.models import HumanTask
    from engine.tasks import TaskQuery
    from pmoflow.config import Config
    from pmoflow.wiring import build
    from workflows import insight

    rt = build(Config.from_env())
    eng, sessions = rt.engine, rt.sessions
    load_before = os.getloadavg()[0]
    with sessions() as s:
        size = s.execute(text(
            "SELECT (SELECT count(*) FROM process_instances), "
            "(SELECT count(*) FROM human_tasks WHERE status = 'open')")).one()
        mine_user = busiest(s, HumanTask.assignee)
        indexes = s.scalar(text("SELECT version_num FROM alembic_version"))
    print(f"data: {size[0]:,} instances, {size[1]:,} open tasks (schema {args.schema}, "
          f"engine migrations at {indexes})", flush=True)
    fields = {f.name for f in dataclasses.fields(TaskQuery)}
    capped = {"count_limit": 1000} if "count_limit" in fields else {}

    def inbox(user: str, scope: str, page: int = 1) -> Callable[[Any], Any]:
        def run(session: Any) -> Any:
            return eng.tasks(session, user, TaskQuery(scope=scope, limit=25,
                                                      offset=(page - 1) * 25, **capped))
        return run

    def keyset(user: str) -> Callable[[Any], Any]:
        with sessions() as s:  # the last task of page 15: the cursor of page 16
            found, _ = eng.tasks(s, user, TaskQuery(scope="claimable", limit=25, offset=350))
            if not found:  # a small generated install
                found, _ = eng.tasks(s, user, TaskQuery(scope="claimable", limit=1))
            last = found[-1].id

        def run(session: Any) -> Any:
            return eng.tasks(session, user, TaskQuery(scope="claimable", limit=25, after=last,
                                                      **capped))
        return run

    rows: list[Row] = []
    r = args.rounds
    if args.only in (None, "inbox"):
        print("inbox and badges (engine calls, as the inbox page makes them):", flush=True)
        measure(rows, "inbox 'claimable' page 1, reviewer1 (pmo_reviewer)", "inbox", sessions,
                inbox("reviewer1", "claimable"), r)
        measure(rows, "inbox 'claimable' page 16 (offset 375), reviewer1", "inbox", sessions,
                inbox("reviewer1", "claimable", 16), r)
        if "after" in fields:
            measure(rows, "inbox 'claimable' page 16 by keyset (after=), reviewer1", "inbox",
                    sessions, keyset("reviewer1"), r)
        measure(rows, "inbox 'claimable' page 1, sponsor1 (project roles)", "inbox", sessions,
                inbox("sponsor1", "claimable"), r)
        measure(rows, "inbox 'claimable' page 1, pmohead", "inbox", sessions,
                inbox("pmohead", "claimable"), r)
        measure(rows, f"inbox 'mine' page 1, {mine_user} (most assigned)", "inbox", sessions,
                inbox(mine_user, "mine"), r)
        measure(rows, "badge counts (nav_counts), reviewer1", "inbox", sessions,
                lambda s: eng.nav_counts(s, "reviewer1"), r)
        measure(rows, "badge counts (nav_counts), sponsor1", "inbox", sessions,
                lambda s: eng.nav_counts(s, "sponsor1"), r)
        measure(rows, "user's roles, project roles, delegations (prime), sponsor1", "inbox",
                sessions, lambda s: identity.prime(s, "sponsor1", eng.clock.now()), r)
        measure(rows, "my requests page 1 (a PM with ~2,500 requests)", "other", sessions,
                lambda s: pages.my_requests(eng, s, "gpm00001"), r)
        measure(rows, "running requests page 1 (PMO, 100k running)", "other", sessions,
                lambda s: pages.running_instances(eng, s, "pmohead"), r)
        del tasks
    if args.only in (None, "dashboard"):
        print("dashboard figures (each alone, default filters: the last twelve months):",
              flush=True)
        now = eng.clock.now()
        filters = insight.parse_filters({}, now.date())
        for name in insight.FIGURES:
            measure(rows, f"dashboard: {name}", "dashboard", sessions,
                    lambda s, n=name: insight.dashboard(
                        s, filters, now, lambda day, s=s: eng.is_workday(s, day), [n]),
                    args.dashboard_rounds)
    rt.db.dispose()
    if args.drop:
        scale_data.drop(args.pg_url, args.schema)
    print_table(rows, size, load_before, os.getloadavg()[0])
    return 0


def print_table(rows: list[Row], size: Any, load_before: float, load_after: float) -> None:
    print()
    print(f"{'query':<62} {'n':>4} {'p50 ms':>9} {'p95 ms':>9} {'goal p95':>9}  met")
    print("-" * 100)
    for row in rows:
        goal = f"{row.goal:g}" if row.goal else "-"
        met = "" if row.goal is None else ("yes" if row.pct(95) <= row.goal else "NO")
        print(f"{row.name:<62} {len(row.times):>4} {statistics.median(row.times):9.2f} "
              f"{row.pct(95):9.2f} {goal:>9}  {met}")
    print(f"data: {size[0]:,} instances, {size[1]:,} open tasks; PostgreSQL; each round a new "
          f"session; machine: {os.cpu_count()} CPUs shared with other work, 1-min load "
          f"{load_before:.2f} before, {load_after:.2f} after (timings are noisy)")
    inbox = [r.pct(95) for r in rows if r.group == "inbox"]
    dash = [r.pct(95) for r in rows if r.group == "dashboard"]
    print(f"goals: each inbox query p95 <= {INBOX_GOAL_MS:g} ms, each dashboard figure p95 <= "
          f"{DASHBOARD_GOAL_MS:g} ms")
    x = f"{max(inbox):.1f}" if inbox else "n/a"
    y = f"{max(dash):.1f}" if dash else "n/a"
    print(f"inbox_p95_ms={x} dashboard_p95_ms={y}")


if __name__ == "__main__":
    sys.exit(main())
