"""Sign-in and sign-out (Flask-Login; passwords hashed; CSRF on the form)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import UserMixin, current_user, login_required, login_user, logout_user

from engine.views import UserView
from webui import demo
from webui.api.guards import unstorable
from webui.context import bpm, safe_next
from webui.extensions import db, login_manager
from webui.i18n import gettext as _
from webui.security import client_address

bp = Blueprint("auth", __name__)


@dataclass
class WebUser(UserMixin):
    """The signed-in person as the web layer sees them."""

    id: int
    username: str
    display_name: str
    roles: tuple[str, ...]
    locale: str | None
    #: IANA time zone the admin set for them (None: the site's).
    time_zone: str | None = None
    #: The user's session version when this session began (see engine.signing).
    session_version: int = 0

    def get_id(self) -> str:
        """``"id:version"``: what the session and the remember-me cookie keep, so raising
        the version on the server ends both."""
        return f"{self.id}:{self.session_version}"

    def has_role(self, *roles: str) -> bool:
        """True if the user holds any of ``roles`` globally."""
        return any(r in self.roles for r in roles)


def _web_user(view: UserView) -> WebUser:
    return WebUser(view.id, view.username, view.display_name, view.roles, view.locale,
                   view.time_zone, view.session_version)


def user_ref(user_id: str) -> tuple[int, int] | None:
    """``(id, session version)`` of an ``"id:version"`` (None: garbled)."""
    number, _sep, version = user_id.partition(":")
    if not (number.isdigit() and version.isdigit()) or len(number) > 18 or len(version) > 9:
        return None
    return int(number), int(version)


#: Where a request's first read leaves the user it read with the install's status
#: (``webui.time_admin.sync_clock``): ``("id:version", view or None)``.
PRELOADED = "pmoflow_preloaded_user"


@login_manager.user_loader
def load_user(user_id: str) -> WebUser | None:
    """Flask-Login hook: the active user of an ``"id:version"`` whose sessions have not
    been ended since (None otherwise: the session or remember-me cookie is dead)."""
    preloaded = g.pop(PRELOADED, None)
    if preloaded is not None and preloaded[0] == user_id:
        view = preloaded[1]
    else:
        ref = user_ref(user_id)
        view = bpm().active_user(db.session, *ref) if ref else None
    return _web_user(view) if view is not None else None


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
        if unstorable(username) or unstorable(password):
            return render_template("login.html", error=_(
                "The username or password contains a character that is not allowed (a NUL "
                "character)."), username=username.replace("\x00", "")), 400
        settings = current_app.extensions["pmoflow"].settings
        user = bpm().sign_in(db.session, username, password, address=client_address(),
                             lockout_after=settings.lockout_after)
        if user is None:
            error = _("Wrong username or password.")
            if settings.lockout_after:
                error += " " + _("After %(n)s failed attempts in a row an account is locked "
                                 "until an administrator unlocks it.",
                                 n=settings.lockout_after)
        else:
            login_user(_web_user(user), remember=bool(request.form.get("remember")))
            return redirect(safe_next(request.args.get("next"), url_for("home.index")))
    return render_template("login.html", error=error, username=username,
                           demo_users=demo.demo_users()), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out (the session ends on the server too: old cookies no longer work) and go
    back to the sign-in page."""
    bpm().sign_out(db.session, current_user.username, client_address())
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))
