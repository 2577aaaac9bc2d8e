"""HTTP at scale: the inbox page and a task form on the big install against a small one.

```
.venv/bin/python bench/scale_http.py            # builds pmoflow_scale first if missing
.venv/bin/python bench/scale_http.py --rounds 50
```

Both installs on PostgreSQL, each served by ``gunicorn`` (2 sync workers, as
``bench/http_bench.py``): the big one is ``bench/scale_data.py``'s schema (1,000,000
instances, 100,000 open tasks) plus ``--tasks`` approvals of ``bench/processes/approval3``
started through the engine (their review tasks open in reviewer1's pool beside the
generated ones); the small one is a fresh schema with the same approvals only.  One client
signed in as reviewer1: ``--rounds`` inbox pages (``/tasks?tab=claimable``, pages 1-4),
then ``--rounds`` completions (GET the form, POST it).  Goal (issue 16): every figure on
the big install within 20 % of the small one.  Last line:
``scale_inbox_ratio=X scale_complete_ratio=Y`` (big median / small median).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

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


def measure(url: str, task_ids: list[int], rounds: int) -> dict[str, list[float]]:
    """Inbox pages and completions over HTTP, one client (ms)."""
    args = SimpleNamespace(workers=2, worker_class="sync", threads=1)
    out: dict[str, list[float]] = {"inbox": [], "form": [], "submit": [], "complete": []}
    with tempfile.TemporaryDirectory() as home, http_bench.Gunicorn(url, Path(home),
                                                                    args) as server:
        client = http_bench.Client(server.port)
        client.sign_in("reviewer1")
        for i in range(10):  # warm-up: both workers load templates, specs
            client.request("GET", f"/tasks?tab=claimable&page={1 + i % 4}")
        warm, counted = task_ids[:4], task_ids[4:4 + rounds]
        for task_id in warm:
            client.complete(task_id)
        for i in range(rounds):
            status, _body, seconds = client.request("GET",
                                                    f"/tasks?tab=claimable&page={1 + i % 4}")
            if status != 200:
                raise RuntimeError(f"inbox answered {status}")
            out["inbox"].append(seconds * 1000)
        for task_id in counted:
            t_get, t_post = client.complete(task_id)
            out["form"].append(t_get * 1000)
            out["submit"].append(t_post * 1000)
            out["complete"].append((t_get + t_post) * 1000)
        client.close()
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pg-url", default=os.environ.get("PMOFLOW_TEST_PG", scale_data.DEFAULT_PG))
    p.add_argument("--schema", default=scale_data.DEFAULT_SCHEMA)
    p.add_argument("--rounds", type=int, default=60)
    args = p.parse_args(argv)
    count = args.rounds + 10
    big_url = scale_data.ensure(args.pg_url, args.schema)
    load_before = os.getloadavg()[0]
    print(f"big install: starting {count} approvals ...", flush=True)
    big_ids = seed_scale(big_url, count)
    print("big install: measuring ...", flush=True)
    big = measure(big_url, big_ids, args.rounds)
    found = http_bench.pg_schema(args.pg_url)
    if isinstance(found, str):
        raise SystemExit(f"PostgreSQL unreachable: {found}")
    small_url, drop = found
    try:
        print(f"small install: seeding {count} approvals ...", flush=True)
        seeder = http_bench.Seeder(small_url, 1)
        small_ids = seeder.open_reviews(count)
        seeder.close()
        print("small install: measuring ...", flush=True)
        small = measure(small_url, small_ids, args.rounds)
    finally:
        drop()
    labels = {"inbox": "inbox page GET /tasks?tab=claimable (25/page)",
              "form": "task form GET /tasks/<id>", "submit": "task submit POST /tasks/<id>",
              "complete": "complete a task = GET form + POST"}
    print()
    print(f"{'request (1 client, PostgreSQL; ms)':<48} {'small med':>9} {'p95':>8} "
          f"{'big med':>9} {'p95':>8} {'big/small':>9}  within 20%")
    print("-" * 106)
    ratios = {}
    for key, label in labels.items():
        s_med, b_med = statistics.median(small[key]), statistics.median(big[key])
        ratios[key] = b_med / s_med
        print(f"{label:<48} {s_med:9.2f} {p95(small[key]):8.2f} {b_med:9.2f} "
              f"{p95(big[key]):8.2f} {ratios[key]:9.2f}  {'yes' if ratios[key] <= 1.2 else 'NO'}")
    print(f"big: 1,000,000 instances and 100,000 open tasks (schema {args.schema}) + {count} "
          f"approvals; small: {count} approvals; gunicorn 2 sync workers; n = {args.rounds} "
          f"each; 1-min load {load_before:.2f} before, {os.getloadavg()[0]:.2f} after "
          f"(shared machine: noisy)")
    print(f"scale_inbox_ratio={ratios['inbox']:.2f} scale_complete_ratio={ratios['complete']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
