"""The form designer (process owners): list the task forms, design one field by field,
preview it with the task page's own renderer in English or Chinese (sample data checked
by the engine's validator), and save it as a draft the next deployment takes along."""

from __future__ import annotations

import json
from typing import Any

import flask_babel
from flask import Blueprint, jsonify, render_template, request, url_for
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from engine import pages
from engine.errors import InvalidData, NotFound
from webui.context import bpm, username
from webui.extensions import db
from webui.formparse import parse_form
from webui.formview import build_form
from webui.i18n import LANGUAGES, forget_language
from webui.messages import say
from webui.portfolio import project_options

bp = Blueprint("formdesigner", __name__)

#: What a new form starts as.
NEW_FORM: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "", "x-title-zh": "", "type": "object", "required": [], "properties": {},
}


def problems(exc: InvalidData) -> list[dict[str, str]]:
    """A form's problems as ``[{"pointer", "message"}]`` in the user's language."""
    return [{"pointer": str(k), "message": say(v)} for k, v in exc.errors.items()]


@bp.get("/forms")
@login_required
def index():
    """Every task form: saved drafts and the forms deployed with a process."""
    return render_template("forms.html", forms=bpm().forms(db.session, username()))


@bp.get("/forms/<name>")
@login_required
def design(name: str):
    """The designer on one form (a new, empty one for an unknown name)."""
    try:
        found = bpm().form(db.session, username(), name)
        schema, used = found.schema, found.deployed_in
    except NotFound:
        schema, used = dict(NEW_FORM), ()
    return render_template("form_designer.html", name=name, schema=schema, used=used,
                           schema_json=json.dumps(schema, ensure_ascii=False),
                           languages=LANGUAGES,
                           url_save=url_for("formdesigner.save", name=name),
                           url_preview=url_for("formdesigner.preview", name=name))


@bp.post("/forms/<name>")
@login_required
def save(name: str):
    """Save the draft (the schema is the request body); 422 with every problem."""
    try:
        saved = bpm().save_form(db.session, username(), name, request.get_data(as_text=True))
    except InvalidData as exc:
        db.session.rollback()
        return jsonify(problems=problems(exc)), 422
    return jsonify(name=saved.name, saved=True)


def _object(text: str) -> dict[str, Any]:
    """The draft schema as an object to read the sample data with ({} when it is not one:
    the engine's check then says what is wrong with it)."""
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


@bp.post("/forms/<name>/preview")
@login_required
def preview(name: str):
    """The form rendered by the task page's renderer for the draft schema in the chosen
    language; with ``check``, the sample data typed into the preview is validated."""
    lang = request.form.get("_lang", "en")
    lang = lang if lang in LANGUAGES else "en"
    text = request.form.get("_schema", "")
    sample = MultiDict([(k, v) for k, v in request.form.items(multi=True)
                        if not k.startswith("_")])
    with flask_babel.force_locale(lang):
        forget_language()
        try:
            data = parse_form(_object(text), sample) if request.form.get("_check") else {}
            found = pages.form_preview(bpm(), db.session, username(), text, data)
        except InvalidData as exc:
            db.session.rollback()
            return jsonify(problems=problems(exc)), 422
        errors = dict(found.errors) if request.form.get("_check") else {}
        # pickers list the real people, and every running project (a PM's task page
        # offers their own projects, unless the field says x-projects: any)
        form = build_form(found.schema, data, errors, locale=lang,
                          people=found.directory.people, projects=project_options(every=True))
        html = render_template("_form_preview.html", form=form, checked=bool(errors) or
                               bool(request.form.get("_check")))
        said = [{"field": k, "message": say(v)} for k, v in errors.items()]
        forget_language()
    return jsonify(html=html, errors=said)
