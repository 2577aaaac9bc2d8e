"""The secret key file: created once, atomically, readable by its owner only.

Several processes may start at once on an empty instance folder (gunicorn workers, a
worker beside ``pmoflow serve``). Each writes a complete key to its own temporary file
(mode 0600) in the same folder and hard-links it to the final name; ``os.link`` fails when
the name exists, so exactly one key wins and every process reads that one. Nobody ever
sees a half-written file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import time
from pathlib import Path

#: How long a reader waits for a key another process is still writing (no-link fallback).
_WAIT_SECONDS = 2.0


def read_or_create(path: Path) -> str:
    """The key stored at ``path``, creating a random one (mode 0600) if there is none."""
    key = _read(path)
    if key is not None:
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    _publish(path, secrets.token_hex(32))
    key = _read(path, wait=_WAIT_SECONDS)
    if key is None:
        raise SystemExit(f"configuration error: the secret key file {path} is empty; "
                         "delete it to have a new key made, or set SECRET_KEY")
    return key


def _publish(path: Path, key: str) -> None:
    """Put ``key`` at ``path`` unless some key is already there."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won: use its key
        except OSError:
            _publish_without_links(path, key)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _publish_without_links(path: Path, key: str) -> None:
    """For file systems without hard links: ``O_EXCL`` creates the name once; readers
    wait until the winner has written its key."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")


def _read(path: Path, wait: float = 0.0) -> str | None:
    """The stripped key, or None when there is no file (or it stays empty for ``wait``)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            key = path.read_text().strip()
        except FileNotFoundError:
            return None
        if key or time.monotonic() >= deadline:
            return key or None
        time.sleep(0.05)
