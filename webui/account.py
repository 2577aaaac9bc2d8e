"""My account: personal API tokens (list, create: the secret is shown once, revoke)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required, logout_user

from engine.errors import InvalidData
from engine.views import NewToken
from webui.context import bpm, username
from webui.extensions import db
from webui.i18n import gettext as _
from webui.i18n import lazy_gettext as _l

bp = Blueprint("account", __name__)

#: Lifetimes offered for a new token (value -> label); the first is the default.
LIFETIMES = {"90": _l("90 days"), "30": _l("30 days"), "365": _l("1 year"),
             "never": _l("Never expires")}


def _render(new: NewToken | None = None, error: str = "", status: int = 200):
    now = bpm().clock.now()
    tokens = bpm().api_tokens(db.session, username())
    return render_template("account_tokens.html", tokens=tokens, now=now, new=new,
                           lifetimes=LIFETIMES, error=error), status


@bp.get("/account/tokens")
@login_required
def tokens():
    """My API tokens and the form to make one."""
    return _render()


@bp.post("/account/tokens")
@login_required
def create_token():
    """Make a token; the page shows its secret this once."""
    lifetime = request.form.get("expires", "90")
    if lifetime not in LIFETIMES:
        return _render(error=_("Choose how long the token lives."), status=400)
    days = None if lifetime == "never" else int(lifetime)
    try:
        made = bpm().create_token(db.session, username(),
                                     name=request.form.get("name", "").strip(),
                                     expires_in=timedelta(days=days) if days else None)
    except InvalidData:
        return _render(error=_("Use a name of at most 100 characters."), status=422)
    return _render(new=made)


@bp.post("/account/tokens/<dbid:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    """Revoke one of my tokens (403 for someone else's)."""
    view = bpm().revoke_token(db.session, token_id, username())
    flash(_("Token “%(name)s” was revoked; programs using it are refused from now on.",
            name=view.name), "info")
    return redirect(url_for("account.tokens"))


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    """End every session and remember-me cookie of mine, this one included."""
    bpm().sign_out_everywhere(db.session, username(), username())
    logout_user()
    flash(_("You are signed out everywhere: every session and “Keep me signed in” has "
            "ended."), "info")
    return redirect(url_for("auth.login"))
