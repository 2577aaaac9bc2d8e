"""Mail pages: my mail settings and out of office (``/account/mail``), and the PMO
admin's view of the outbox (``/admin/mail``, the built-in mail catcher when no SMTP
server is configured).  Thin: each route parses the form and calls one engine verb."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.errors import FieldError, InvalidData
from webui.context import bpm, username
from webui.extensions import db
from webui.i18n import gettext as _
from webui.i18n import select_timezone
from webui.messages import say

bp = Blueprint("mail", __name__)


def _render_account(errors: dict[str, str] | None = None, form: dict | None = None,
                    status: int = 200):
    prefs = bpm().mail_preferences(db.session, username())
    return render_template("account_mail.html", prefs=prefs, errors=errors or {},
                           form=form or {}, zone=_zone()), status


def _zone() -> ZoneInfo:
    return ZoneInfo(select_timezone() or current_app.config.get("BABEL_DEFAULT_TIMEZONE")
                    or "UTC")


def _day(field: str, raw: str, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[field] = say(FieldError("Enter a date.", "form.format", field=field,
                                       format="date"))
        return None


@bp.get("/account/mail")
@login_required
def account():
    """My e-mail: immediate or daily digest, and out of office."""
    return _render_account()


@bp.post("/account/mail/mode")
@login_required
def set_mode():
    """Choose immediate mail or a daily digest."""
    try:
        bpm().set_mail_mode(db.session, username(), request.form.get("mail_mode", ""))
    except InvalidData as exc:
        return _render_account({k: say(v) for k, v in exc.errors.items()}, status=422)
    flash(_("Your mail setting was saved."), "success")
    return redirect(url_for("mail.account"))


@bp.post("/account/mail/away")
@login_required
def set_away():
    """Be out of office from the first day to the last (both included)."""
    form = request.form
    errors: dict[str, str] = {}
    first = _day("starts_at", form.get("starts_at", ""), errors)
    last = _day("ends_at", form.get("ends_at", ""), errors)
    if first is None or last is None:
        return _render_account(errors, dict(form), 422)
    zone = _zone()
    starts = datetime.combine(first, time(), zone)
    ends = datetime.combine(last + timedelta(days=1), time(), zone)
    try:
        bpm().set_out_of_office(db.session, username(), delegate=form.get("delegate", ""),
                                starts_at=starts, ends_at=ends, reason=form.get("reason", ""))
    except InvalidData as exc:
        return _render_account({k: say(v) for k, v in exc.errors.items()}, dict(form), 422)
    flash(_("You are out of office from %(first)s to %(last)s.", first=first.isoformat(),
            last=last.isoformat()), "success")
    return redirect(url_for("mail.account"))


@bp.post("/account/mail/back")
@login_required
def back():
    """End my out-of-office period now."""
    bpm().end_out_of_office(db.session, username())
    flash(_("Welcome back: new work comes to you again."), "info")
    return redirect(url_for("mail.account"))


@bp.get("/admin/mail")
@login_required
def outbox():
    """Every mail with its state (PMO administrators)."""
    status = request.args.get("status") or None
    page = bpm().mail_page(db.session, username(), status)
    return render_template("admin_mail.html", page=page, status=status, section="admin")


@bp.get("/admin/mail/<dbid:mail_id>")
@login_required
def message(mail_id: int):
    """One mail as its recipient gets it (PMO administrators)."""
    detail = bpm().mail(db.session, username(), mail_id)
    return render_template("admin_mail_message.html", mail=detail, section="admin")


@bp.post("/admin/mail/<dbid:mail_id>/retry")
@login_required
def retry(mail_id: int):
    """Send a failed mail again (PMO administrators)."""
    bpm().retry_mail(db.session, username(), mail_id)
    flash(_("The mail is queued to be sent again."), "success")
    return redirect(url_for("mail.message", mail_id=mail_id))
