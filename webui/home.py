"""The start page: what I can start, and how many tasks wait for me."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from webui.context import engine
from webui.extensions import db

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    """The signed-in user's start page."""
    processes = engine().definitions(db.session)
    return render_template("home.html", processes=processes)


@bp.route("/healthz")
def healthz():
    """Liveness probe for operators."""
    return {"status": "ok"}
