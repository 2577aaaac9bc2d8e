"""The database is away: answer 503 with ``Retry-After`` instead of a 500, and recover by
itself when it is back (the pool drops dead connections; PostgreSQL pings on checkout).

Only connection-level failures count: the server unreachable or gone mid-request
(``OperationalError``, ``InterfaceError``, any driver error after which SQLAlchemy
invalidated the connection) and an exhausted pool.  The error page is rendered without
touching the database again: no user is loaded for it and the navigation bar's counts are
left out.
"""

from __future__ import annotations

import contextlib
import logging

from flask import g
from flask_login import AnonymousUserMixin
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from webui.extensions import db

log = logging.getLogger(__name__)

#: What ``Retry-After`` asks clients to wait (seconds).
RETRY_AFTER_SECONDS = 30
#: ``g`` flag: this request found the database away (templates skip what needs it).
FLAG = "pmoflow_database_down"


def is_unavailable(exc: BaseException) -> bool:
    """Is ``exc`` the database being unreachable (rather than a bad statement)?"""
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def database_down() -> bool:
    """True once this request has found the database away."""
    return bool(g.get(FLAG))


def enter_outage(exc: SQLAlchemyError) -> None:
    """Roll back, log one line and make the rest of this request work without the
    database (an anonymous user unless one was loaded before)."""
    with contextlib.suppress(SQLAlchemyError):
        db.session.rollback()
    log.warning("database unavailable: %s",
                " ".join(str(getattr(exc, "orig", None) or exc).split())[:300])
    setattr(g, FLAG, True)
    if "_login_user" not in g:  # Flask-Login's per-request user: do not load it now
        g._login_user = AnonymousUserMixin()
