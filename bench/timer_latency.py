"""Timer fire latency and throughput with 1, 2 and 4 ``pmoflow worker`` processes on
PostgreSQL, in one run::

    .venv/bin/python bench/timer_latency.py [--pg-url URL] [--timers 60] [--burst 120]

A fresh schema in the ``test`` database (dropped afterwards) gets the engine's tables, a
PM and ``bench/processes/timer_latency.bpmn`` (start, a timer until ``deadline``, end).
For each worker count the workers are started as real ``pmoflow worker`` processes with
the default settings (``PMOFLOW_WORKER_POLL`` unset), then two phases run:

1. **Latency**: ``--timers`` instances are started five a second, each with a timer due
   0.3-1.5 s after its start, so timers come due spread out and well below what even one
   worker can fire (latency, not queueing).  Fire latency = the job's ``finished_at`` (the worker's
   clock when it took the job) minus its ``due_at``: p50, p95, max.
2. **Throughput**: ``--burst`` instances are started with one and the same due moment,
   set far enough ahead that all are written before it; due timers fired per second =
   burst / (last ``finished_at`` - due moment).

Prints a table; the last line is ``timer_p95_s=X timers_per_s_4w=Y`` where X is the worst
p95 over the three worker counts and Y the burst throughput with four workers.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine import identity  # noqa: E402
from engine.api import Engine, EngineSettings  # noqa: E402
from engine.spiff.bundle import SourceFile  # noqa: E402
from engine.store.db import make_db_engine, make_sessionmaker  # noqa: E402
from engine.store.models import Job  # noqa: E402
from engine.store.schema import upgrade  # noqa: E402
from engine.store.uow import unit_of_work  # noqa: E402
from workflows.roles import ROLES  # noqa: E402

PROCESS = ROOT / "bench" / "processes" / "timer_latency.bpmn"
DEFAULT_PG = os.environ.get("PMOFLOW_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WORKER_COUNTS = (1, 2, 4)


@dataclass
class Result:
    """One worker count's numbers."""

    workers: int
    latencies: list[float]
    burst: int
    burst_seconds: float

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    @property
    def per_second(self) -> float:
        return self.burst / self.burst_seconds if self.burst_seconds > 0 else float("inf")


def _schema(base: str) -> tuple[str, Callable[[], None]]:
    admin = make_db_engine(base, connect_args={"connect_timeout": 3})
    schema = f"pmoflow_bench_timers_{uuid.uuid4().hex[:8]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", drop


def _worker(url: str, home: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "PMOFLOW_WORKER_POLL"}
    env.update(DATABASE_URL=url, PMOFLOW_HOME=home, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pmoflow.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "worker running" not in line:
        proc.kill()
        raise SystemExit(f"a worker did not start: {line.strip()}")
    return proc


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGINT)
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def _start(engine: Engine, session, due: datetime) -> int:
    return engine.start(session, "timer_latency", "pm1", {"deadline": due.isoformat()}).id


def _fired(sessions, ids: list[int], timeout: float) -> list[tuple[datetime, datetime]]:
    """(due_at, finished_at) of the jobs of ``ids``, once all are done (or on timeout)."""
    end = time.monotonic() + timeout
    while True:
        with sessions() as s:
            rows = s.execute(
                select(Job.due_at, Job.finished_at, Job.status).where(
                    Job.instance_id.in_(ids), Job.kind == "timer"
                )
            ).all()
        done = [(r.due_at, r.finished_at) for r in rows if r.status == "done"]
        if len(done) == len(ids) or time.monotonic() > end:
            if len(done) < len(ids):
                print(f"  warning: {len(ids) - len(done)} timer(s) not fired in {timeout} s")
            return done
        time.sleep(0.2)


def run_one(
    engine: Engine, sessions, url: str, home: str, workers: int, timers: int, burst: int
) -> Result:
    """Start ``workers`` worker processes and run both phases against them."""
    procs = [_worker(url, home) for _ in range(workers)]
    try:
        time.sleep(1.5)  # every worker past its first pass (and its housekeeping)
        rng = random.Random(workers)
        ids: list[int] = []
        took: list[float] = []
        with sessions() as s:
            for _ in range(timers):
                t0 = time.perf_counter()
                now = datetime.now(UTC)
                ids.append(_start(engine, s, now + timedelta(seconds=rng.uniform(0.3, 1.5))))
                took.append(time.perf_counter() - t0)
                time.sleep(0.2)  # well below what one worker fires: latency, not queueing
        lat = [(f - d).total_seconds() for d, f in _fired(sessions, ids, 60)]
        # Throughput: every timer of the burst due at one moment, far enough ahead that
        # all are written before it (from how long a start took above).
        due = datetime.now(UTC) + timedelta(seconds=burst * statistics.median(took) * 2 + 0.5)
        with sessions() as s:
            ids = [_start(engine, s, due) for _ in range(burst)]
        if datetime.now(UTC) >= due:
            print("  warning: the burst was not written before its due moment")
        done = _fired(sessions, ids, 120)
        last = max(f for _, f in done)
        return Result(workers, lat, len(done), (last - due).total_seconds())
    finally:
        _stop(procs)


def main(argv: list[str] | None = None) -> int:
    """Run every worker count and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--timers", type=int, default=40, help="timers in the latency phase")
    parser.add_argument("--burst", type=int, default=120, help="timers due at one moment")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    url, drop = _schema(args.pg_url)
    db = make_db_engine(url)
    try:
        upgrade(db)
        sessions = make_sessionmaker(db)
        engine = Engine(settings=EngineSettings())
        with sessions() as s:
            with unit_of_work(s):
                identity.ensure_roles(s, ROLES)
                identity.create_user(s, "pm1", now=engine.clock.now(), roles=["pm"])
                identity.create_user(s, "owner1", now=engine.clock.now(), roles=["process_owner"])
            engine.deploy(s, [SourceFile(PROCESS.name, PROCESS.read_bytes())], "owner1")
        results = []
        with tempfile.TemporaryDirectory() as home:
            for n in WORKER_COUNTS:
                print(f"running {n} worker(s) ...", flush=True)
                results.append(run_one(engine, sessions, url, home, n, args.timers, args.burst))
    finally:
        db.dispose()
        drop()
    print()
    print(
        f"Timer fire latency on PostgreSQL ({args.timers} timers due 0.3-1.5 s after "
        f"being written; burst of {args.burst} due at once); os.cpu_count()={os.cpu_count()}"
    )
    print(f"{'workers':>7} | {'p50 s':>7} | {'p95 s':>7} | {'max s':>7} | {'burst fired/s':>13}")
    print("-" * 54)
    for r in results:
        print(
            f"{r.workers:>7} | {statistics.median(r.latencies):7.3f} | {r.pct(0.95):7.3f} | "
            f"{max(r.latencies):7.3f} | {r.per_second:13.1f}"
        )
    print(f"load average (1 min) before {load_before:.2f}, after {os.getloadavg()[0]:.2f}")
    print("goal: p95 <= 0.1 s with the default settings")
    worst = max(r.pct(0.95) for r in results)
    print(f"timer_p95_s={worst:.3f} timers_per_s_4w={results[-1].per_second:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
