"""The engine benchmark (``pmoflow bench --quick``) runs end to end and prints, beside its
goals, the statement floor it measured in the same run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import PG_BASE

ROOT = Path(__file__).resolve().parents[2]


def test_engine_bench_prints_goals_round_trips_and_the_measured_floor():
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "engine_bench.py"), "--quick", "--pg-url", PG_BASE],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    last = out.strip().splitlines()[-1]
    assert "persisted complete [SQLite]" in out and "persisted complete [PostgreSQL]" in out
    assert re.search(r"complete \(review\)\s+\d+ / \d+\s+\d+ / \d+\s+<= 5 round trips", out)
    assert re.fullmatch(r"complete_ratio_sqlite=\d+\.\d\d complete_ratio_pg=\d+\.\d\d", last), last
    for backend in ("SQLite", "PostgreSQL"):
        found = re.search(rf"\[{backend}\] (\d+) primary-key reads, one by one, in one unit "
                          rf"of work: (\d+\.\d+) / (\d+\.\d+); raw cycle \+ that = (\d+\.\d+) ms "
                          rf"= (\d+\.\d\d)x raw; the rest of a complete .* (-?\d+\.\d+) ms", out)
        assert found, (backend, out[-2500:])
        statements, wall, _cpu, least, ratio, _rest = found.groups()
        assert int(statements) >= 10  # a complete's statements, counted in the same run
        assert float(wall) > 0 and float(least) > float(wall) and float(ratio) > 1.0
