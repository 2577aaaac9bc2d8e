"""HTTP at scale: the inbox page and a task form on the big install against a small one.

```
.venv/bin/python bench/scale_http.py            # builds pmoflow_scale first if missing
.venv/bin/python bench/scale_http.py --rounds 50
```

Both installs on PostgreSQL, each served by ``gunicorn`` (2 sync workers, as
``bench/http_bench.py``): the big one is ``bench/scale_data.py``'s schema (1,000,000
instances, 100,000 open tasks) plus ``--tasks`` approvals of ``bench/processes/approval3``
started through the engine (their review tasks open in reviewer1's pool beside the
generated ones); the small one is a fresh schema with the same approvals only.  Both are
served at once and asked in turn, request by request (one client on each, signed in as
reviewer1), so the machine's other work falls on both alike: ``--rounds`` inbox pages
(``/tasks?tab=claimable``, pages 1-2, full on both; and the same filtered to
``approval3``, the same rows on both), then ``--rounds`` completions (GET the form, POST
it).  Goal (issue 16): every figure on
the big install within 20 % of the small one.  Last line:
``scale_inbox_ratio=X scale_complete_ratio=Y`` (big median / small median).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import http_bench  # noqa: E402  (bench/ is the script's folder)
import scale_data  # noqa: E402


def seed_scale(url: str, count: int) -> list[int]:
    """approval3 deployed on the big install (once) and ``count`` approvals started."""
    from engine.api import Engine, EngineSettings
    from engine.store.db import make_db_engine, make_sessionmaker

    db = make_db_engine(url)
    sessions = make_sessionmaker(db)
    engine = Engine(settings=EngineSettings())
    with sessions() as s:
        engine.deploy(s, http_bench.bundle_files(), "owner1")
    ids: list[int] = []
    with sessions() as s:
        for i in range(count):
            inst = engine.start(s, "approval3", "pm1" if i % 2 else "pm2", http_bench.START,
                                title=f"Scale bench proposal {i}")
            ids += [t.id for t in inst.open_tasks]
    db.dispose()
    return ids


def measure(urls: dict[str, str], task_ids: dict[str, list[int]],
            rounds: int) -> dict[str, dict[str, list[float]]]:
    """Inbox pages and completions over HTTP, one client per install (ms), the installs
    served at the same time and asked in turn, request by request, so that whatever else
    the machine does falls on both alike."""
    return http_bench.in_turn(
        {name: (url, ROOT) for name, url in urls.items()}, task_ids, rounds,
        lambda i: [
            # pages 1 and 2: full on both installs (the small one has --rounds + 10)
            (f"/tasks?tab=claimable&page={1 + i % 2}", "inbox"),
            # the same rows on both: the bench's approvals, found on the big install among
            # all the open tasks of its pool
            (f"/tasks?tab=claimable&process=approval3&page={1 + i % 2}", "inbox_same"),
        ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pg-url", default=os.environ.get("PMOFLOW_TEST_PG", scale_data.DEFAULT_PG))
    p.add_argument("--schema", default=scale_data.DEFAULT_SCHEMA)
    p.add_argument("--rounds", type=int, default=60)
    p.add_argument("--instances", type=int, default=1_000_000,
                   help="size of the big install when it must be generated")
    p.add_argument("--open-tasks", type=int, default=100_000)
    p.add_argument("--people", type=int, default=1000)
    p.add_argument("--drop", action="store_true", help="drop the big install afterwards")
    args = p.parse_args(argv)
    count = args.rounds + 10
    big_url = scale_data.ensure(args.pg_url, args.schema, instances=args.instances,
                                open_tasks=args.open_tasks, people=args.people)
    try:
        return _run(args, big_url, count)
    finally:
        if args.drop:
            scale_data.drop(args.pg_url, args.schema)


def _run(args: argparse.Namespace, big_url: str, count: int) -> int:
    """Seed both installs, measure them in turn, print the table."""
    load_before = os.getloadavg()[0]
    print(f"big install: starting {count} approvals ...", flush=True)
    big_ids = seed_scale(big_url, count)
    found = http_bench.pg_schema(args.pg_url)
    if isinstance(found, str):
        raise SystemExit(f"PostgreSQL unreachable: {found}")
    small_url, drop = found
    try:
        print(f"small install: seeding {count} approvals ...", flush=True)
        seeder = http_bench.Seeder(small_url, 1)
        small_ids = seeder.open_reviews(count)
        seeder.close()
        print("both installs, in turn: measuring ...", flush=True)
        both = measure({"big": big_url, "small": small_url},
                       {"big": big_ids, "small": small_ids}, args.rounds)
        big, small = both["big"], both["small"]
    finally:
        drop()
    labels = {"inbox": "inbox page GET /tasks?tab=claimable (25/page)",
              "inbox_same": "inbox page, approval3 only (same rows on both)",
              "form": "task form GET /tasks/<id>", "submit": "task submit POST /tasks/<id>",
              "complete": "complete a task = GET form + POST"}
    print()
    print(f"{'request (1 client, PostgreSQL; ms)':<48} {'small med':>9} {'p95':>8} "
          f"{'big med':>9} {'p95':>8} {'big/small':>9}  within 20%")
    print("-" * 106)
    ratios = {}
    for key, label, s_med, s_p95, b_med, b_p95, ratio in http_bench.paired(labels, small, big):
        ratios[key] = ratio
        print(f"{label:<48} {s_med:9.2f} {s_p95:8.2f} {b_med:9.2f} {b_p95:8.2f} {ratio:9.2f}  "
              f"{'yes' if ratio <= 1.2 else 'NO'}")
    for key in ("inbox", "inbox_same"):
        print(f"  {labels[key]}: page size {statistics.median(small[key + '_kb']):.0f} KB small, "
              f"{statistics.median(big[key + '_kb']):.0f} KB big")
    print(f"big: 1,000,000 instances and 100,000 open tasks (schema {args.schema}) + {count} "
          f"approvals; small: {count} approvals; gunicorn 2 sync workers; n = {args.rounds} "
          f"each; 1-min load {load_before:.2f} before, {os.getloadavg()[0]:.2f} after "
          f"(shared machine: noisy)")
    print(f"scale_inbox_ratio={ratios['inbox']:.2f} scale_complete_ratio={ratios['complete']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
