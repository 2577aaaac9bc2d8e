"""Health checks for load balancers and operators, open to anyone, never cached.

``/livez``: the process answers (no database involved).  ``/healthz``: and the database
answers too; 503 with ``Retry-After`` while it does not.  Pages and API calls made while
the database is away get the same 503 (:mod:`webui.unavailable`).
"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError

from webui.context import bpm
from webui.extensions import db
from webui.unavailable import RETRY_AFTER_SECONDS

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

_NO_CACHE = {"Cache-Control": "no-store"}


@bp.get("/livez")
def livez():
    """The process is up."""
    return jsonify(status="ok"), 200, _NO_CACHE


@bp.get("/healthz")
def healthz():
    """The process is up and the database answers."""
    try:
        bpm().ping(db.session)
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("health check: the database does not answer: %s",
                    " ".join(str(getattr(exc, "orig", None) or exc).split())[:300])
        return (jsonify(status="unavailable", database="unreachable"), 503,
                {**_NO_CACHE, "Retry-After": str(RETRY_AFTER_SECONDS)})
    return jsonify(status="ok", database="ok"), 200, _NO_CACHE
