"""The task page: the form from its JSON Schema, the request so far, complete or save.

Also the file side of every form (the start form uses it too): uploads are stored before
the form is parsed, so a failed submit or a draft keeps them, and ``GET /attachments/<id>``
sends a file to whoever may read it, always as a download.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required

from engine import pages
from engine.errors import Conflict, InvalidData, TaskFailed
from engine.views import TaskView
from webui.context import bpm, locale, username
from webui.extensions import db
from webui.formparse import parse_form, upload_field, with_uploads
from webui.formview import build_form
from webui.i18n import gettext as _
from webui.messages import process_failed, say
from webui.portfolio import project_labels, project_of
from webui.schema import properties, type_of
from webui.summary import project_ids, summarize
from webui.textguard import stored_text_message, strip_unstorable

bp = Blueprint("tasks", __name__)

#: Types a file is sent with (as sniffed at upload); anything else (HTML, SVG, XML,
#: scripts, programs) is sent as application/octet-stream.
SAFE_TYPES = frozenset({
    "application/pdf", "application/zip", "text/plain", "text/csv", "image/png",
    "image/jpeg", "image/gif", "image/webp", "application/msword", "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
})

#: Types shown in the browser rather than downloaded (no script can run in them).
INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif",
                          "image/webp"})

#: What a task without a form of its own asks for: an optional note for the record.
NOTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"comment": {"type": "string", "title": "Comment", "x-widget": "textarea",
                               "maxLength": 4000}},
}


def schema_of(page: pages.TaskPage) -> dict[str, Any]:
    """The task's form schema, or the note-only form for tasks without one."""
    return page.schema or NOTE_SCHEMA


def render(page: pages.TaskPage, values: Mapping[str, Any] | None = None,
           errors: Mapping[str, str] | None = None, *, lost: str | None = None):
    """The task page with ``values`` (default: instance data and draft) and ``errors``;
    ``lost``: why what the person sent could not be saved (their input is shown back)."""
    lang = locale()
    schema = schema_of(page)
    if values is None:
        values = page.values
    else:  # read-only fields are not submitted: show them from the instance again
        fixed = {k for k, p in properties(schema).items() if p.get("readOnly")}
        values = {**{k: v for k, v in page.values.items() if k in fixed}, **values}
    form = build_form(schema, values, errors, locale=lang, people=page.page.directory.people,
                      names=page.page.directory)
    data, fields = page.page.data, page.page.fields
    # each value once: what the form shows (as a field or read-only text) is not repeated
    in_form = frozenset(properties(schema)) if page.can_act and page.task.status == "open" \
        else frozenset()
    summary = summarize(data, fields, lang, page.page.directory,
                        project_labels(project_ids(data, fields)),
                        hidden=pages.HIDDEN_KEYS | in_form)
    kept = None
    if lost is not None:  # what they typed, to copy: the step went on without it
        kept = summarize(values, {**fields, **properties(schema)}, lang, page.page.directory,
                         project_labels(project_ids(values, fields)),
                         hidden=pages.HIDDEN_KEYS - pages.OUTCOME_KEYS)
    return render_template("task.html", tp=page, page=page.page, task=page.task, form=form,
                           summary=summary, has_form=page.schema is not None,
                           project=project_of(page.page.instance.project_id),
                           lost=lost, kept=kept)


@bp.get("/tasks/<dbid:task_id>")
@login_required
def show(task_id: int):
    """Show a task (403 for people who may not see it)."""
    return render(pages.task_page(bpm(), db.session, task_id, username()))


@bp.post("/tasks/<dbid:task_id>")
@login_required
def submit(task_id: int):
    """Complete the task, or keep the input as a draft (``action=draft``).

    Reads only the task and its (cached) form schema first: the engine checks who may
    complete or save it, and the whole page is read only to show errors.  Uploads are
    taken only from people who may see the task.
    """
    task = bpm().task(db.session, task_id, username() if request.files else None)
    schema = submitted_schema(task)
    data, upload_errors = read_form(schema)
    if request.form.get("action") == "draft":
        bpm().save_draft(db.session, task_id, username(), data)
        if upload_errors:
            return render(pages.task_page(bpm(), db.session, task_id, username()), data,
                          upload_errors), 422
        flash(_("Draft saved. You can finish this task later."), "success")
        return redirect(url_for("tasks.show", task_id=task_id))
    try:
        check_uploads(schema, data, upload_errors)
        bpm().complete(db.session, task_id, username(), data)
    except InvalidData as exc:
        db.session.rollback()
        page = pages.task_page(bpm(), db.session, task_id, username())
        return render(page, data, exc.errors), 422
    except TaskFailed as exc:  # a script or table of the process failed: keep the input
        db.session.rollback()
        page = pages.task_page(bpm(), db.session, task_id, username())
        return render(page, data, {"": process_failed(str(exc))}), 422
    except Conflict as exc:  # someone else completed or took the step first
        db.session.rollback()
        page = pages.task_page(bpm(), db.session, task_id, username())
        return render(page, data, lost=say(exc)), 409
    flash(_("Done: “%(step)s” for “%(title)s” is completed.", step=task.name,
            title=task.instance_title), "success")
    return redirect(url_for("inbox.index"))


