"""My requests: everything I started, where it is, and withdrawing it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine import pages
from engine.errors import InvalidData
from webui.context import bpm, username
from webui.extensions import db
from webui.i18n import gettext as _
from webui.messages import field_message
from webui.paging import Paging, page_arg

bp = Blueprint("requests", __name__)

PER_PAGE = 25
STATUSES = ("running", "completed", "cancelled")


@bp.get("/requests")
@login_required
def index():
    """One page of the instances I started (filtered by status)."""
    status = request.args.get("status", "")
    status = status if status in STATUSES else ""
    page_no = page_arg()
    listing = pages.my_requests(bpm(), db.session, username(), status=status or None,
                                offset=(page_no - 1) * PER_PAGE, limit=PER_PAGE)
    return render_template("requests.html", listing=listing, status=status, statuses=STATUSES,
                           paging=Paging(page_no, PER_PAGE, listing.total))


@bp.post("/requests/<dbid:instance_id>/withdraw")
@login_required
def withdraw(instance_id: int):
    """Withdraw my running request, with a reason (only its starter may)."""
    try:
        bpm().withdraw(db.session, instance_id, username(), request.form.get("reason", ""))
    except InvalidData as exc:
        for message in exc.errors.values():
            flash(field_message(message), "error")
        return redirect(url_for("instances.show", instance_id=instance_id))
    flash(_("Your request was withdrawn."), "info")
    return redirect(url_for("instances.show", instance_id=instance_id))


@bp.post("/requests/<dbid:instance_id>/close-wait")
@login_required
def close_wait(instance_id: int):
    """Close a waiting period the process marks closable (e.g. the lessons window) now,
    with a reason (the request's starter or the PMO)."""
    try:
        bpm().close_wait_early(db.session, instance_id, username(), request.form.get("reason", ""))
    except InvalidData as exc:
        for message in exc.errors.values():
            flash(field_message(message), "error")
        return redirect(url_for("instances.show", instance_id=instance_id))
    flash(_("The waiting period was closed early."), "success")
    return redirect(url_for("instances.show", instance_id=instance_id))
