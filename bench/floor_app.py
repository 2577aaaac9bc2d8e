"""The transport floor of ``bench/http_bench.py``: a bare WSGI app under the same gunicorn.

It answers every request with ``FLOOR_BYTES`` bytes of HTML and does nothing else (no
Flask, no session, no database, no template), so the time a client waits for it is what
gunicorn, the loopback connection and the client itself cost per request on this machine:
no page of the product can be answered faster.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

_BODY = (b"<!doctype html><title>floor</title>"
         + b"x" * max(0, int(os.environ.get("FLOOR_BYTES", "1000")) - 35))


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer 200 with the fixed body."""
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(_BODY)))])
    return [_BODY]
