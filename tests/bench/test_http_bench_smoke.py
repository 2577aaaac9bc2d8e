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
