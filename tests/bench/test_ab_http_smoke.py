"""The before / after HTTP comparison runs end to end in a tiny configuration (this
checkout against itself, SQLite, ~10 s), and refuses a folder that is not a checkout."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = str(ROOT / "bench" / "ab_http.py")


def test_ab_http_compares_two_trees_request_by_request():
    done = subprocess.run(
        [sys.executable, SCRIPT, str(ROOT), "--rounds", "4", "--tasks", "12"],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    ratio = r"\d+\.\d\d"
    assert re.fullmatch(rf"ab_inbox_ratio={ratio} ab_form_ratio={ratio} "
                        rf"ab_submit_ratio={ratio} ab_complete_ratio={ratio}", lines[-1]), lines[-1]
    rows = {}
    for line in lines:
        found = re.match(r"(inbox page|task form GET|task submit POST|complete a task)\b.*?"
                         r"\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s+(\d+\.\d\d)$",
                         line)
        if found:
            rows[found.group(1)] = [float(v) for v in found.groups()[1:]]
    assert set(rows) == {"inbox page", "task form GET", "task submit POST", "complete a task"}
    for kind, (before, _bp95, after, _ap95, ratio_) in rows.items():
        assert before > 0 and after > 0, kind
        assert abs(ratio_ - after / before) < 0.01, kind  # the ratio is of the medians shown
    # --tasks, or enough for the completions measured and the warm-up (4 + 10)
    assert "n = 4 per kind and side; 14 approvals each" in done.stdout


def test_ab_http_refuses_a_folder_that_is_not_a_checkout(tmp_path):
    done = subprocess.run([sys.executable, SCRIPT, str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert f"before: {tmp_path} is not a PMOflow checkout" in done.stderr
