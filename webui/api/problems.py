"""Errors of the API as RFC 9457 ``application/problem+json``: the one place they are made.

Every 4xx/5xx answer under ``/api/v1`` is a problem object::

    {"type": "/api/v1/problems/conflict", "title": "Conflict", "status": 409,
     "detail": "task 7 is already claimed by pmohead", "code": "conflict",
     "errors": [{"field": "budget", "code": "invalid", "message": "..."}]}

``type`` is a stable URI per kind of error (:data:`KINDS`; ``GET`` on it describes it),
``code`` a stable finer-grained code (the engine error's own ``code`` when it has one),
``errors`` lists per-field problems (422, each with ``code`` and ``params``),
``problems`` diagram problems (deployments).  Clients branch on ``type``/``code``; people
read ``detail`` and the field messages, said in the request's language (the user's choice,
else ``Accept-Language``) from the code and params (see ``docs/errors.md``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Response, json, request
from werkzeug.exceptions import HTTPException

from engine.errors import (
    Conflict,
    EngineError,
    Forbidden,
    InvalidData,
    InvalidDiagram,
    NotFound,
    TaskFailed,
)
from webui.messages import say

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
TYPE_BASE = f"{PREFIX}/problems/"
MEDIA_TYPE = "application/problem+json"

#: kind -> (status, title, what it means). The kind is the last segment of ``type``.
KINDS: dict[str, tuple[int, str, str]] = {
    "bad-request": (400, "Bad request", "The request could not be understood."),
    "malformed-json": (400, "Malformed JSON", "The body is not valid JSON."),
    "unauthorized": (401, "Authentication required",
                     "Send Authorization: Bearer <token> (or sign in, in a browser)."),
    "forbidden": (403, "Not allowed", "You may not do this (role, project, four eyes...)."),
    "csrf": (403, "CSRF token missing or invalid",
             "A browser-session request that changes something needs an X-CSRFToken "
             "header."),
    "not-found": (404, "Not found", "Nothing has this id or key (any more)."),
    "method-not-allowed": (405, "Method not allowed", "This URL does not take this method."),
    "not-acceptable": (406, "Not acceptable", "Only JSON can be returned."),
    "conflict": (409, "Conflict", "Someone else changed or took it first; reload and "
                 "decide again."),
    "payload-too-large": (413, "Payload too large", "The body is larger than allowed."),
    "unsupported-media-type": (415, "Unsupported media type",
                               "Send application/json (multipart/form-data for files)."),
    "invalid-data": (422, "Invalid data", "Fields failed validation; see errors."),
    "invalid-diagram": (422, "Invalid diagram", "The files cannot be deployed; see problems."),
    "task-failed": (422, "Process step failed", "A script, condition or decision of the "
                    "process failed; nothing was saved."),
    "unprocessable": (422, "Cannot do that", "The request is understood but cannot be done."),
    "too-many-requests": (429, "Too many requests", "Slow down."),
    "server-error": (500, "Server error", "Something went wrong on our side; it was logged."),
    "unavailable": (503, "Service unavailable", "The database cannot be reached right now; "
                    "nothing was changed. Retry after the seconds Retry-After names."),
}

_BY_STATUS = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
              405: "method-not-allowed", 406: "not-acceptable", 409: "conflict",
              413: "payload-too-large", 415: "unsupported-media-type", 422: "unprocessable",
              429: "too-many-requests"}


def is_api_request() -> bool:
    """True for requests under ``/api/v1`` (their errors are problem+json)."""
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def problem(kind: str, detail: str = "", *, status: int | None = None,
            headers: Mapping[str, str] | None = None, **extra: Any) -> Response:
    """A problem+json response of ``kind`` (a key of :data:`KINDS`)."""
    code, title, _meaning = KINDS.get(kind, KINDS["server-error"])
    status = status or code
    body: dict[str, Any] = {"type": TYPE_BASE + kind, "title": title, "status": status,
                            "detail": detail or title}
    body.update({k: v for k, v in extra.items() if v is not None})
    body.setdefault("code", kind.replace("-", "_"))
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def unauthorized(detail: str, *, invalid: bool = False) -> Response:
    """401 with the ``WWW-Authenticate: Bearer`` challenge."""
    challenge = 'Bearer realm="pmoflow"' + (', error="invalid_token"' if invalid else "")
    return problem("unauthorized", detail, headers={"WWW-Authenticate": challenge},
                   code="token.invalid" if invalid else "auth.required")


# --------------------------------------------------------------------------- engine errors


def field_errors(errors: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``InvalidData.errors`` as ``[{"field", "code", "params", "message"}]``: the
    engine's ``FieldError`` code and params, the message in the request's language."""
    out = []
    for field, err in errors.items():
        entry: dict[str, Any] = {"field": str(field),
                                 "code": getattr(err, "code", None) or "form.invalid",
                                 "message": say(err)}
        params = getattr(err, "params", None)
        if params:
            entry["params"] = dict(params)
        out.append(entry)
    return out


