"""The pmoflow command: validate never shows a traceback, deploy and init work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = ROOT / "tests" / "conformance" / "miwg-reference"
PROCESSES = ROOT / "tests" / "engine" / "processes"


def pmoflow(*args: str, tmp_path: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PMOFLOW_HOME": str(tmp_path / "instance"),
                   "DATABASE_URL": f"sqlite:///{tmp_path / 'instance' / 'pmoflow.db'}",
                   **(env or {})}
    return subprocess.run([sys.executable, "-m", "pmoflow.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, env=environment, timeout=300)


def assert_no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


def test_validate_conformance_corpus_one_line_per_problem(tmp_path):
    files = sorted(str(p) for p in CONFORMANCE.glob("*.bpmn"))
    assert len(files) >= 20
    for path in files:
        result = pmoflow("validate", path, tmp_path=tmp_path)
        assert_no_traceback(result)
        assert result.returncode in (0, 1)
        if result.returncode == 1:
            lines = result.stdout.strip().splitlines()
            assert lines, path
            name = Path(path).name
            assert all(name in line for line in lines), lines


@pytest.mark.parametrize("content", [
    b"", b"\x00\x01\x02garbage", b"{\"json\": true}", b"<not-closed>",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
    b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'/>",
])
def test_validate_hostile_files_exit_1_with_a_message(tmp_path, content):
    path = tmp_path / "bad.bpmn"
    path.write_bytes(content)
    result = pmoflow("validate", str(path), tmp_path=tmp_path)
    assert_no_traceback(result)
    assert result.returncode == 1
    assert "bad.bpmn" in result.stdout


def test_validate_huge_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "huge.bpmn"
    path.write_bytes(b"<a>" + b"x" * (6 * 1024 * 1024) + b"</a>")
    result = pmoflow("validate", str(path), tmp_path=tmp_path)
    assert_no_traceback(result)
    assert result.returncode == 1 and "huge.bpmn" in result.stdout


def test_validate_missing_path(tmp_path):
    result = pmoflow("validate", str(tmp_path / "nope.bpmn"), tmp_path=tmp_path)
    assert_no_traceback(result)
    assert result.returncode == 1 and "no such file" in result.stderr


def test_validate_ok_exit_0(tmp_path):
    result = pmoflow("validate", str(PROCESSES / "approval3.bpmn"), tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok:")


def test_init_creates_admin_once_and_deploy_versions(tmp_path):
    first = pmoflow("init", tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Created user 'admin'" in first.stdout
    password = first.stdout.splitlines()[1].strip()
    assert len(password) >= 12
    second = pmoflow("init", tmp_path=tmp_path)
    assert "no admin created" in second.stdout and password not in second.stdout
    users = pmoflow("users", "list", tmp_path=tmp_path)
    assert users.stdout.split()[0] == "admin" and "pm1" not in users.stdout

    deployed = pmoflow("deploy", str(PROCESSES / "approval3.bpmn"), tmp_path=tmp_path)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert "deployed process approval3 v1" in deployed.stdout
    again = pmoflow("deploy", str(PROCESSES / "approval3.bpmn"), tmp_path=tmp_path)
    assert "unchanged approval3" in again.stdout

    broken = tmp_path / "broken.bpmn"
    broken.write_text((PROCESSES / "approval3.bpmn").read_text().replace(
        ' default="f_rework"', ""))
    refused = pmoflow("deploy", str(broken), tmp_path=tmp_path)
    assert refused.returncode == 1
    assert "gw_review" in refused.stdout and "broken.bpmn" in refused.stdout
    assert_no_traceback(refused)


def test_init_demo_creates_demo_users_and_deploys_bpmn(tmp_path):
    result = pmoflow("init", "--demo", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    users = pmoflow("users", "list", tmp_path=tmp_path).stdout
    for name in ("pm1", "pm2", "sponsor1", "reviewer1", "pmohead", "finance1", "steer3",
                 "team3", "owner1", "admin"):
        assert name in users
    from workflows.catalog import PROCESSES

    assert {e.key for e in PROCESSES} == {"project_approval", "risk_review", "escalation",
                                          "project_closure"}
    for entry in PROCESSES:
        assert f"deployed process {entry.key} v1" in result.stdout
    again = pmoflow("init", "--demo", tmp_path=tmp_path)
    assert again.returncode == 0 and "deployed process" not in again.stdout


def test_serve_prints_the_url_and_answers(tmp_path):
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert pmoflow("init", tmp_path=tmp_path).returncode == 0
    env = {**os.environ, "PMOFLOW_HOME": str(tmp_path / "instance"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'instance' / 'pmoflow.db'}",
           "PMOFLOW_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "pmoflow.cli", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in first
        for _ in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200 and b"ok" in r.read()
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("the server did not answer")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
            assert b'name="username"' in r.read()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def test_worker_once_reports_what_it_fired(tmp_path):
    assert pmoflow("init", tmp_path=tmp_path).returncode == 0
    result = pmoflow("worker", "--once", tmp_path=tmp_path)
    assert result.returncode == 0 and "fired 0 job(s), 0 failed" in result.stdout


def test_limit_memory_caps_the_address_space():
    code = ("import resource; from pmoflow.cli import limit_memory; limit_memory(3000); "
            "print(resource.getrlimit(resource.RLIMIT_AS)[0] // 1048576); "
            "import sys\ntry:\n    b = bytearray(4000 * 1048576)\nexcept MemoryError:\n"
            "    print('MemoryError')")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.split() == ["3000", "MemoryError"], result.stderr


def test_installed_console_script_works_outside_the_checkout(tmp_path):
    """The README's commands run the ``pmoflow`` script the package installs; it must find
    every package (engine, workflows, webui, pmoflow) without the checkout on sys.path."""
    script = Path(sys.executable).parent / ("pmoflow.exe" if os.name == "nt" else "pmoflow")
    assert script.exists(), f"{script} is not installed: pip install -e . did not run"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PMOFLOW_HOME=str(tmp_path / "instance"),
               DATABASE_URL=f"sqlite:///{tmp_path / 'instance' / 'pmoflow.db'}")
    bpmn = ROOT / "bpmn"
    result = subprocess.run(
        [str(script), "validate", *sorted(str(p) for p in bpmn.glob("*.bpmn")),
         *sorted(str(p) for p in bpmn.glob("*.dmn"))],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert_no_traceback(result)
    assert result.returncode == 0, result.stdout + result.stderr
