"""The HTTP benchmark runs end to end in a tiny configuration (SQLite only, ~6 s)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_http_bench_prints_its_table_and_last_line():
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "http_bench.py"), "--sqlite-only", "--tasks", "20",
         "--rounds", "5", "--logins", "1", "--warmup", "2", "--seconds", "1",
         "--concurrent-tasks", "40"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert re.fullmatch(r"http_complete_ms=\d+\.\d\d inbox_ms=\d+\.\d\d completions_per_s_8c=n/a",
                        lines[-1]), lines[-1]
    table = "\n".join(lines)
    for label in ("sign in: POST /login", "inbox page", "task form GET", "task submit POST",
                  "complete a task", "completions/s, 8 clients", "gunicorn: 2 workers",
                  "SQLite: journal_mode=WAL", "PostgreSQL: skipped",
                  "CPU per completion, whole machine (ms)", "of it the gunicorn workers"):
        assert label in table, label
    # the floors are measured in the same run, like the pages: a bare WSGI app under the
    # same gunicorn answering an inbox-sized body, and the app's static file
    bare = re.search(r"bare WSGI app, same gunicorn, (\d+) KB body\s+5\s+(\d+\.\d\d)", table)
    static = re.search(r"this app's static file /static/js/app.js\s+5\s+(\d+\.\d\d)", table)
    assert bare and static, table[-2500:]
    assert int(bare.group(1)) >= 10  # an inbox page's size, not an empty answer
    assert float(bare.group(2)) > 0 and float(static.group(1)) > 0
    assert re.search(r"floor: a bare WSGI app under the same gunicorn answers an inbox-sized "
                     r"body in \d+\.\d\d ms and this app's static file takes", table)
    # and the stack the brief fixes, signed in, one SELECT, 25 plain rows through Jinja
    stack = re.search(r"Flask \+ Flask-Login \+ 1 SELECT \+ Jinja, 25 rows\s+5\s+(\d+\.\d\d)",
                      table)
    assert stack and float(stack.group(1)) > 0, table[-2500:]
    assert re.search(r"floor: the stack the brief fixes .* answers a signed-in page of 25 plain "
                     r"rows with one SELECT in \d+\.\d\d ms", table)
    # the stack's own task form and submit, and what one more read costs its page
    cycle = re.search(r"the stack's form \+ submit\s+5\s+(\d+\.\d\d)", table)
    none = re.search(r"the stack's page of no read\s+5\s+(\d+\.\d\d)", table)
    reads = re.search(r"the stack's page of 20 primary-key reads\s+5\s+(\d+\.\d\d)", table)
    assert cycle and none and reads, table[-3000:]
    assert float(cycle.group(1)) > 0 and float(reads.group(1)) > float(none.group(1)) > 0
    # PMOflow's own statements, counted in the same run, scale the floor
    counted = re.search(r"statements \(round trips\) PMOflow made\s+i (\d+) f (\d+) s (\d+)",
                        table)
    assert counted, table[-3000:]
    inbox, form, submit = (int(counted.group(i)) for i in (1, 2, 3))
    assert 3 <= inbox <= 12 and 5 <= form <= 20 and 8 <= submit <= 25, counted.group(0)
    line = re.search(r"floor: the stack's own task form and submit \(one read; one update, "
                     r"COMMIT\) take \d+\.\d\d ms on SQLite; PMOflow's make (\d+) statements more",
                     table)
    assert line and int(line.group(1)) == form + submit - 3, table[-3000:]
