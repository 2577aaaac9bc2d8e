"""The task page: the form from its JSON Schema, the request so far, complete or save."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from engine import reads
from engine.errors import InvalidData
from webui.context import engine, locale, username
from webui.extensions import db
from webui.formparse import parse_form
from webui.formview import build_form
from webui.schema import properties
from webui.summary import summarize

bp = Blueprint("tasks", __name__)

#: What a task without a form of its own asks for: an optional note for the record.
NOTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"comment": {"type": "string", "title": "Comment", "x-widget": "textarea",
                               "maxLength": 4000}},
}


def schema_of(page: reads.TaskPage) -> dict[str, Any]:
    """The task's form schema, or the note-only form for tasks without one."""
    return page.schema or NOTE_SCHEMA


def render(page: reads.TaskPage, values: Mapping[str, Any] | None = None,
           errors: Mapping[str, str] | None = None):
    """The task page with ``values`` (default: instance data and draft) and ``errors``."""
    lang = locale()
    schema = schema_of(page)
    if values is None:
        values = page.values
    else:  # read-only fields are not submitted: show them from the instance again
        fixed = {k for k, p in properties(schema).items() if p.get("readOnly")}
        values = {**{k: v for k, v in page.values.items() if k in fixed}, **values}
    form = build_form(schema, values, errors, locale=lang, people=page.page.directory.people)
    summary = summarize(page.page.data, page.page.fields, lang, page.page.directory)
    return render_template("task.html", tp=page, page=page.page, task=page.task, form=form,
                           summary=summary, has_form=page.schema is not None)


@bp.get("/tasks/<int:task_id>")
@login_required
def show(task_id: int):
    """Show a task (403 for people who may not see it)."""
    return render(reads.task_page(engine(), db.session, task_id, username()))


@bp.post("/tasks/<int:task_id>")
@login_required
def submit(task_id: int):
    """Complete the task, or keep the input as a draft (``action=draft``)."""
    page = reads.task_page(engine(), db.session, task_id, username())
    data = parse_form(schema_of(page), request.form)
    if request.form.get("action") == "draft":
        engine().save_draft(db.session, task_id, username(), data)
        flash(_("Draft saved. You can finish this task later."), "success")
        return redirect(url_for("tasks.show", task_id=task_id))
    try:
        engine().complete(db.session, task_id, username(), data)
    except InvalidData as exc:
        db.session.rollback()
        return render(page, data, exc.errors), 422
    flash(_("Done: “%(step)s” for “%(title)s” is completed.", step=page.task.name,
            title=page.task.instance_title), "success")
    return redirect(url_for("inbox.index"))
