"""The scale data generator and bench run end to end on a tiny install (PostgreSQL)."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import PG_BASE, _pg_reachable

ROOT = Path(__file__).resolve().parents[2]


def test_scale_bench_generates_data_and_prints_its_table_and_last_line():
    reason = _pg_reachable()
    if reason is not None:
        pytest.fail(f"PostgreSQL is needed for the scale bench: {reason}")
    schema = f"pmoflow_scale_smoke_{uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scale_bench.py"), "--pg-url", PG_BASE,
         "--schema", schema, "--instances", "3000", "--open-tasks", "300", "--people", "100",
         "--rounds", "2", "--dashboard-rounds", "1", "--drop"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert re.fullmatch(r"inbox_p95_ms=\d+\.\d dashboard_p95_ms=\d+\.\d", lines[-1]), lines[-1]
    out = "\n".join(lines)
    assert re.search(r"done in \d+ s: 3,000 instances, 300 open tasks", out), out[:2000]
    for label in ("inbox 'claimable' page 1", "by keyset", "badge counts",
                  "dashboard: cycle_time", "dashboard: escalations", "goal p95"):
        assert label in out, label
