"""Error pages in the app's style, and the one place engine errors become HTTP answers."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from engine.errors import EngineError
from webui.extensions import db

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    409: "Someone else was quicker",
    413: "Too large",
    422: "Cannot do that",
    500: "Something went wrong",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def render_error(status: int, message: str):
    """An error answer as HTML (or JSON for API calls)."""
    if _wants_json():
        return jsonify({"error": message, "status": status}), status
    title = _(TITLES.get(status, "Error"))
    return render_template("error.html", status=status, title=title, message=message), status


def register(app: Flask) -> None:
    """Install the handlers on the app."""

    @app.errorhandler(EngineError)
    def engine_error(exc: EngineError):
        db.session.rollback()
        return render_error(exc.status, str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return render_error(exc.code or 500, exc.description or "")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500, _("The error was logged. Please try again or tell the "
                                   "PMO administrator."))
