"""Error pages in the app's style, and the one place engine errors become HTTP answers
(problem+json under ``/api/v1``: :mod:`webui.api.problems`)."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from engine.errors import EngineError
from webui import unavailable
from webui.api import problems
from webui.extensions import db
from webui.i18n import lazy_gettext as _l
from webui.messages import say

log = logging.getLogger(__name__)

TITLES = {
    400: _l("Bad request"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Not allowed here"),
    409: _l("Someone else was quicker"),
    413: _l("Too large"),
    422: _l("Cannot do that"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
    503: _l("Temporarily unavailable"),
}

LEADS = {
    400: _l("The request was not understood. If you used an old page, reload it and try "
            "again."),
    403: _l("You do not have access to this page. If you think you should, ask the PMO "
            "administrator."),
    404: _l("This page or item does not exist (any more)."),
    409: _l("Someone else changed this first, so nothing you entered was saved. Reload "
            "to see where it stands now."),
    413: _l("What you sent is too large."),
    422: _l("This could not be done."),
    429: _l("This was tried too often in a short time."),
    500: _l("The error was logged. Please try again or tell the PMO administrator."),
    503: _l("The database cannot be reached at the moment, so nothing was changed and "
            "nothing is half-done. Try again in a minute."),
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def render_error(status: int, detail: str = "", headers: dict[str, str] | None = None):
    """An error answer as HTML (or JSON for API calls)."""
    if _wants_json():
        body = jsonify({"error": detail or str(LEADS.get(status, "")), "status": status})
        return body, status, headers or {}
    return render_template("error.html", status=status, title=TITLES.get(status, _l("Error")),
                           lead=LEADS.get(status, ""), detail=detail), status, headers or {}


def register(app: Flask) -> None:
    """Install the handlers on the app."""

    @app.errorhandler(EngineError)
    def engine_error(exc: EngineError):
        db.session.rollback()
        if problems.is_api_request():
            return problems.engine_problem(exc)
        return render_error(exc.status, say(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if problems.is_api_request():
            return problems.http_problem(exc)
        code = exc.code or 500
        detail = exc.description if code == 400 and "CSRF" in (exc.description or "") else ""
        return render_error(code, detail)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        db.session.rollback()
        if problems.is_api_request():
            return problems.unexpected_problem(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500)

    @app.errorhandler(DBAPIError)
    @app.errorhandler(DisconnectionError)
    @app.errorhandler(PoolTimeout)
    def database_error(exc: Exception):
        if not unavailable.is_unavailable(exc):
            return unexpected(exc)
        unavailable.enter_outage(exc)
        retry = {"Retry-After": str(unavailable.RETRY_AFTER_SECONDS)}
        if problems.is_api_request():
            return problems.problem("unavailable", "The database cannot be reached right "
                                    "now; nothing was changed. Retry later.", headers=retry)
        return render_error(503, headers=retry)
