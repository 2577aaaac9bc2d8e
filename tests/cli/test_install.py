"""PMOflow as a new user gets it: a wheel, ``pip install`` into a fresh venv, the commands
run from an unrelated folder, and nothing written inside the installed package.

The wheel is built once per run (from a copy of the checkout, so no stale ``build/`` can
leak into it) and installed with the constraints file into one venv that the tests share;
pip's cache makes that take well under a minute. ``-m install`` selects these tests,
``-m "not install"`` skips them.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
PROCESS_KEYS = {"project_approval", "risk_review", "escalation", "project_closure"}
#: What a copy of the checkout leaves out: local state and anything a build writes.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv*", ".tmp", "instance", "build", "dist",
                                    "*.egg-info", "__pycache__", ".pytest_cache",
                                    ".ruff_cache", ".mypy_cache", "node_modules", "tests",
                                    "docs")


@dataclass
class Installed:
    """The wheel and the venv it went into."""

    wheel: Path
    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / ("Scripts" if os.name == "nt" else "bin")


def setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    return parser


def quiet(*cmd: str | Path, cwd: Path | None = None) -> None:
    """Run a set-up step; its output only matters when it fails."""
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Installed:
    """One wheel, one fresh venv with it and its base dependencies, for the whole run."""
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    quiet(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--constraint", CONSTRAINTS, "--wheel-dir", base / "dist", source)
    (wheel,) = (base / "dist").glob("pmoflow-*.whl")
    env = base / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    result = Installed(wheel, env)
    quiet(result.bin / "python", "-m", "pip", "install", "--disable-pip-version-check",
          "--constraint", CONSTRAINTS, wheel)
    return result


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user who has set nothing of ours."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PMOFLOW_") and k not in (
               "DATABASE_URL", "SECRET_KEY", "PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "HOME": str(home), **extra}


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` (size, mtime), bytecode caches aside."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_package_is_listed_in_setup_cfg():
    """setup.cfg lists packages by hand (bpmn/ is mapped in, which no finder sees)."""
    listed = set(setup_cfg()["options"]["packages"].split())
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for top in ("engine", "pmoflow", "webui", "workflows")
             for p in (ROOT / top).rglob("__init__.py")}
    assert found <= listed, f"add to setup.cfg [options] packages: {sorted(found - listed)}"
    assert listed - found == {"pmoflow.bpmn"}


@pytest.mark.install
def test_the_wheel_ships_the_code_and_the_processes_and_nothing_else(installed):
    names = zipfile.ZipFile(installed.wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"engine", "pmoflow", "webui", "workflows", "pmoflow-0.1.0.dist-info"}
    bundled = {n.removeprefix("pmoflow/bpmn/") for n in names if n.startswith("pmoflow/bpmn/")}
    shipped = {str(p.relative_to(ROOT / "bpmn")) for p in (ROOT / "bpmn").rglob("*")
               if p.is_file()}
    assert bundled == shipped
    for needed in ("webui/templates/base.html", "webui/static/css/app.css",
                   "webui/translations/zh/LC_MESSAGES/messages.mo",
                   "engine/store/migrations/env.py",
                   "engine/store/migrations/versions/0001_engine_core_tables.py"):
        assert needed in names
    metadata = zipfile.ZipFile(installed.wheel).read("pmoflow-0.1.0.dist-info/METADATA")
    base = [line for line in metadata.decode().splitlines()
            if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert not [line for line in base if "psycopg" in line or "gunicorn" in line]


@pytest.mark.install
def test_installed_pmoflow_inits_the_demo_and_serves_from_any_folder(installed, tmp_path):
    site = installed.venv
    before = tree(site)
    work, home = tmp_path / "work", tmp_path / "data"
    work.mkdir()
    env = user_env(tmp_path / "user", PMOFLOW_HOME=str(home))

    def pmoflow(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(installed.bin / "pmoflow"), *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=300, check=False)

    version = pmoflow("--version")
    assert version.stdout.strip() == f"pmoflow {setup_cfg()['metadata']['version']}"

    init = pmoflow("init", "--demo")
    assert init.returncode == 0, init.stdout + init.stderr
    assert {line.split()[2] for line in init.stdout.splitlines()
            if line.startswith("deployed process ")} == PROCESS_KEYS
    with sqlite3.connect(home / "pmoflow.db") as db:
        keys = {k for (k,) in db.execute("SELECT key FROM process_definitions WHERE active")}
    assert keys == PROCESS_KEYS
    assert oct((home / "secret_key").stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in work.iterdir()) == []

    port = free_port()
    server = subprocess.Popen([str(installed.bin / "pmoflow"), "serve", "--port", str(port)],
                              cwd=work, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        assert f"http://127.0.0.1:{port}/" in server.stdout.readline()
        assert b'name="username"' in get(f"http://127.0.0.1:{port}/login")
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stdout.close()
    assert tree(site) == before, "a command wrote inside the venv / installed package"


@pytest.mark.install
def test_without_pmoflow_home_the_data_goes_to_the_user_data_directory(installed, tmp_path):
    before = tree(installed.venv)
    env = user_env(tmp_path / "user")
    env.pop("XDG_DATA_HOME", None)
    done = subprocess.run([str(installed.bin / "pmoflow"), "init"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert tree(installed.venv) == before
    data = tmp_path / "user" / ".local" / "share" / "pmoflow"
    assert sorted(p.name for p in data.iterdir() if p.suffix != ".db-wal") >= [
        "pmoflow.db", "secret_key"]
    assert f"Instance folder: {data}" in done.stdout


@pytest.mark.install
def test_the_base_install_has_no_postgres_driver_and_says_which_extra(installed, tmp_path):
    env = user_env(tmp_path, PMOFLOW_HOME=str(tmp_path / "data"),
                   DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    probe = subprocess.run(
        [str(installed.bin / "python"), "-c",
         "import importlib.util as u; print(u.find_spec('psycopg'), u.find_spec('gunicorn'))"],
        capture_output=True, text=True, check=False)
    assert probe.stdout.split() == ["None", "None"]
    done = subprocess.run([str(installed.bin / "pmoflow"), "users", "list"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "pip install 'pmoflow[postgres]'" in done.stderr


@pytest.mark.install
def test_the_first_readme_command_prints_a_few_lines_then_the_url(tmp_path):
    """``python3 scripts/dev.py serve`` on a venv of its own: progress lines, no pip or
    setuptools chatter, then the URL that answers."""
    port = free_port()
    env = user_env(tmp_path / "user", PMOFLOW_VENV=str(tmp_path / "venv"),
                   PMOFLOW_HOME=str(tmp_path / "data"))
    server = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "dev.py"), "serve",
                               "--port", str(port)], cwd=ROOT, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        lines = []
        while not lines or "http://" not in lines[-1]:
            line = server.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        assert all(line.startswith("==> ") for line in lines[:-1]), "".join(lines)
        assert 3 <= len(lines) <= 6, "".join(lines)
        assert f"http://127.0.0.1:{port}/" in lines[-1]
        assert b'name="username"' in get(f"http://127.0.0.1:{port}/login")
        server.terminate()  # dev.py became the server, so this stops it
        assert server.wait(timeout=30) is not None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)  # anything it left behind
        server.wait(timeout=30)
        server.stdout.close()
    assert (tmp_path / "data" / "pmoflow.db").exists()


def get(url: str) -> bytes:
    """The body of a 200 answer, waiting up to 20 s for the server to come up."""
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                assert answer.status == 200
                return answer.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
