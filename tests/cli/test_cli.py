"""The pmoflow command: validate never shows a traceback and checks what deploy checks,
every command reads the configured database, deploy and init work."""

from __future__ import annotations

import os
import shutil
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


@pytest.fixture(scope="module")
def ready(tmp_path_factory) -> Path:
    """A folder whose ``instance/`` holds a database made by ``pmoflow init`` (validate,
    like deploy, checks against the configured database)."""
    base = tmp_path_factory.mktemp("cli-ready")
    result = pmoflow("init", tmp_path=base)
    assert result.returncode == 0, result.stdout + result.stderr
    return base


def test_validate_conformance_corpus_one_line_per_problem(ready):
    files = sorted(str(p) for p in CONFORMANCE.glob("*.bpmn"))
    assert len(files) >= 20
    for path in files:
        result = pmoflow("validate", path, tmp_path=ready)
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
def test_validate_hostile_files_exit_1_with_a_message(tmp_path, ready, content):
    path = tmp_path / "bad.bpmn"
    path.write_bytes(content)
    result = pmoflow("validate", str(path), tmp_path=ready)
    assert_no_traceback(result)
    assert result.returncode == 1
    assert "bad.bpmn" in result.stdout


def test_validate_huge_file_is_refused_before_parsing(tmp_path, ready):
    path = tmp_path / "huge.bpmn"
    path.write_bytes(b"<a>" + b"x" * (6 * 1024 * 1024) + b"</a>")
    result = pmoflow("validate", str(path), tmp_path=ready)
    assert_no_traceback(result)
    assert result.returncode == 1 and "huge.bpmn" in result.stdout


def test_validate_missing_path(tmp_path):
    result = pmoflow("validate", str(tmp_path / "nope.bpmn"), tmp_path=tmp_path)
    assert_no_traceback(result)
    assert result.returncode == 1 and "no such file" in result.stderr


def test_validate_ok_exit_0(ready):
    result = pmoflow("validate", str(PROCESSES / "approval3.bpmn"), tmp_path=ready)
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


