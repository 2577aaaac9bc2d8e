"""Values every template sees, the engine handle for routes, and small route helpers."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import current_app, redirect, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.api import Engine
from engine.pages import ADMIN_ROLE, PMO_ROLES, PROCESS_OWNER_ROLE, badge
from webui.extensions import db
from webui.i18n import LANGUAGES, bound_template_gettext
from webui.messages import role_label, role_labels
from webui.settings import WebState
from webui.unavailable import database_down


def runtime() -> WebState:
    """The app's settings, workflow engine and session factory."""
    return current_app.extensions["pmoflow"]


def bpm() -> Engine:
    """The app's engine."""
    return runtime().engine


def username() -> str:
    """The signed-in user's username."""
    return current_user.username


def locale() -> str:
    """The current language code (``en`` or ``zh``)."""
    return str(get_locale() or "en").split("_")[0]


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(
        target
    ).netloc and "\\" not in target:
        return target
    return default


def back(default: str) -> Response:
    """Redirect to the form's ``next`` field (same site only) or ``default``."""
    return redirect(safe_next(request.form.get("next"), default))


_MARK = 987654321987


def id_url(endpoint: str, key: str) -> Callable[[int], str]:
    """``url_for(endpoint, key=id)`` for the many ids of a table: the route is built once,
    then each id is formatted into it (a row of the inbox links three times)."""
    head, _sep, tail = url_for(endpoint, **{key: _MARK}).partition(str(_MARK))
    return lambda value: f"{head}{int(value)}{tail}"


def template_globals() -> dict[str, object]:
    """Task counts and the unread notifications for the navigation bar, the language list,
    role names and checks."""
    counts: dict[str, int | str] = {"mine": 0, "claimable": 0}
    roles: tuple[str, ...] = ()
    unread = 0
    if getattr(current_user, "is_authenticated", False) and not database_down():
        found = bpm().nav_counts(db.session, current_user.username)
        # bounded counts ("99+" from BADGE_CAP on): a page's cost never grows with the
        # whole system's open tasks
        counts = {k: badge(found[k]) if found[k] else 0 for k in ("mine", "claimable")}
        unread = found["unread"]
        roles = current_user.roles
    return {
        "_": bound_template_gettext(),
        "task_counts": counts,
        "unread_notifications": unread,
        "languages": LANGUAGES,
        "lang": locale(),
        "role_label": role_label,
        "role_labels": role_labels,
        "is_pmo": bool(set(roles) & PMO_ROLES),
        "is_admin": ADMIN_ROLE in roles,
        "is_process_owner": PROCESS_OWNER_ROLE in roles,
        "home_url": url_for("home.index"),
    }
