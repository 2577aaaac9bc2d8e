"""The start page: how many tasks wait for me, what I can start, my latest requests."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from engine import pages
from webui import demo
from webui.context import bpm, username
from webui.extensions import db

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    """The signed-in user's start page."""
    requests = pages.my_requests(bpm(), db.session, username(), limit=5)
    return render_template("home.html", requests=requests,
                           first_step=demo.first_step(current_user.roles))