def test_installed_console_script_works_outside_the_checkout(tmp_path, ready):
    """The README's commands run the ``pmoflow`` script the package installs; it must find
    every package (engine, workflows, webui, pmoflow) without the checkout on sys.path."""
    script = Path(sys.executable).parent / ("pmoflow.exe" if os.name == "nt" else "pmoflow")
    assert script.exists(), f"{script} is not installed: pip install -e . did not run"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PMOFLOW_HOME=str(ready / "instance"),
               DATABASE_URL=f"sqlite:///{ready / 'instance' / 'pmoflow.db'}")
    bpmn = ROOT / "bpmn"
    result = subprocess.run(
        [str(script), "validate", *sorted(str(p) for p in bpmn.glob("*.bpmn")),
         *sorted(str(p) for p in bpmn.glob("*.dmn"))],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert_no_traceback(result)
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- configuration


def deploy_refusals(tmp_path: Path) -> list[str]:
    """Files deploy refuses only because of what the database holds: a lane naming a role
    the database does not know, and a shipped process whose decision table a plain
    ``init`` has not deployed."""
    folder = tmp_path / "procs"
    shutil.copytree(PROCESSES, folder)
    ghost = folder / "ghost.bpmn"
    ghost.write_text((PROCESSES / "approval3.bpmn").read_text().replace(
        'name="pmo_head"', 'name="ghost_role"').replace('id="approval3"', 'id="ghost"'))
    return [str(ghost), str(ROOT / "bpmn" / "project_approval.bpmn")]


def test_validate_refuses_what_deploy_refuses_in_the_configured_database(tmp_path, db):
    """DATABASE_URL names the database (SQLite elsewhere, or PostgreSQL); PMOFLOW_HOME holds
    none. validate must make deploy's checks against that database, not skip them."""
    env = {"DATABASE_URL": db.url, "PMOFLOW_HOME": str(tmp_path / "home")}
    assert pmoflow("init", tmp_path=tmp_path, env=env).returncode == 0
    files = deploy_refusals(tmp_path)
    refused = pmoflow("deploy", *files, tmp_path=tmp_path, env=env)
    assert refused.returncode == 1 and "deploy refused" in refused.stderr, refused.stdout
    checked = pmoflow("validate", *files, tmp_path=tmp_path, env=env)
    assert_no_traceback(checked)
    assert checked.returncode == 1
    assert checked.stdout == refused.stdout
    assert "role 'ghost_role' (from its lane) is not a known role" in checked.stdout
    assert "calls decision 'approval_routing', which is neither" in checked.stdout
    assert not (tmp_path / "home" / "pmoflow.db").exists()


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """Run ``pmoflow`` in this process on ``tmp_path/instance``; (exit code, out, err)."""
    from pmoflow.cli import main

    monkeypatch.setenv("PMOFLOW_HOME", str(tmp_path / "instance"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'instance' / 'pmoflow.db'}")

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.mark.parametrize("command", [
    ["validate", str(PROCESSES / "approval3.bpmn")], ["deploy", str(PROCESSES / "approval3.bpmn")],
    ["users", "list"], ["worker", "--once"], ["serve"],
])
def test_commands_on_a_database_never_initialised_say_run_init(tmp_path, cli, command):
    code, _, err = cli(*command)
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: no database at {tmp_path / 'instance' / 'pmoflow.db'}: run `pmoflow init` first"]
    assert not (tmp_path / "instance" / "pmoflow.db").exists()


def test_an_empty_database_is_not_initialised_either(tmp_path, cli):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "pmoflow.db").write_bytes(b"")
    code, _, err = cli("users", "list")
    assert code == 1 and "is not initialised: run `pmoflow init` first" in err


def test_an_older_schema_asks_for_init_to_upgrade_it(tmp_path, cli):
    from engine.store.db import make_db_engine
    from engine.store.schema import upgrade

    eng = make_db_engine(f"sqlite:///{tmp_path / 'instance' / 'pmoflow.db'}")
    upgrade(eng, "0001")
    eng.dispose()
    code, _, err = cli("users", "list")
    assert code == 1 and "has schema 0001" in err and "run `pmoflow init` to upgrade it" in err


def test_an_unreachable_database_is_one_line(cli, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    code, _, err = cli("users", "list")
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert err.startswith("error: cannot open the database postgresql+psycopg://nobody@")


def test_a_database_url_that_is_no_url_is_one_line(cli, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "pmoflow.db")
    with pytest.raises(SystemExit, match=r"^configuration error: DATABASE_URL='pmoflow.db'"):
        cli("users", "list")


def test_version_comes_from_the_package_metadata(capsys):
    from importlib.metadata import version

    from pmoflow.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"pmoflow {version('pmoflow')}"


def test_clock_advance_needs_a_demo_install_and_a_good_duration(tmp_path, cli):
    assert cli("init")[0] == 0
    code, _, err = cli("clock", "advance", "2d")
    assert code == 1 and "demo or test install" in err
    from pmoflow.config import Config
    from pmoflow.wiring import build

    rt = build(Config.from_env())
    with rt.sessions() as session:
        rt.engine.mark_demo_install(session, "test")
    for bad in ("soon", "-2d", "0h", ""):
        code, _, err = cli("clock", "advance", bad)
        assert code == 1 and err.startswith("error:") and "Traceback" not in err, bad
    code, out, _ = cli("clock", "advance", "P1DT2H")
    assert code == 0 and "ahead of real time by 1 day, 2:00:00" in out
    code, out, _ = cli("clock", "status")
    assert code == 0 and "demo/test install" in out and "1 day, 2:00:00" in out
    code, out, _ = cli("clock", "reset")
    assert code == 0 and "ahead of real time by 0:00:00" in out
    assert "ahead of real time by 0:00:00" in cli("clock", "status")[1]


def test_demo_year_refused_on_real_work_and_nothing_written(tmp_path):
    from sqlalchemy import create_engine, func, select

    from engine.store.models import User
    from tests.workflows.factories import proposal
    from workflows import records
    from workflows.records.models import Project

    assert pmoflow("init", tmp_path=tmp_path).returncode == 0
    url = f"sqlite:///{tmp_path / 'instance' / 'pmoflow.db'}"
    from sqlalchemy.orm import Session

    eng = create_engine(url)
    with Session(eng) as s, s.begin():
        from datetime import UTC, datetime

        from engine import identity

        identity.create_user(s, "bob", now=datetime.now(UTC), roles=[])
        records.propose_project(s, proposal(title="Real work", sponsor="bob"), pm="admin",
                                now=datetime.now(UTC))
    result = pmoflow("demo", "--year", "--months", "1", tmp_path=tmp_path)
    assert_no_traceback(result)
    assert result.returncode == 1
    assert "demo --year refused" in result.stderr and "not a demo install" in result.stderr
    assert "Nothing was written" in result.stderr
    with Session(eng) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 2  # admin and bob
        assert s.scalar(select(func.count()).select_from(Project)) == 1
    bad = pmoflow("demo", "--year", "--months", "30", tmp_path=tmp_path)
    assert bad.returncode == 1 and "choose 1 to 24" in bad.stderr
