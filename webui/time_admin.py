"""Time on the install: the PMO administrator's calendar (extra holidays and make-up
working days) and, on a demo or test install, moving the clock forward.

Every request first copies the install's clock offset from the database into the
engine's clock (:func:`sync_clock`), so pages, actions, the worker and the CLI agree on
"now"; while the clock is not real time every page shows a banner.  Thin routes: one
engine verb each; the engine refuses everyone but a PMO administrator (403).
"""

from __future__ import annotations

import contextlib

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask import session as web_session
from flask_login import login_required

from engine.errors import InvalidData
from webui.auth import PRELOADED, user_ref
from webui.context import bpm, username
from webui.extensions import db
from webui.i18n import gettext as _
from webui.messages import say
from webui.unavailable import database_down

bp = Blueprint("time_admin", __name__, url_prefix="/admin/time")


def sync_clock() -> None:
    """Before each page: read the install's status (demo, clock offset) for this request,
    with the signed-in user in the same statement (Flask-Login's loader then takes it:
    ``webui.auth.load_user``)."""
    if request.endpoint == "static" or database_down():
        return
    raw = (web_session.get("_user_id")
           if current_app.config["SESSION_COOKIE_NAME"] in request.cookies else None)
    ref = user_ref(raw) if isinstance(raw, str) else None
    try:
        g.install, user = bpm().begin_request(db.session, *(ref or ()))
        if ref is not None:
            setattr(g, PRELOADED, (raw, user))
    except Exception:  # the page itself reports a database that is down ...
        g.install = None
        # ... with its own query, which must meet the outage (a DBAPIError: 503), not the
        # transaction this failed read left behind (PendingRollbackError: a 500).
        with contextlib.suppress(Exception):
            db.session.rollback()


def _render(errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
            status: int = 200):
    days = bpm().calendar_days(db.session, username())
    start, end = bpm().working_hours(db.session)
    return render_template("admin_time.html", days=days, status=bpm().install_status(db.session),
                           hours=f"{start:%H:%M}-{end:%H:%M}",
                           config_zone=bpm().settings.calendar_time_zone,
                           errors=errors or {}, form=form or {}), status


@bp.get("")
@login_required
def index():
    """The calendar list and the clock."""
    return _render()


@bp.post("/calendar")
@login_required
def save_calendar():
    """Replace the PMO's days; a bad line comes back named, nothing saved."""
    text = request.form.get("days", "")
    try:
        saved = bpm().save_calendar_days(db.session, username(), text)
    except InvalidData as exc:
        return _render({k: say(v) for k, v in exc.errors.items()}, {"days": text}, 422)
    flash(_("The calendar was saved (%(count)s days).", count=len(saved)), "success")
    return redirect(url_for("time_admin.index"))


@bp.post("/clock")
@login_required
def advance_clock():
    """Move a demo install's clock forward."""
    duration = request.form.get("duration", "")
    try:
        status = bpm().advance_clock(db.session, username(), duration)
    except InvalidData as exc:
        return _render({k: say(v) for k, v in exc.errors.items()}, {"duration": duration}, 422)
    flash(_("The clock now reads %(now)s.", now=status.now.strftime("%Y-%m-%d %H:%M UTC")),
          "success")
    return redirect(url_for("time_admin.index"))


@bp.post("/hours")
@login_required
def save_hours():
    """Set the working hours that SLAs in hours count."""
    text = request.form.get("working_hours", "")
    try:
        start, end = bpm().set_working_hours(db.session, username(), text)
    except InvalidData as exc:
        return _render({k: say(v) for k, v in exc.errors.items()}, {"working_hours": text}, 422)
    flash(_("Working hours are now %(start)s to %(end)s.", start=f"{start:%H:%M}",
            end=f"{end:%H:%M}"), "success")
    return redirect(url_for("time_admin.index"))


@bp.post("/clock/reset")
@login_required
def reset_clock():
    """Put a moved clock back to real time."""
    bpm().reset_clock(db.session, username())
    flash(_("The clock is back to real time."), "success")
    return redirect(url_for("time_admin.index"))
