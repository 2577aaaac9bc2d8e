"""Start a request: the catalog of processes I may start, and their start forms."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine import pages
from engine.errors import InvalidData, TaskFailed
from webui.context import bpm, locale, username
from webui.extensions import db
from webui.formview import build_form
from webui.i18n import gettext as _
from webui.messages import process_failed
from webui.portfolio import project_of
from webui.schema import properties, widget_of
from webui.tasks import allow_uploads, check_uploads, read_form
from workflows.records import pages as pmo_pages
from workflows.records.vocab import PROJECT_CATEGORIES

bp = Blueprint("processes", __name__)


@bp.get("/processes")
@login_required
def index():
    """The processes the user may start."""
    return render_template("processes.html",
                           processes=pages.startable(bpm(), db.session, username()))


def _render(page: pages.StartPage, values=None, errors=None):
    form = build_form(page.schema, values, errors, locale=locale(),
                      people=page.directory.people)
    return render_template("start.html", page=page, form=form,
                           related_lessons=_related_lessons(page.schema))


def _related_lessons(schema) -> dict:
    """A start form that asks for a project category (the proposal) shows the lessons of
    earlier projects of the chosen category: each category's newest published lessons."""
    field = ((schema or {}).get("properties") or {}).get("category") or {}
    enum = [str(v) for v in field.get("enum") or ()]
    if not enum or not set(enum) <= set(PROJECT_CATEGORIES):
        return {}
    return pmo_pages.lessons_by_project_category(db.session, enum)


@bp.get("/processes/<key>/start")
@login_required
def start_form(key: str):
    """The start form of a process."""
    return _render(pages.start_page(bpm(), db.session, key, username()))


@bp.post("/processes/<key>/start")
@login_required
def start(key: str):
    """Start the process with the submitted form; errors are shown beside their fields."""
    page = pages.start_page(bpm(), db.session, key, username())
    data, upload_errors = read_form(page.schema)
    title = data.get("title") if isinstance(data.get("title"), str) else ""
    if not title:  # e.g. a closure: name the request after the project it is about
        title = project_title(page, data)
    try:
        check_uploads(page.schema, data, upload_errors)
        inst = bpm().start(db.session, key, username(), data, title=title)
    except InvalidData as exc:
        db.session.rollback()
        return _render(page, data, exc.errors), 422
    except TaskFailed as exc:  # a script or table of the process failed: keep the input
        db.session.rollback()
        return _render(page, data, {"": process_failed(str(exc))}), 422
    flash(_("Your request “%(title)s” was submitted. It is now with: %(step)s.",
            title=inst.title, step=inst.current_step or _("nobody (finished)")), "success")
    return redirect(url_for("instances.show", instance_id=inst.id))


def project_title(page: pages.StartPage, data: dict) -> str:
    """A title for a request whose start form picks a project but has no title field:
    ``<process name>: PRJ-2026-0001 Warehouse automation`` (else "", and the engine
    names it after the process alone, the same for every request)."""
    for key, prop in properties(page.schema).items():
        value = data.get(key)
        if widget_of(prop) == "project" and isinstance(value, int):
            found = project_of(value)
            if found is not None:
                code = found.code or f"#{found.id}"
                return f"{page.definition.name}: {code} {found.title}"
    return ""


@bp.url_value_preprocessor
def _allow_uploads(endpoint: str | None, _values: object) -> None:
    if endpoint == "processes.start" and request.method == "POST":
        allow_uploads()


@bp.get("/definitions/<dbid:definition_id>/diagram.bpmn")
@login_required
def diagram(definition_id: int):
    """The BPMN XML of a deployed version for the viewer (drawn if it has no drawing)."""
    xml = bpm().diagram(db.session, definition_id, request.args.get("lang"))
    response = Response(xml, mimetype="text/plain")
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
