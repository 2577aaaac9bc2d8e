"""Values every template sees, and the engine handle for routes."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user

from engine.api import Engine
from pmoflow.wiring import Runtime
from webui.extensions import db
from webui.i18n import LANGUAGES


def runtime() -> Runtime:
    """The app's wired runtime (engine, config, session factory)."""
    return current_app.extensions["pmoflow"]


def engine() -> Engine:
    """The app's engine."""
    return runtime().engine


def template_globals() -> dict[str, object]:
    """Task counts for the navigation bar and the language list."""
    counts = {"mine": 0, "claimable": 0}
    if getattr(current_user, "is_authenticated", False):
        counts = engine().task_counts(db.session, current_user.username)
    return {"task_counts": counts, "languages": LANGUAGES}
