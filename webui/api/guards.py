"""Checks every API request passes before its route runs: body size, media type, JSON
that parses, and text the databases can store (no NUL, no lone surrogates).

Each failure is a 4xx problem, never a 500 from deep inside a database driver.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Response, request
from werkzeug.exceptions import BadRequest

from webui.api.problems import problem

#: Largest JSON body accepted (task data, delegations...); uploads have their own limit.
MAX_JSON_BYTES = 1024 * 1024
#: Endpoints whose body is multipart/form-data (file uploads) instead of JSON.
MULTIPART_ENDPOINTS: set[str] = set()
#: Deepest nesting of JSON values accepted (forms nest a few levels at most).
MAX_DEPTH = 32


def check_request() -> Response | None:
    """The problem that answers this request before its route runs, or None."""
    if any(isinstance(v, str) and unstorable(v) for v in (request.view_args or {}).values()):
        return problem("not-found", "Nothing has this name.")
    bad = list(_bad_text(request.args.items(multi=True), "query"))
    if bad:
        return _text_problem(bad)
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return None
    if request.endpoint in MULTIPART_ENDPOINTS:
        return _check_multipart()
    request.max_content_length = MAX_JSON_BYTES
    if not has_body():
        return None
    if not request.is_json:
        return problem("unsupported-media-type",
                       f"Send the body as application/json, not {request.mimetype or '?'}.")
    try:
        data = request.get_json()
    except BadRequest as exc:
        if getattr(exc, "code", 400) != 400:
            raise
        return problem("malformed-json", "The body is not valid JSON.")
    except RecursionError:
        return problem("malformed-json", "The body nests too deeply.")
    bad = list(_bad_values(data, ()))
    return _text_problem(bad) if bad else None


def has_body() -> bool:
    """Does this request carry a body (by length or chunked)?"""
    if request.content_length:
        return True
    return "chunked" in (request.headers.get("Transfer-Encoding") or "").lower()


def _check_multipart() -> Response | None:
    if has_body() and request.mimetype != "multipart/form-data":
        return problem("unsupported-media-type",
                       "Send the files as multipart/form-data (field 'files').")
    bad = list(_bad_text(request.form.items(multi=True), "body"))
    bad += [(f"files.{i}", "body") for i, f in enumerate(request.files.getlist("files"))
            if f.filename and unstorable(f.filename)]
    return _text_problem(bad) if bad else None


def unstorable(text: str | None) -> bool:
    """Text a database refuses to store: a NUL character or a lone surrogate."""
    if not text:
        return False
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _bad_text(items: Iterable[tuple[str, str]], where: str) -> Iterable[tuple[str, str]]:
    for key, value in items:
        if unstorable(key) or unstorable(value):
            yield (key if not unstorable(key) else "(name)", where)


def _bad_values(value: Any, path: tuple[str, ...]) -> Iterable[tuple[str, str]]:
    """Where ``value`` holds text a database cannot store, or nests too deeply."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if len(where) > MAX_DEPTH:
            yield (".".join(where[:MAX_DEPTH]) + "...", "body")
            return
        if isinstance(item, str):
            if unstorable(item):
                yield (".".join(where) or "(body)", "body")
        elif isinstance(item, dict):
            for key, child in item.items():
                if unstorable(key):
                    yield (".".join((*where, "(name)")), "body")
                else:
                    stack.append((child, (*where, key)))
        elif isinstance(item, list):
            stack.extend((child, (*where, str(i))) for i, child in enumerate(item))


def _text_problem(bad: list[tuple[str, str]]) -> Response:
    message = (f"Nested deeper than {MAX_DEPTH} levels." if bad[0][0].endswith("...")
               else "Text may not contain NUL characters or lone surrogates.")
    return problem("invalid-data", message, code="invalid_data",
                   errors=[{"field": field, "in": where, "code": "invalid_text",
                            "message": message} for field, where in bad[:50]])
