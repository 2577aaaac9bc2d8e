"""The ops console (PMO administrator): instances by status with search, one instance with
its tokens and incidents, and the actions on it.  Thin: each route parses the form and
calls one engine verb; the engine refuses everyone but a PMO administrator (403), and an
action on an instance that moved on since the page was loaded is a 409 saying what
changed (each form carries the revision it saw)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.errors import Conflict, EngineError, InvalidData, NotFound
from webui.context import bpm, username
from webui.extensions import db
from webui.i18n import gettext as _
from webui.messages import say
from webui.paging import Paging, page_arg
from webui.portfolio import project_labels
from workflows.records import projects as pmo_projects

bp = Blueprint("ops", __name__, url_prefix="/ops")

PER_PAGE = 25
#: The status tabs, in order.
STATUSES = ("running", "suspended", "incident", "completed", "cancelled")


def _project_id(text: str) -> int | None:
    """A project id from an id or a code such as PRJ-2026-0001 (-1: no such project)."""
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    try:
        return pmo_projects.get_project_by_code(db.session, text.upper()).id
    except EngineError:
        db.session.rollback()
        return -1


@bp.get("")
@login_required
def index():
    """Instances by status, newest first, with search and paging."""
    args = request.args
    status = args.get("status", "").strip() or None
    if status not in STATUSES:
        status = None
    query = {k: args.get(k, "").strip() for k in ("q", "process", "project", "requester")}
    page_no = page_arg()
    listing = bpm().ops_instances(
        db.session, username(), status=status, search=query["q"],
        process_key=query["process"] or None, project_id=_project_id(query["project"]),
        requester=query["requester"] or None, offset=(page_no - 1) * PER_PAGE, limit=PER_PAGE)
    recent = bpm().ops_recent(db.session, username(), limit=8)
    return render_template(
        "ops_list.html", listing=listing, status=status, query=query, statuses=STATUSES,
        paging=Paging(page_no, PER_PAGE, listing.total), recent=recent,
        projects=project_labels({r.project_id for r in listing.rows}))


def _page(instance_id: int, *, status: int = 200, errors: dict[str, str] | None = None,
          form: dict[str, Any] | None = None, conflict: str = ""):
    page = bpm().ops_instance(db.session, username(), instance_id)
    return render_template("ops_instance.html", page=page, errors=errors or {},
                           form=form or {}, conflict=conflict,
                           projects=project_labels({page.instance.project_id})), status


def _revision() -> int | None:
    raw = request.form.get("revision", "").strip()
    return int(raw) if raw.isdigit() else None


def _act(instance_id: int, action: str, verb, success: str):
    """Run one action; on bad input or a stale page answer the page with why."""
    form = request.form.to_dict()
    try:
        verb()
    except InvalidData as exc:
        db.session.rollback()
        errors = {f"{action}.{k}": say(v) for k, v in exc.errors.items()}
        return _page(instance_id, status=422, errors=errors, form={action: form})
    except Conflict as exc:
        db.session.rollback()
        return _page(instance_id, status=409, conflict=say(exc))
    except NotFound:
        raise
    except EngineError as exc:  # a step failed again, say: shown on the page, nothing saved
        db.session.rollback()
        return _page(instance_id, status=exc.status if exc.status < 500 else 422,
                     conflict=say(exc))
    flash(success, "success")
    return redirect(url_for("ops.instance", instance_id=instance_id))


@bp.get("/instances/<dbid:instance_id>")
@login_required
def instance(instance_id: int):
    """One instance: tokens, incidents, actions, history."""
    return _page(instance_id)


@bp.post("/instances/<dbid:instance_id>/suspend")
@login_required
def suspend(instance_id: int):
    """Hold the instance."""
    return _act(instance_id, "suspend", lambda: bpm().suspend(
        db.session, username(), instance_id, request.form.get("reason", ""),
        revision=_revision()), _("The request is suspended."))


@bp.post("/instances/<dbid:instance_id>/resume")
@login_required
def resume(instance_id: int):
    """Let the instance go on."""
    return _act(instance_id, "resume", lambda: bpm().resume(
        db.session, username(), instance_id, request.form.get("reason", ""),
        revision=_revision()), _("The request goes on."))


@bp.post("/instances/<dbid:instance_id>/cancel")
@login_required
def cancel(instance_id: int):
    """Cancel the instance with a reason."""
    return _act(instance_id, "cancel", lambda: bpm().ops_cancel(
        db.session, username(), instance_id, request.form.get("reason", ""),
        revision=_revision()), _("The request is cancelled."))


@bp.post("/instances/<dbid:instance_id>/retry")
@login_required
def retry(instance_id: int):
    """Retry failed jobs and stuck steps; resolve the incidents."""
    return _act(instance_id, "retry", lambda: bpm().retry_instance(
        db.session, username(), instance_id, request.form.get("reason", ""),
        revision=_revision()), _("Retried: the incidents of this request are resolved."))


@bp.post("/instances/<dbid:instance_id>/move-token")
@login_required
def move_token(instance_id: int):
    """Move a token from one step to another."""
    form = request.form
    return _act(instance_id, "move", lambda: bpm().move_token(
        db.session, username(), instance_id, form.get("from_element", ""),
        form.get("to_element", ""), form.get("reason", ""), revision=_revision()),
        _("The token was moved."))


@bp.post("/migrate")
@login_required
def migrate():
    """Move the chosen instances to a newer version; the others are listed with why."""
    form = request.form
    ids = [int(i) for i in form.getlist("instance_ids") if i.isdigit()]
    target = form.get("definition_id", "")
    back = form.get("next") or url_for("ops.index")
    if not back.startswith("/ops"):
        back = url_for("ops.index")
    try:
        result = bpm().migrate_instances(db.session, username(), ids,
                                         int(target) if target.isdigit() else 0,
                                         form.get("reason", ""))
    except InvalidData as exc:
        db.session.rollback()
        for message in exc.errors.values():
            flash(say(message), "error")
        return redirect(back)
    except NotFound as exc:
        db.session.rollback()
        flash(say(exc), "error")
        return redirect(back)
    if result.moved:
        flash(_("%(n)s request(s) moved to version %(v)s: %(ids)s", n=len(result.moved),
                v=result.target_version, ids=", ".join(f"#{i}" for i in result.moved)),
              "success")
    for iid, why in result.refused.items():
        flash(_("#%(id)s stays: %(why)s", id=iid, why=why), "warning")
    return redirect(back)
