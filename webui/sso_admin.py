"""The administrator's "Single sign-on" page: which provider group gives which PMOflow
role, the groups sign-ins named that no row maps yet, and the audit of changes.  Thin:
each route calls one engine verb; the engine refuses everyone but a PMO administrator.
Only there when single sign-on is configured (404 otherwise)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.errors import InvalidData
from webui.admin import CHANGES
from webui.context import bpm, username
from webui.extensions import db
from webui.i18n import gettext as _
from webui.messages import say
from webui.oidc import CLIENT

bp = Blueprint("sso_admin", __name__, url_prefix="/admin/sso")

LABELS = CHANGES


def _configured():
    """The provider's settings; 404 while single sign-on is off, but only after the caller
    passed the administrator check (others get the same 403 whether it is on or not)."""
    found = current_app.extensions.get(CLIENT)
    if found is None:
        bpm().sso_admin_page(db.session, username())  # Forbidden for non-administrators
        abort(404)
    return found[1]


def _render(errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
            status: int = 200):
    settings = _configured()
    page = bpm().sso_admin_page(db.session, username())
    return render_template("admin_sso.html", page=page, settings=settings, errors=errors or {},
                           form=form or {}, changes_labels=LABELS,
                           redirect_url=url_for("oidc.callback", _external=True)), status


@bp.get("")
@login_required
def index():
    """The mapping, unmapped groups and changes."""
    return _render()


@bp.post("/mappings")
@login_required
def add():
    """Map a group to a role (takes effect at each member's next sign-in)."""
    _configured()
    group, role = request.form.get("group", ""), request.form.get("role", "")
    try:
        bpm().add_sso_mapping(db.session, username(), group, role)
    except InvalidData as exc:
        return _render({k: say(v) for k, v in exc.errors.items()},
                       {"group": group, "role": role}, 422)
    flash(_("Members of %(group)s get this role at their next sign-in.", group=group.strip()),
          "success")
    return redirect(url_for("sso_admin.index"))


@bp.post("/mappings/<dbid:mapping_id>/remove")
@login_required
def remove(mapping_id: int):
    """Drop a row (members lose the role at their next sign-in)."""
    _configured()
    bpm().remove_sso_mapping(db.session, username(), mapping_id)
    flash(_("The mapping was removed; members lose the role at their next sign-in."), "info")
    return redirect(url_for("sso_admin.index"))
