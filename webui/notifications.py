"""The bell: my notifications, opening one (which marks it read), marking all read."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from webui import wording
from webui.context import back, bpm, safe_next, username
from webui.extensions import db
from webui.i18n import gettext as _
from workflows.records import pages as pmo_pages

bp = Blueprint("notifications", __name__)

LIMIT = 50


@bp.get("/notifications")
@login_required
def index():
    """The newest notifications (all, or unread only)."""
    unread_only = request.args.get("show") == "unread"
    listing = pmo_pages.notification_list(bpm(), db.session, username(),
                                          unread_only=unread_only, limit=LIMIT)
    wording.name_people_of(listing.items)  # one read for the names the texts show
    return render_template("notifications.html", listing=listing, unread_only=unread_only)


@bp.get("/notifications/<dbid:notification_id>/open")
@login_required
def open_one(notification_id: int):
    """Mark one of my notifications read and follow its link (403 if not mine)."""
    note = pmo_pages.notification(db.session, notification_id, username())
    if note.read_at is None:
        bpm().mark_notifications_read(db.session, username(), [note.id])
    return redirect(safe_next(note.link, url_for("notifications.index")))


@bp.post("/notifications/read")
@login_required
def read_all():
    """Mark all my notifications read."""
    count = bpm().mark_notifications_read(db.session, username())
    if count:
        flash(_("All notifications are marked read."), "success")
    return back(url_for("notifications.index"))
