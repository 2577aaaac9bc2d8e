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


def run_on_a_tiny_install(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``bench/<script>`` on its own tiny generated install (dropped afterwards)."""
    reason = _pg_reachable()
    if reason is not None:
        pytest.fail(f"PostgreSQL is needed for the scale bench: {reason}")
    schema = f"pmoflow_scale_smoke_{uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--pg-url", PG_BASE, "--schema", schema,
         *args, "--drop"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_scale_bench_generates_data_and_prints_its_table_and_last_line():
    done = run_on_a_tiny_install("scale_bench.py", "--instances", "3000", "--open-tasks", "300",
                                 "--people", "100", "--rounds", "2", "--dashboard-rounds", "1")
    lines = done.stdout.strip().splitlines()
    assert re.fullmatch(r"inbox_p95_ms=\d+\.\d dashboard_p95_ms=\d+\.\d", lines[-1]), lines[-1]
    out = "\n".join(lines)
    assert re.search(r"done in \d+ s: 3,000 instances, 300 open tasks", out), out[:2000]
    for label in ("inbox 'claimable' page 1", "by keyset", "badge counts",
                  "dashboard: cycle_time", "dashboard: escalations", "goal p95"):
        assert label in out, label


def test_scale_http_compares_both_installs_in_turn_and_prints_its_ratios():
    done = run_on_a_tiny_install("scale_http.py", "--instances", "2000", "--open-tasks", "200",
                                 "--people", "60", "--rounds", "4")
    lines = done.stdout.strip().splitlines()
    last = re.fullmatch(r"scale_inbox_ratio=(\d+\.\d\d) scale_complete_ratio=(\d+\.\d\d)",
                        lines[-1])
    assert last, lines[-1]
    assert all(float(r) > 0 for r in last.groups())
    out = "\n".join(lines)
    for label in ("inbox page GET /tasks?tab=claimable", "approval3 only (same rows on both)",
                  "task form GET", "complete a task = GET form + POST", "within 20%"):
        assert label in out, label
    # both pages of the same rows are as big on both installs (the comparison is fair)
    sizes = re.search(r"approval3 only \(same rows on both\): page size (\d+) KB small, "
                      r"(\d+) KB big", out)
    assert sizes and abs(int(sizes.group(1)) - int(sizes.group(2))) <= 2, out[-1500:]
