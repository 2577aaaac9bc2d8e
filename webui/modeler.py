"""The modeler (process owners): draw or open a diagram, keep drafts on the server,
validate with the engine's deploy checks, deploy a new version with a comment."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from flask_login import login_required

from engine.errors import InvalidData, InvalidDiagram
from webui.context import bpm, username
from webui.extensions import db
from webui.messages import say

bp = Blueprint("modeler", __name__)


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("xml"), str):
        raise InvalidData({"xml": "Send the diagram as JSON: {\"xml\": \"...\"}."})
    return data


def _problems(found) -> list[dict]:
    """Problems for the page, each said in the reader's language where its code has a
    text (the others keep the checker's words)."""
    return [{**p.to_dict(), "message": say(p)} for p in found]


def _when(value: object) -> datetime | None:
    """An effective date from the form (``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM``, UTC)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidData({"effective_from": "Give a date like 2027-01-31."}) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@bp.get("/modeler")
@login_required
def index():
    """The modeler, opened on a deployed version (``key``, ``version``), a draft
    (``draft``) or a new diagram."""
    found = bpm().process_drafts(db.session, username())
    key, version = request.args.get("key", ""), request.args.get("version", "")
    draft = request.args.get("draft", "")
    source, based_on = "", ""
    if draft.isdigit():
        source = url_for("modeler.draft_xml", draft_id=int(draft))
    elif key and version.isdigit():
        source = url_for("library.diagram", key=key, version=int(version))
        based_on = version
    return render_template("modeler.html", drafts=found, source=source, key=key,
                           based_on=based_on, draft_id=draft if draft.isdigit() else "")


@bp.get("/modeler/drafts/<dbid:draft_id>.bpmn")
@login_required
def draft_xml(draft_id: int):
    """A saved draft's XML."""
    found = bpm().process_draft(db.session, username(), draft_id)
    response = Response(found.xml, mimetype="text/plain")
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.post("/modeler/validate")
@login_required
def validate():
    """The problems deploying the diagram would report (JSON)."""
    try:
        found = bpm().validate_draft(db.session, _body()["xml"].encode("utf-8"), username(),
                                     notes=True)
    except InvalidDiagram as exc:  # not BPMN at all: one problem for the file
        found = exc.problems
    return jsonify(problems=_problems(found))


@bp.post("/modeler/drafts")
@login_required
def save_draft():
    """Keep the diagram as the owner's draft of its process (JSON)."""
    body = _body()
    based_on = body.get("based_on")
    saved = bpm().save_process_draft(
        db.session, username(), str(body.get("key") or ""), body["xml"],
        name=str(body.get("name") or ""),
        based_on=based_on if isinstance(based_on, int) else None)
    return jsonify(id=saved.id, updated_at=saved.updated_at.isoformat(),
                   url=url_for("modeler.index", draft=saved.id))


@bp.post("/modeler/drafts/<dbid:draft_id>/delete")
@login_required
def delete_draft(draft_id: int):
    """Throw a draft away."""
    bpm().delete_process_draft(db.session, username(), draft_id)
    return jsonify(deleted=draft_id)


@bp.post("/modeler/deploy")
@login_required
def deploy():
    """Deploy the diagram as a new version (only when clean, with a comment)."""
    body = _body()
    try:
        result = bpm().deploy_draft(db.session, body["xml"].encode("utf-8"), username(),
                                    comment=str(body.get("comment") or ""),
                                    effective_from=_when(body.get("effective_from")))
    except InvalidDiagram as exc:
        db.session.rollback()
        return jsonify(problems=_problems(exc.problems)), 422
    versions = [{"key": p.key, "version": p.version,
                 "url": url_for("library.process", key=p.key, v=p.version)}
                for p in result.processes]
    return jsonify(versions=versions, unchanged=result.unchanged), 201
