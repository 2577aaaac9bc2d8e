#!/usr/bin/env python3
"""Set up a virtual environment and run PMOflow or its tests (needs only Python 3.11+).

    python3 scripts/dev.py serve   # venv, install, `pmoflow init --demo`, `pmoflow serve`
    python3 scripts/dev.py test    # venv, install (+ Chromium), ruff, the whole test suite
    python3 scripts/dev.py lock    # re-resolve requirements/constraints.txt (pip-tools)

Anything after the command is passed on (to `pmoflow serve`, pytest or pip-compile).
Every install is constrained by requirements/constraints.txt, so each run gets the same
versions; `lock --upgrade` moves them to the newest that setup.cfg allows.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("PMOFLOW_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
#: What `serve` keeps in the checkout (gitignored) unless PMOFLOW_HOME says otherwise.
HOME = ROOT / "instance"
#: The one tool `lock` installs, in a throwaway venv of its own.
PIP_TOOLS = "pip-tools==7.7.0"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*cmd: str | Path, check: bool = True, **kw) -> int:
    return subprocess.run([str(c) for c in cmd], check=check, **kw).returncode


def ensure_venv(extras: str) -> None:
    """Create the venv and (re)install the project when its requirements changed."""
    if not PY.exists():
        say(f"creating virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    # Reinstall when the requirements, the pins or the set of top-level packages change
    # (the editable install maps each package it found when it ran).
    packages = "\n".join(sorted(p.parent.name for p in ROOT.glob("*/__init__.py")))
    digest = hashlib.sha256((ROOT / "setup.cfg").read_bytes() + CONSTRAINTS.read_bytes()
                            + extras.encode() + packages.encode()).hexdigest()
    stamp = VENV / f".pmoflow-installed-{extras or 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    say("installing PMOflow and its dependencies (first run takes a minute)")
    # The pinned pip and build backend first, then the project built with that backend
    # (no isolated build environment of unpinned versions).
    pip("install", "--upgrade", "pip", "setuptools", "wheel")
    target = f".[{extras}]" if extras else "."
    pip("install", "--no-build-isolation", "--editable", target)
    stamp.write_text(digest)


def pip(*args: str) -> None:
    """Run pip in the venv against the constraints file; show its output only on failure."""
    log = VENV / "pip.log"
    with log.open("w") as out:
        code = run(PY, "-m", "pip", *args, "--constraint", CONSTRAINTS,
                   "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
                   cwd=ROOT, check=False, stdout=out, stderr=subprocess.STDOUT)
    if code != 0:
        lines = log.read_text(errors="replace").splitlines()
        print("\n".join(lines[-40:]), file=sys.stderr)
        raise SystemExit(f"pip {args[0]} failed (exit {code}); the whole output is in {log}")


def ensure_chromium() -> None:
    """Install Debian's chromium and chromium-driver for the browser tests if missing
    (and a CJK font, so screenshots of the Chinese UI show characters)."""
    if Path("/usr/bin/chromium").exists():
        return
    apt = shutil.which("apt-get")
    if apt is None:
        say("no /usr/bin/chromium and no apt-get: browser tests will be reported as not run")
        return
    sudo = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if sudo is None:
        say("chromium missing and not root: browser tests will be reported as not run")
        return
    say("installing Debian packages chromium and chromium-driver (browser tests)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    packages = ("chromium", "chromium-driver", "fonts-wqy-microhei")
    if run(*sudo, apt, "-y", "-qq", "install", *packages,
           check=False, env=env, stdout=subprocess.DEVNULL) != 0:
        run(*sudo, apt, "-qq", "update", check=False, env=env, stdout=subprocess.DEVNULL)
        run(*sudo, apt, "-y", "-qq", "install", *packages,
            check=False, env=env, stdout=subprocess.DEVNULL)


def cmd_serve(extra: list[str]) -> int:
    ensure_venv("")
    env = {**os.environ}
    env.setdefault("PMOFLOW_HOME", str(HOME))
    say(f"preparing the database in {env['PMOFLOW_HOME']} (demo users, the shipped processes)")
    init = subprocess.run([str(BIN / "pmoflow"), "init", "--demo"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    if init.returncode != 0:
        print(init.stdout + init.stderr, file=sys.stderr)
        return init.returncode
    say("database ready; every demo user (pm1, reviewer1, pmohead, admin ...) has password "
        "'demo'")
    say("starting the web app")
    serve = [str(BIN / "pmoflow"), "serve", *extra]
    if os.name == "posix":  # become the server: Ctrl+C and kill reach it, no orphan left
        sys.stdout.flush()
        os.chdir(ROOT)
        os.execve(serve[0], serve, env)
    return run(*serve, cwd=ROOT, env=env, check=False)


#: Static checks before the tests: lint, the engine's formatting (``ruff format``), types
#: (mypy over engine/, configured in pyproject.toml), the layers (import-linter contracts
#: in pyproject.toml).
CHECKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ruff check", ("ruff", "check", ".")),
    ("ruff format (engine)", ("ruff", "format", "--check", "engine")),
    ("type check (mypy engine)", ("mypy",)),
    ("import contracts (lint-imports)", ("lint-imports", "--no-cache")),
)


def cmd_test(extra: list[str]) -> int:
    # The suite runs on PostgreSQL too (postgres) and starts gunicorn (server).
    ensure_venv("test,postgres,server")
    ensure_chromium()
    for title, command in CHECKS:
        say(title)
        if run(BIN / command[0], *command[1:], cwd=ROOT, check=False) != 0:
            return 1
    say("pytest")
    return run(PY, "-m", "pytest", *_workers(extra), *extra, cwd=ROOT, check=False)


#: pytest-xdist workers: the CI machine has two cores (one Chromium and one PostgreSQL
#: schema per worker); ``-n 0`` (or any ``-n``/``-p no:xdist`` given) overrides it.
WORKERS = "2"


def _workers(extra: list[str]) -> list[str]:
    chosen = any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in extra)
    if chosen or "no:xdist" in extra or "--co" in extra or "--collect-only" in extra:
        return []
    return ["-n", WORKERS]


def cmd_lock(extra: list[str]) -> int:
    """Re-resolve the constraints file from setup.cfg (every extra) with pip-tools.

    Existing pins are kept unless setup.cfg no longer allows them; pass ``--upgrade`` (or
    ``--upgrade-package NAME``) to move to newer releases.
    """
    tools = ROOT / ".tmp" / "lock-venv"
    tools_bin = tools / BIN.name
    if not (tools_bin / "python").exists() or not list(tools_bin.glob("pip-compile*")):
        say(f"installing {PIP_TOOLS} in {tools}")
        venv.EnvBuilder(with_pip=True, clear=True).create(tools)
        run(tools_bin / "python", "-m", "pip", "install", "--quiet",
            "--disable-pip-version-check", PIP_TOOLS)
    say(f"resolving {CONSTRAINTS.relative_to(ROOT)}")
    env = {**os.environ, "CUSTOM_COMPILE_COMMAND": "python3 scripts/dev.py lock"}
    return run(tools_bin / "python", "-m", "piptools", "compile", "--quiet", "--all-extras",
               "--allow-unsafe", "--strip-extras", "--no-emit-index-url",
               "--no-emit-find-links", "--no-emit-trusted-host", "--newline", "lf",
               "--output-file", CONSTRAINTS.relative_to(ROOT), *extra,
               "pyproject.toml", "requirements/tools.in", cwd=ROOT, env=env, check=False)


def main(argv: list[str]) -> int:
    commands = {"serve": cmd_serve, "test": cmd_test, "lock": cmd_lock}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
