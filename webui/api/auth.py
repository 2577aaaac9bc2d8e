"""Who is calling the API: a personal token, or the browser's signed-in session.

- ``Authorization: Bearer <token>``: the token's owner; no CSRF token needed (a page on
  another site cannot make a browser send this header).
- No ``Authorization`` header but a Flask-Login session cookie: the signed-in user; then a
  request that changes something (POST, PUT, PATCH, DELETE) must carry a valid
  ``X-CSRFToken`` header (Flask-WTF), or it is refused with 403.
- Neither: 401 with ``WWW-Authenticate: Bearer``, never a redirect to the sign-in page.
"""

from __future__ import annotations

from flask import Response, g, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from webui.api.problems import problem, unauthorized
from webui.context import bpm
from webui.extensions import csrf, db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def authenticate() -> Response | None:
    """Set ``g.api_user`` (and ``g.api_auth``: ``token`` or ``session``) for this request,
    or return the 401/403 problem that answers it."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _sep, secret = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return unauthorized("Use Authorization: Bearer <token>.", invalid=True)
        username = bpm().authenticate_token(db.session, secret.strip())
        if username is None:
            return unauthorized("The token is unknown, expired or revoked.", invalid=True)
        g.api_user, g.api_auth = username, "token"
        return None
    if getattr(current_user, "is_authenticated", False):
        if request.method not in SAFE_METHODS:
            try:
                csrf.protect()
            except CSRFError as exc:
                return problem("csrf", exc.description or "The CSRF token is missing.")
        g.api_user, g.api_auth = current_user.username, "session"
        return None
    return unauthorized("Send Authorization: Bearer <token>.")


def actor() -> str:
    """The username the current API request acts as."""
    return g.api_user
