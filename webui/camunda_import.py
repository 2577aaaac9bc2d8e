"""Import from Camunda 7 (process owners): upload Camunda 7 BPMN and DMN files, read the
report with the elements marked on the diagram, map Camunda groups to roles and bind
service tasks to operations, convert again, and keep the result as modeler drafts."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_login import login_required

from engine.errors import InvalidData
from webui.camunda_wording import say_entry
from webui.context import bpm, username
from webui.extensions import db
from webui.messages import role_label, say

bp = Blueprint("camunda", __name__)

_OUTCOME_ORDER = {"cannot_run": 0, "needs_decision": 1, "converted": 2}


@bp.get("/modeler/camunda")
@login_required
def upload_form():
    """The upload form, and the owner's recent imports."""
    return render_template("camunda_upload.html", errors=[],
                           imports=bpm().list_camunda_imports(db.session, username()))


@bp.post("/modeler/camunda")
@login_required
def upload():
    """Keep the uploaded files as a new import and show its report."""
    files = {f.filename: f.read() for f in request.files.getlist("files") if f.filename}
    try:
        import_id = bpm().start_camunda_import(db.session, username(), files)
    except InvalidData as exc:
        db.session.rollback()
        return render_template("camunda_upload.html",
                               errors=[say(e) for e in exc.errors.values()],
                               imports=bpm().list_camunda_imports(db.session, username())), 422
    return redirect(url_for("camunda.report", import_id=import_id))


@bp.get("/modeler/camunda/<dbid:import_id>")
@login_required
def report(import_id: int, errors: dict | None = None):
    """The report, the group -> role table, the service task -> operation table."""
    found = bpm().camunda_import(db.session, username(), import_id)
    bpmn_files = [n for n in found.file_names if n.lower().endswith((".bpmn", ".xml"))]
    shown = request.args.get("file") or (bpmn_files[0] if bpmn_files else "")
    entries = found.result.entries_for(shown) if shown else []
    marks: dict[str, str] = {}  # element id -> its worst outcome, for the diagram
    for entry in entries:
        if entry.element_id and _OUTCOME_ORDER[entry.outcome] < _OUTCOME_ORDER.get(
                marks.get(entry.element_id, "converted"), 2):
            marks[entry.element_id] = entry.outcome
        elif entry.element_id:
            marks.setdefault(entry.element_id, entry.outcome)
    return render_template(
        "camunda_report.html", found=found, result=found.result, bpmn_files=bpmn_files,
        shown=shown, entries=entries, marks=marks,
        others=[e for e in found.result.report if e.file != shown],
        roles=[(r, role_label(r)) for r in found.roles], errors=errors or {},
        say_entry=say_entry,
        groups=sorted(found.result.groups.items()))


@bp.get("/modeler/camunda/<dbid:import_id>/original")
@login_required
def original(import_id: int):
    """One uploaded file as it came (for the diagram viewer)."""
    found = bpm().camunda_import_file(db.session, username(), import_id,
                                      request.args.get("file", ""))
    response = Response(found, mimetype="text/plain")
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.post("/modeler/camunda/<dbid:import_id>")
@login_required
def convert_again(import_id: int):
    """Keep the owner's choices and convert again (or save the drafts)."""
    groups = {k[len("role:"):]: v for k, v in request.form.items() if k.startswith("role:")}
    operations = {k[len("operation:"):]: v for k, v in request.form.items()
                  if k.startswith("operation:")}
    try:
        bpm().choose_camunda_mapping(db.session, username(), import_id,
                                     group_roles=groups, operations=operations)
    except InvalidData as exc:
        db.session.rollback()
        return report(import_id, errors={k: say(v) for k, v in exc.errors.items()}), 422
    if request.form.get("action") == "drafts":
        saved = bpm().save_camunda_import(db.session, username(), import_id)
        if len(saved) == 1:
            return redirect(url_for("modeler.index", draft=saved[0].id))
        return redirect(url_for("modeler.index"))
    return redirect(url_for("camunda.report", import_id=import_id,
                            file=request.form.get("file") or None))
