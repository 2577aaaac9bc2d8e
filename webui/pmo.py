"""PMO pages: every running request, and reassigning any open task (PMO admin)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine import pages
from engine.errors import InvalidData, NotFound
from webui.context import back, bpm, username
from webui.extensions import db
from webui.i18n import gettext as _
from webui.messages import field_message
from webui.paging import Paging, page_arg

bp = Blueprint("pmo", __name__)

PER_PAGE = 25


@bp.get("/pmo/instances")
@login_required
def running():
    """All running requests with their current step and age (PMO roles only)."""
    process = request.args.get("process", "").strip()
    page_no = page_arg()
    listing = pages.running_instances(bpm(), db.session, username(),
                                      process_key=process or None,
                                      offset=(page_no - 1) * PER_PAGE, limit=PER_PAGE)
    return render_template("pmo_running.html", listing=listing, process=process,
                           paging=Paging(page_no, PER_PAGE, listing.total))


@bp.post("/tasks/<dbid:task_id>/reassign")
@login_required
def reassign(task_id: int):
    """Give any open task to a named person, with a reason (PMO administrator only)."""
    to_user = request.form.get("to_user", "").strip()
    fallback = url_for("pmo.running")
    try:
        task = bpm().reassign(db.session, task_id, username(), to_user,
                                 request.form.get("reason", ""))
    except InvalidData as exc:
        for message in exc.errors.values():
            flash(field_message(message), "error")
        return back(fallback)
    except NotFound:
        flash(_("There is no user named “%(user)s”.", user=to_user), "error")
        return back(fallback)
    flash(_("“%(step)s” was reassigned to %(user)s.", step=task.name, user=to_user), "success")
    return redirect(url_for("instances.show", instance_id=task.instance_id))