def submitted_schema(task: TaskView) -> dict[str, Any]:
    """The schema a task's form was rendered from (the note form if it has none).

    Deployed versions never change, so schemas are kept per app by (version id, form);
    do not modify the returned dict.
    """
    if not task.form:
        return NOTE_SCHEMA
    definition_id = task.form_definition_id or bpm().instance(
        db.session, task.instance_id).definition_id
    cache = current_app.extensions.setdefault("pmoflow.form_schemas", {})
    key = (definition_id, task.form)
    if key not in cache:
        if len(cache) >= 512:
            cache.clear()
        cache[key] = bpm().form_schema(db.session, definition_id, task.form)
    return cache[key] or NOTE_SCHEMA


@bp.url_value_preprocessor
def _allow_uploads(endpoint: str | None, _values: Any) -> None:
    if endpoint == "tasks.submit" and request.method == "POST":
        allow_uploads()


def allow_uploads() -> None:
    """Let this request carry files: room for one at the limit and then some, so a file
    that is too large is reported beside its field; a larger request is a 413 page.

    Call before anything reads the form (CSRF protection does): from a
    ``url_value_preprocessor``, which runs before ``before_request`` functions.
    """
    limit = 3 * bpm().settings.max_attachment_bytes + 1024 * 1024
    request.max_content_length = max(limit, current_app.config.get("MAX_CONTENT_LENGTH") or 0)


def read_form(schema: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Store the files uploaded to ``schema``'s file fields, then parse the form with them.

    Returns the data and the errors by field (an empty or too large file, text with a NUL
    character, which is removed).  Stored files stay the uploader's until a submitted form
    refers to them.
    """
    uploads: dict[str, list[dict[str, Any]]] = {}
    multiple: dict[str, bool] = {}
    errors: dict[str, str] = {}
    for name in request.files:
        prop = upload_field(schema, name)
        chosen = [f for f in request.files.getlist(name) if f.filename]
        if prop is None or not chosen:
            continue
        multiple[name] = type_of(prop) == "array"
        for upload in chosen if multiple[name] else chosen[-1:]:
            try:
                stored = bpm().add_attachment(db.session, username(), upload.filename or "",
                                              upload.read())
            except InvalidData as exc:
                errors[name] = next(iter(exc.errors.values()), "")
                continue
            uploads.setdefault(name, []).append({"attachment_id": stored.id,
                                                 "name": stored.filename})
    data, bad_text = strip_unstorable(parse_form(schema, with_uploads(request.form, uploads,
                                                                   multiple)))
    errors.update({field: stored_text_message() for field in bad_text})
    return data, errors


def check_uploads(schema: Mapping[str, Any] | None, data: Mapping[str, Any],
                  upload_errors: Mapping[str, str]) -> None:
    """Raise :class:`InvalidData` with the upload errors and every other field's error."""
    if not upload_errors:
        return
    try:
        bpm().validate_form(schema, data)
    except InvalidData as exc:
        raise InvalidData({**exc.errors, **upload_errors}) from None
    raise InvalidData(upload_errors)


@bp.get("/attachments/<dbid:attachment_id>")
@login_required
def attachment(attachment_id: int):
    """A file, for its uploader and whoever may see its request (403 for others).

    Sent with the type sniffed from its bytes at upload (types outside
    :data:`SAFE_TYPES` as ``application/octet-stream``) and ``nosniff``; only images and
    PDFs open in the browser (``inline``), everything else is a download.
    """
    meta, data = bpm().attachment(db.session, attachment_id, username())
    kind = meta.content_type.split(";", 1)[0].strip().lower()
    kind = kind if kind in SAFE_TYPES else "application/octet-stream"
    response = Response(data, content_type=kind)
    inline = kind in INLINE_TYPES
    response.headers["Content-Disposition"] = content_disposition(meta.filename, inline=inline)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A sandboxed document cannot script; browsers' PDF viewers refuse to run in one.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'" if kind == "application/pdf" else "default-src 'none'; sandbox")
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """``attachment`` (or ``inline``) with an ASCII fallback name and the exact one as
    ``filename*``."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\%;' else "_" for c in filename)
    stem, dot, ext = fallback.rpartition(".")
    if not any(c.isalnum() for c in (stem if dot else fallback)):
        fallback = "attachment" + (dot + ext if dot else "")
    disposition = "inline" if inline else "attachment"
    return (f"{disposition}; filename=\"{fallback}\"; "
            f"filename*=UTF-8''{quote(filename, safe='')}")
