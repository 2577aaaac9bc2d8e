#!/usr/bin/env python3
"""Set up a virtual environment and run PMOflow or its tests (needs only Python 3.11+).

    python3 scripts/dev.py serve   # venv, install, `pmoflow init --demo`, `pmoflow serve`
    python3 scripts/dev.py test    # venv, install (+ Chromium), ruff, the whole test suite

Anything after the command is passed on (to pytest, or to `pmoflow serve`).
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


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*cmd: str | Path, check: bool = True, **kw) -> int:
    return subprocess.run([str(c) for c in cmd], check=check, **kw).returncode


def ensure_venv(extras: str) -> None:
    """Create the venv and (re)install the project when its requirements changed."""
    if not PY.exists():
        say(f"creating virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    # Reinstall when the requirements or the set of top-level packages change (the
    # editable install maps each package it found when it ran).
    packages = "\n".join(sorted(p.parent.name for p in ROOT.glob("*/__init__.py")))
    digest = hashlib.sha256((ROOT / "setup.cfg").read_bytes() + extras.encode()
                            + packages.encode()).hexdigest()
    stamp = VENV / f".pmoflow-installed-{extras or 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    say("installing PMOflow and its dependencies (first run takes a minute)")
    run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--upgrade", "pip")
    target = f".[{extras}]" if extras else "."
    run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", target,
        cwd=ROOT)
    stamp.write_text(digest)


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
    say("preparing the database (demo users, every process in bpmn/)")
    run(BIN / "pmoflow", "init", "--demo", cwd=ROOT)
    return run(BIN / "pmoflow", "serve", *extra, cwd=ROOT, check=False)


def cmd_test(extra: list[str]) -> int:
    ensure_venv("test")
    ensure_chromium()
    say("ruff check")
    if run(BIN / "ruff", "check", ".", cwd=ROOT, check=False) != 0:
        return 1
    say("pytest")
    return run(PY, "-m", "pytest", *extra, cwd=ROOT, check=False)


def main(argv: list[str]) -> int:
    commands = {"serve": cmd_serve, "test": cmd_test}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
