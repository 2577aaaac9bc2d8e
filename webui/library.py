"""The process library (process owners): every process with its versions, the diagram of
each, the diff between two, and moving running work to a newer version."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.errors import InvalidData
from engine.pages import PROCESS_OWNER_ROLE
from webui.context import bpm, username
from webui.extensions import db
from webui.i18n import gettext as _

bp = Blueprint("library", __name__)


def require_owner() -> None:
    """403 unless the signed-in user is a process owner (the pages are theirs)."""
    if not current_user.has_role(PROCESS_OWNER_ROLE):
        abort(403)


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 9 else None


@bp.get("/library")
@login_required
def index():
    """Every process and its versions."""
    found = bpm().process_library(db.session, username())
    by_key: dict[str, list] = {}
    for v in found:
        by_key.setdefault(v.definition.key, []).append(v)
    return render_template("library.html", processes=by_key)


@bp.get("/library/<key>")
@login_required
def process(key: str):
    """The versions of one process, the diagram of one, and the running work that could
    move to it."""
    page = bpm().version_page(db.session, key, username(), _int_arg("v"))
    return render_template("library_process.html", page=page)


@bp.get("/library/<key>/diff")
@login_required
def diff(key: str):
    """Elements added, removed and changed between two versions, on both diagrams."""
    require_owner()
    old, new = _int_arg("from"), _int_arg("to")
    if old is None or new is None:
        abort(400)
    found = bpm().diff_versions(db.session, key, old, new)
    return render_template("library_diff.html", key=key, old=old, new=new, diff=found)


@bp.get("/library/<key>/<dbid:version>/diagram.bpmn")
@login_required
def diagram(key: str, version: int):
    """A version's XML for the viewer and the modeler."""
    require_owner()
    response = Response(bpm().version_diagram(db.session, key, version), mimetype="text/plain")
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.post("/library/<key>/<dbid:version>/move")
@login_required
def move(key: str, version: int):
    """Move the chosen running instances to this version (those that can)."""
    page = url_for("library.process", key=key, v=version)
    target = request.form.get("definition_id", "")
    ids = [int(i) for i in request.form.getlist("instance") if i.isdigit() and len(i) < 12]
    if not ids or not target.isdigit():
        flash(_("Choose at least one running request to move."), "error")
        return redirect(page + "#running-work")
    try:
        result = bpm().move_instances(db.session, ids, int(target), username(),
                                      request.form.get("reason", ""))
    except InvalidData:
        db.session.rollback()
        flash(_("Say why the requests move to the new version."), "error")
        return redirect(page + "#running-work")
    if result.moved:
        flash(_("Moved to version %(v)s: %(ids)s.", v=version,
                ids=", ".join(f"#{i}" for i in result.moved)), "success")
    for instance_id, why in result.refused.items():
        flash(_("Request #%(id)s stays on its version: %(why)s", id=instance_id, why=why),
              "warning")
    return redirect(page + "#running-work")
