"""Rules (PMO admin): the decision tables, edited with dmn-js, checked, tested, replayed
over past requests (what-if) and published with a comment, from now or a chosen date.

Every form on the table page carries the editor's current XML (field ``xml``, filled in by
``static/js/rules.js``), so testing or replaying works on what the admin sees, saved or not.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.errors import InvalidData, InvalidDiagram
from webui.context import bpm, username
from webui.extensions import db
from webui.i18n import gettext as _

bp = Blueprint("rules", __name__)


@bp.get("/rules")
@login_required
def index():
    """Every decision table with the version in effect and its draft (PMO admins)."""
    return render_template("rules.html", tables=bpm().decision_tables(db.session, username()))


def _page(key: str, *, xml: str | None = None, status: int = 200, **results):
    if "errors" in results:
        results["errors"] = {k: _field_message(k, m) for k, m in results["errors"].items()}
    table = bpm().decision_table(db.session, key, username())
    editing = xml or table.draft_source or table.source
    return render_template("rules_table.html", table=table, xml=editing,
                           values=request.form, **results), status


def _xml() -> str:
    xml = request.form.get("xml", "")
    if not xml.strip():
        raise InvalidData({"xml": _("The editor sent no table; reload the page.")})
    return xml


@bp.get("/rules/<key>")
@login_required
def show(key: str):
    """A table: versions, the editor, the test panel, the what-if and publishing."""
    return _page(key)


@bp.post("/rules/<key>/draft")
@login_required
def save_draft(key: str):
    """Keep the editor's table as the draft."""
    try:
        _version, problems = bpm().save_decision_draft(db.session, key, _xml(), username())
    except InvalidDiagram as exc:
        db.session.rollback()
        return _page(key, xml=request.form.get("xml"), problems=exc.problems, status=422)
    if problems:
        flash(_("Draft saved. Fix %(n)s problem(s) before publishing.", n=len(problems)),
              "warning")
    else:
        flash(_("Draft saved. No problems found."), "success")
    return redirect(url_for("rules.show", key=key))


@bp.post("/rules/<key>/check")
@login_required
def check(key: str):
    """What publishing the editor's table would refuse."""
    try:
        problems = bpm().check_decision(db.session, key, _xml(), username())
    except InvalidDiagram as exc:
        problems = exc.problems
    return _page(key, xml=request.form.get("xml"), problems=problems, checked=True)


@bp.post("/rules/<key>/test")
@login_required
def test(key: str):
    """The table in effect and the editor's table on the same test inputs."""
    inputs = {k[3:]: v for k, v in request.form.items() if k.startswith("in.")}
    variables = {k[4:]: v for k, v in request.form.items() if k.startswith("var.") and v}
    xml = _xml()
    try:
        found = bpm().test_decision(db.session, key, username(), inputs, variables, xml)
    except InvalidData as exc:
        return _page(key, xml=xml, errors=exc.errors, status=422)
    except InvalidDiagram as exc:
        return _page(key, xml=xml, problems=exc.problems, status=422)
    return _page(key, xml=xml, tested=found)


@bp.post("/rules/<key>/what-if")
@login_required
def what_if(key: str):
    """Replay the editor's table over every past request that used the table."""
    xml = _xml()
    try:
        result = bpm().decision_what_if(db.session, key, username(), xml)
    except InvalidDiagram as exc:
        return _page(key, xml=xml, problems=exc.problems, status=422)
    return _page(key, xml=xml, what_if=result)


@bp.post("/rules/<key>/publish")
@login_required
def publish(key: str):
    """Publish the editor's table with a comment, from now or a chosen date (UTC)."""
    xml = _xml()
    try:
        effective = _effective(request.form.get("effective_from", ""))
        version = bpm().publish_decision(db.session, key, username(),
                                         request.form.get("comment", ""),
                                         effective_from=effective, content=xml)
    except InvalidData as exc:
        db.session.rollback()
        return _page(key, xml=xml, errors=exc.errors, status=422)
    except InvalidDiagram as exc:
        db.session.rollback()
        return _page(key, xml=xml, problems=exc.problems, status=422)
    flash(_("Version %(v)s published: new requests use it from %(when)s.", v=version.version,
            when=version.effective_from.strftime("%Y-%m-%d %H:%M UTC")), "success")
    return redirect(url_for("rules.show", key=key))


def _field_message(field: str, message: str) -> str:
    """The engine's message about a rules form field, in the user's language."""
    if field == "comment":
        if message.startswith("Keep the comment"):
            return _("Keep the comment under 2000 characters.")
        return _("Say why the rule changes (a comment is required).")
    if field == "effective_from":
        return _("Choose now or a later date.")
    if field.startswith("inputs.") and ": " in message:
        column, problem = message.rsplit(": ", 1)
        if problem == "enter a number":
            return _("%(column)s: enter a number", column=column)
        if problem == "enter true or false":
            return _("%(column)s: choose yes or no", column=column)
    return message


def _effective(text: str) -> datetime | None:
    if not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidData({"effective_from": _("Enter a date and time.")}) from None
