"""Sign-in and sign-out (Flask-Login; passwords hashed; CSRF on the form)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import UserMixin, login_required, login_user, logout_user
from sqlalchemy import bindparam, select

from engine import identity
from engine.store.models import User
from webui.context import safe_next
from webui.extensions import db, login_manager
from webui.i18n import gettext as _

bp = Blueprint("auth", __name__)


@dataclass
class WebUser(UserMixin):
    """The signed-in person as the web layer sees them."""

    id: int
    username: str
    display_name: str
    roles: tuple[str, ...]
    locale: str | None

    def get_id(self) -> str:
        return str(self.id)

    def has_role(self, *roles: str) -> bool:
        """True if the user holds any of ``roles`` globally."""
        return any(r in self.roles for r in roles)


def _web_user(user: User) -> WebUser:
    view = identity.user_view(db.session, user)
    return WebUser(view.id, view.username, view.display_name, view.roles, view.locale)


@login_manager.user_loader
def load_user(user_id: str) -> WebUser | None:
    """Flask-Login hook: the active user with this id, or None."""
    if not user_id.isdigit():
        return None
    # Columns, not the ORM entity: this runs on every request.
    row = db.session.execute(_LOAD_USER, {"id": int(user_id)}).first()
    if row is None or not row.active:
        return None
    # One statement for the roles, project roles and delegations the page will ask for.
    identity.prime(db.session, row.username, current_app.extensions["pmoflow"].engine.clock.now())
    roles = tuple(sorted(identity.global_roles(db.session, row.username)))
    return WebUser(row.id, row.username, row.display_name, roles, row.locale)


_LOAD_USER = select(User.id, User.username, User.display_name, User.active, User.locale
                    ).where(User.id == bindparam("id"))


login_manager.login_view = "auth.login"
login_manager.login_message = None


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; sign in on a correct username and password."""
    error = None
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        user = identity.check_password(db.session, username, password) if username else None
        if user is None:
            error = _("Wrong username or password.")
        else:
            login_user(_web_user(user), remember=bool(request.form.get("remember")))
            return redirect(safe_next(request.args.get("next"), url_for("home.index")))
    return render_template("login.html", error=error, username=username), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out and go back to the sign-in page."""
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))
