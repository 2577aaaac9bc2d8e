"""Before / after over HTTP: two code trees served at once, asked in turn, request by request.

```
git worktree add -f /tmp/before <commit>       # the code to compare against
.venv/bin/python bench/ab_http.py /tmp/before  # this checkout is "after"
.venv/bin/python bench/ab_http.py /tmp/before --db pg --rounds 200
```

On a shared machine two runs of ``http_bench.py`` a few minutes apart differ by more than
most changes do (the same code measured 9.6 and 18.1 ms for the inbox page within ten
minutes). Here both trees run at once, each its own gunicorn (2 sync workers, as
``http_bench.py``) on its own database seeded by its own code (same users, process and
``--tasks`` approvals), and one client asks both in turn, the order swapped every round,
so whatever else the machine does falls on both alike. Measured: ``--rounds`` inbox pages
(``/tasks?tab=claimable``, pages 1-8), then ``--rounds`` completions (GET the form, POST
it). Printed: medians and p95 per side and after / before. Last line:
``ab_inbox_ratio=X ab_form_ratio=Y ab_submit_ratio=Z ab_complete_ratio=W`` (after median /
before median; below 1 is faster).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import http_bench  # noqa: E402  (bench/ is the script's folder)

#: Run by each tree's own Python path: set up its database and print the task ids.
SEED = """
import json, sys
import http_bench
seeder = http_bench.Seeder(sys.argv[1], 1)
ids = seeder.open_reviews(int(sys.argv[2]))
seeder.close()
print(json.dumps(ids))
"""

KINDS = {"inbox": "inbox page GET /tasks?tab=claimable (25/page)",
         "form": "task form GET /tasks/<id>",
         "submit": "task submit POST /tasks/<id> (302)",
         "complete": "complete a task = GET form + POST"}


def seed(tree: Path, url: str, count: int) -> list[int]:
    """``tree``'s code seeds ``url`` (its own schema, its own engine); the open task ids."""
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'bench'}"}
    done = subprocess.run([sys.executable, "-c", SEED, url, str(count)], cwd=tree / "bench",
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"seeding with {tree} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(trees: dict[str, Path], urls: dict[str, str], ids: dict[str, list[int]],
            rounds: int) -> dict[str, dict[str, list[float]]]:
    """Both trees served at once and asked in turn, the order swapped every round (ms per
    request kind and side): inbox pages 1-8, then completions."""
    return http_bench.in_turn(
        {side: (urls[side], tree) for side, tree in trees.items()}, ids, rounds,
        lambda i: [(f"/tasks?tab=claimable&page={1 + i % 8}", "inbox")], swap=True)


def main(argv: list[str] | None = None) -> int:
    """Seed both databases, measure in turn, print the table and the last line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("before", type=Path, help="a checkout of the code to compare against")
    p.add_argument("--after", type=Path, default=ROOT, help="default: this checkout")
    p.add_argument("--db", choices=("sqlite", "pg"), default="sqlite")
    p.add_argument("--rounds", type=int, default=150)
    p.add_argument("--tasks", type=int, default=400, help="open tasks in the inbox")
    p.add_argument("--pg-url", default=os.environ.get("PMOFLOW_TEST_PG", http_bench.DEFAULT_PG))
    args = p.parse_args(argv)
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    for side, tree in trees.items():
        if not (tree / "bench" / "http_bench.py").is_file():
            raise SystemExit(f"{side}: {tree} is not a PMOflow checkout (no bench/http_bench.py)")
    count = max(args.tasks, args.rounds + 10)
    load_before = os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        urls: dict[str, str] = {}
        for side in trees:
            if args.db == "sqlite":
                home = stack.enter_context(tempfile.TemporaryDirectory())
                urls[side] = f"sqlite:///{home}/ab.db"
            else:
                found = http_bench.pg_schema(args.pg_url)
                if isinstance(found, str):
                    raise SystemExit(f"PostgreSQL unreachable: {found}")
                urls[side], drop = found
                stack.callback(drop)
        ids = {}
        for side, tree in trees.items():
            print(f"{side}: seeding {count} approvals with {tree} ...", flush=True)
            ids[side] = seed(tree, urls[side], count)
        print("both served at once, asked in turn: measuring ...", flush=True)
        found_ms = measure(trees, urls, ids, args.rounds)
    before, after = found_ms["before"], found_ms["after"]
    print()
    print(f"{f'request (1 client, {args.db}; ms)':<46} {'before':>8} {'p95':>8} "
          f"{'after':>8} {'p95':>8} {'after/before':>12}")
    print("-" * 96)
    ratios = {}
    for key, label, b_med, b_p95, a_med, a_p95, ratio in http_bench.paired(KINDS, before, after):
        ratios[key] = ratio
        print(f"{label:<46} {b_med:8.2f} {b_p95:8.2f} {a_med:8.2f} {a_p95:8.2f} {ratio:12.2f}")
    print(f"before: {trees['before']}; after: {trees['after']}; gunicorn 2 sync workers each; "
          f"n = {args.rounds} per kind and side; {count} approvals each; 1-min load "
          f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(" ".join(f"ab_{k}_ratio={v:.2f}" for k, v in ratios.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
