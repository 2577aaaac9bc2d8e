"""`/api/v1/processes/{key}/versions`, a version's XML, the diff of two versions, and
validating a draft diagram (process owners)."""

from __future__ import annotations

from flask import Response
from marshmallow import fields, validate

from webui.api.auth import actor
from webui.api.blueprint import Blueprint
from webui.api.schemas import DiagramProblemSchema, Strict
from webui.context import bpm
from webui.extensions import db

blp = Blueprint("api-versions", __name__, url_prefix="/api/v1",
                description="Process versions, their diff, validating a draft")

XML_RESPONSE = {"200": {"description": "The BPMN XML as deployed",
                        "content": {"application/xml": {"schema": {"type": "string"}}}}}


class VersionSchema(Strict):
    """One deployed version of a process."""

    version = fields.Integer(required=True)
    definition_id = fields.Integer(required=True)
    name = fields.String(required=True)
    deployed_by = fields.String(required=True)
    deployed_at = fields.DateTime(required=True)
    content_hash = fields.String(required=True)
    comment = fields.String(allow_none=True)
    effective_from = fields.DateTime(allow_none=True)
    running = fields.Integer(required=True, metadata={
        "description": "Instances running on this version now."})
    current = fields.Boolean(required=True, metadata={
        "description": "New instances start on this version now."})


class VersionListSchema(Strict):
    """Every version of a process, newest first."""

    key = fields.String(required=True)
    items = fields.List(fields.Nested(VersionSchema), required=True)


class DiffArgs(Strict):
    """The two versions to compare."""

    old = fields.Integer(required=True, data_key="from", validate=validate.Range(1, 10**6))
    new = fields.Integer(required=True, data_key="to", validate=validate.Range(1, 10**6))


class FieldChangeSchema(Strict):
    """One attribute that differs (null: not set in that version)."""

    field = fields.String(required=True)
    old = fields.String(allow_none=True)
    new = fields.String(allow_none=True)


class ElementChangeSchema(Strict):
    """An element added, removed or changed."""

    element_id = fields.String(required=True)
    name = fields.String(allow_none=True)
    type = fields.String(required=True)
    kind = fields.String(required=True)
    changes = fields.List(fields.Nested(FieldChangeSchema), required=True)


class DiffSchema(Strict):
    """What changed between two versions."""

    old = fields.Integer(required=True, data_key="from")
    new = fields.Integer(required=True, data_key="to")
    added = fields.List(fields.Nested(ElementChangeSchema), required=True)
    removed = fields.List(fields.Nested(ElementChangeSchema), required=True)
    changed = fields.List(fields.Nested(ElementChangeSchema), required=True)


class DraftSchema(Strict):
    """A draft diagram to check."""

    xml = fields.String(required=True, validate=validate.Length(min=1, max=1_000_000))


class DraftCheckSchema(Strict):
    """Every problem deploying the draft would report (empty: deployable)."""

    valid = fields.Boolean(required=True)
    problems = fields.List(fields.Nested(DiagramProblemSchema), required=True)


@blp.get("/processes/<key>/versions")
@blp.response(200, VersionListSchema)
def list_versions(key: str):
    """Every version of a process with who deployed it, when, why, and its running work."""
    found = bpm().process_versions(db.session, key)
    items = [{"version": v.definition.version, "definition_id": v.definition.id,
              "name": v.definition.name, "deployed_by": v.definition.deployed_by,
              "deployed_at": v.definition.deployed_at,
              "content_hash": v.definition.content_hash, "comment": v.definition.comment,
              "effective_from": v.definition.effective_from, "running": v.running,
              "current": v.current} for v in found]
    return {"key": key, "items": items}


@blp.get("/processes/<key>/versions/<dbid:version>/xml")
@blp.doc(responses=XML_RESPONSE)
def version_xml(key: str, version: int):
    """The BPMN XML of one version, as deployed."""
    return Response(bpm().version_source(db.session, key, version),
                    mimetype="application/xml")


@blp.get("/processes/<key>/diff")
@blp.arguments(DiffArgs, location="query", as_kwargs=True)
@blp.response(200, DiffSchema)
def diff(key: str, old: int, new: int):
    """Elements added, removed and changed from version `from` to version `to`."""
    found = bpm().diff_versions(db.session, key, old, new)
    return {"old": old, "new": new, "added": found.added, "removed": found.removed,
            "changed": found.changed}


@blp.post("/processes/<key>/validate")
@blp.arguments(DraftSchema)
@blp.response(200, DraftCheckSchema)
def validate_draft(body: dict, key: str):
    """Check a draft diagram of this process with the deploy checks (process owners;
    the forms of the process's newest version go with it). Stores nothing."""
    found = bpm().validate_draft(db.session, body["xml"].encode("utf-8"), actor(),
                                 process_key=key)
    return {"valid": not found, "problems": [p.to_dict() for p in found]}