def engine_problem(exc: EngineError, **extra: Any) -> Response:
    """The problem for an engine error (``extra``: more members, e.g. the task now):
    ``code`` and ``params`` as the engine gave them, ``detail`` said from them."""
    common: dict[str, Any] = {"code": exc.code, "params": dict(exc.params) or None, **extra}
    if isinstance(exc, InvalidData):
        detail = "; ".join(f"{k or '(form)'}: {say(v)}" for k, v in exc.errors.items())
        return problem("invalid-data", detail, errors=field_errors(exc.errors), **common)
    if isinstance(exc, InvalidDiagram):
        return problem("invalid-diagram", say(exc),
                       problems=[p.to_dict() for p in exc.problems], **common)
    if isinstance(exc, TaskFailed):
        return problem("task-failed", say(exc), element_id=exc.element_id,
                       element_name=exc.element_name, line=exc.line, **common)
    for cls, kind in ((NotFound, "not-found"), (Forbidden, "forbidden"),
                      (Conflict, "conflict")):
        if isinstance(exc, cls):
            return problem(kind, say(exc), **common)
    if exc.status >= 500:
        log.error("engine error on %s %s: %s", request.method, request.path, exc)
        return problem("server-error", **common)
    return problem(_BY_STATUS.get(exc.status, "bad-request"), say(exc),
                   status=exc.status if 400 <= exc.status < 500 else 400, **common)


# --------------------------------------------------------------------------- HTTP errors


def http_problem(exc: HTTPException) -> Response:
    """The problem for a werkzeug/Flask HTTP error (including request validation)."""
    status = exc.code or 500
    if status >= 500:
        return problem("server-error")
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") if isinstance(data, Mapping) else None
    if status == 422 and messages:  # webargs/marshmallow validation of a declared schema
        return problem("invalid-data", "Request fields failed validation.",
                       errors=list(_flatten(messages)), code="invalid_data")
    if status == 400 and "CSRF" in (exc.description or ""):
        return problem("csrf", exc.description or "")
    headers = {}
    if status == 405:
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    kind = _BY_STATUS.get(status, "bad-request" if status < 500 else "server-error")
    detail = data.get("message") if isinstance(data, Mapping) else None
    return problem(kind, detail or exc.description or "", status=status, headers=headers)


_MESSAGE_CODES = {
    "Unknown field.": "unknown_field",
    "Missing data for required field.": "required",
    "Field may not be null.": "null",
}


def _flatten(messages: Any, path: tuple[str, ...] = ()) -> Iterable[dict[str, Any]]:
    """webargs' ``{"json": {"to": ["Missing data..."]}}`` as flat per-field errors."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            yield from _flatten(value, (*path, str(key)))
        return
    if isinstance(messages, list | tuple) and messages and all(
            isinstance(m, str) for m in messages):
        location, *field = path or ("body",)
        for message in messages:
            yield {"field": ".".join(field) or "(body)", "in": location,
                   "code": _MESSAGE_CODES.get(message, "invalid"), "message": message}
        return
    if isinstance(messages, list | tuple):
        for i, value in enumerate(messages):
            yield from _flatten(value, (*path, str(i)))
        return
    location, *field = path or ("body",)
    yield {"field": ".".join(field) or "(body)", "in": location, "code": "invalid",
           "message": str(messages)}


def unexpected_problem(exc: BaseException) -> Response:
    """500 without details (the traceback goes to the log only)."""
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return problem("server-error")


def kinds_document() -> dict[str, Any]:
    """Every problem type with its status, title and meaning (served under ``type``)."""
    return {TYPE_BASE + k: {"status": s, "title": t, "description": d}
            for k, (s, t, d) in KINDS.items()}
