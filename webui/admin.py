"""The PMO administrator's pages: users, their roles (everywhere or per project), SLA
defaults per step, and the audit of every change.  Thin: each route parses the form and
calls one engine verb; the engine refuses everyone but a PMO administrator (403) and
names bad fields (the form comes back with the errors and what was typed)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.api import NewUser
from engine.errors import InvalidData
from webui.context import bpm, username
from webui.extensions import db
from webui.i18n import gettext as _
from webui.i18n import lazy_gettext as _l
from webui.messages import say
from workflows.records import pages as pmo_pages

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: Time zones offered first in the form (any IANA name is accepted).
COMMON_ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Singapore", "Asia/Tokyo",
                "Europe/London", "Europe/Berlin", "America/New_York", "UTC")


#: What each kind of administration event says.
CHANGES = {
    "user.created": _l("User created"),
    "user.updated": _l("Profile changed"),
    "user.password_reset": _l("Password reset"),
    "user.deactivated": _l("User deactivated"),
    "user.reactivated": _l("User reactivated"),
    "role.granted": _l("Role granted"),
    "role.revoked": _l("Role taken away"),
    "project_role.granted": _l("Project role granted"),
    "project_role.revoked": _l("Project role taken away"),
    "user.signed_in": _l("Signed in"),
    "user.sign_in_failed": _l("Sign-in failed"),
    "user.signed_out": _l("Signed out"),
    "user.signed_out_everywhere": _l("Signed out everywhere"),
    "user.locked": _l("Locked after failed sign-ins"),
    "user.unlocked": _l("Unlocked"),
    "sla_default.set": _l("SLA default set"),
    "sla_default.removed": _l("SLA default removed"),
    "sso_mapping.added": _l("Single sign-on group mapped to a role"),
    "sso_mapping.removed": _l("Single sign-on group mapping removed"),
}


def _errors(exc: InvalidData) -> dict[str, str]:
    return {k: say(v) for k, v in exc.errors.items()}


def _projects() -> dict[int, str]:
    return {p.id: p.label for p in pmo_pages.project_choices(db.session, username(),
                                                             every=True)}


def _render_index(errors: dict[str, str] | None = None, form: dict[str, Any] | None = None,
                  status: int = 200):
    page = bpm().admin_page(db.session, username())
    return render_template("admin.html", page=page, errors=errors or {}, form=form or {},
                           zones=COMMON_ZONES, changes_labels=CHANGES), status


def _render_user(name: str, errors: dict[str, str] | None = None, status: int = 200):
    page = bpm().admin_user_page(db.session, username(), name)
    projects = _projects()
    held = {p for p, _r in page.user.project_roles} - set(projects)
    labels = {i: c.label for i, c in pmo_pages.project_labels(db.session, held).items()}
    return render_template("admin_user.html", page=page, errors=errors or {},
                           zones=COMMON_ZONES, projects=projects, changes_labels=CHANGES,
                           project_labels={**projects, **labels}), status


@bp.get("")
@login_required
def index():
    """Users, SLA defaults and recent changes (PMO administrators)."""
    return _render_index()


@bp.post("/users")
@login_required
def create_user():
    """Create a user with an initial password and global roles."""
    form = request.form
    new = NewUser(username=form.get("username", ""), password=form.get("password", ""),
                  display_name=form.get("display_name", ""), email=form.get("email") or None,
                  locale=form.get("locale") or None, time_zone=form.get("time_zone") or None,
                  roles=tuple(form.getlist("roles")))
    try:
        made = bpm().create_user(db.session, username(), new)
    except InvalidData as exc:
        kept = {k: v for k, v in form.items() if k != "password"}
        kept["roles"] = form.getlist("roles")
        return _render_index(_errors(exc), kept, 422)
    flash(_("User %(name)s was created.", name=made.username), "success")
    return redirect(url_for("admin.user", name=made.username))


@bp.get("/users/<name>")
@login_required
def user(name: str):
    """One user: profile, password, status, roles, their audit."""
    return _render_user(name)


@bp.post("/users/<name>")
@login_required
def update_user(name: str):
    """Change name, e-mail, language, time zone."""
    changes = {k: request.form.get(k, "") for k in
               ("display_name", "email", "locale", "time_zone") if k in request.form}
    return _act(name, lambda: bpm().update_user(db.session, username(), name, changes),
                _("The profile was saved."))


@bp.post("/users/<name>/password")
@login_required
def reset_password(name: str):
    """Set a new password."""
    password = request.form.get("password", "")
    return _act(name, lambda: bpm().reset_password(db.session, username(), name, password),
                _("The password was reset. Tell the person their new password in person."))


@bp.post("/users/<name>/active")
@login_required
def set_active(name: str):
    """Deactivate (tasks they held go back to their role) or reactivate."""
    active = request.form.get("active") == "1"
    reason = request.form.get("reason", "").strip() or None

    def act():
        done = bpm().set_user_active(db.session, username(), name, active, reason)
        if not active and done.released_task_ids:
            flash(_("%(n)s open task(s) went back to their role.",
                    n=len(done.released_task_ids)), "info")
        if done.kept_task_ids:
            flash(_("%(n)s task(s) assigned by the process are still theirs: reassign them.",
                    n=len(done.kept_task_ids)), "warning")

    return _act(name, act, _("The user was reactivated.") if active else
                _("The user was deactivated: they can no longer sign in or use API tokens."))


@bp.post("/users/<name>/unlock")
@login_required
def unlock(name: str):
    """Lift the lockout after failed sign-ins."""
    return _act(name, lambda: bpm().unlock_user(db.session, username(), name),
                _("The account was unlocked; the person can sign in again."))


@bp.post("/users/<name>/sign-out-everywhere")
@login_required
def sign_out_everywhere(name: str):
    """End every session and remember-me cookie of the user."""
    return _act(name, lambda: bpm().sign_out_everywhere(db.session, username(), name),
                _("Every session of this user has ended; they must sign in again."))


@bp.post("/users/<name>/roles")
@login_required
def grant_role(name: str):
    """Give a role everywhere, or for one project."""
    role, project = request.form.get("role", ""), _project_id()
    return _act(name, lambda: bpm().grant_role(db.session, username(), name, role, project),
                _("The role was granted."))


@bp.post("/users/<name>/roles/revoke")
@login_required
def revoke_role(name: str):
    """Take a role away (everywhere, or for one project)."""
    role, project = request.form.get("role", ""), _project_id()
    return _act(name, lambda: bpm().revoke_role(db.session, username(), name, role, project),
                _("The role was taken away."))


@bp.post("/sla")
@login_required
def set_sla():
    """Set the default SLA of one step."""
    form = request.form
    key, _sep, element = form.get("step", "").partition("/")
    try:
        bpm().set_sla_default(db.session, username(), key, element, form.get("duration", ""),
                              form.get("escalate_after") or None)
    except InvalidData as exc:
        return _render_index(_errors(exc), dict(form.items()), 422)
    flash(_("The SLA default was saved; it applies to steps opened from now on."), "success")
    return redirect(url_for("admin.index", _anchor="sla"))


@bp.post("/sla/remove")
@login_required
def remove_sla():
    """Drop the default SLA of one step."""
    bpm().remove_sla_default(db.session, username(), request.form.get("process_key", ""),
                             request.form.get("element_id", ""))
    flash(_("The SLA default was removed."), "info")
    return redirect(url_for("admin.index", _anchor="sla"))


def _project_id() -> int | None:
    raw = request.form.get("project", "").strip()
    if not raw:
        return None
    return int(raw) if raw.isdigit() and len(raw) < 10 else 0  # 0: the engine says why


def _act(name: str, action, done: str):
    try:
        action()
    except InvalidData as exc:
        return _render_user(name, _errors(exc), 422)
    flash(done, "success")
    return redirect(url_for("admin.user", name=name))
