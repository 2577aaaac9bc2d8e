"""`/api/v1/deployments`: validate and deploy BPMN, DMN and form files (process owners).

The files come as `multipart/form-data`, field `files` (repeat it for several);
form schemas are recognised by their `.json` name, wherever they sit.
"""

from __future__ import annotations

from flask import request
from marshmallow import Schema, fields

from engine.api import SourceFile
from engine.errors import InvalidData
from webui.api import guards
from webui.api.auth import actor
from webui.api.blueprint import Blueprint
from webui.api.schemas import DiagramProblemSchema
from webui.context import bpm
from webui.extensions import db

blp = Blueprint("api-deployments", __name__, url_prefix="/api/v1",
                description="Validate and deploy diagrams (process owners)")

guards.MULTIPART_ENDPOINTS.update({"api-deployments.deploy", "api-deployments.validate"})

FILES_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {"files": {"type": "array", "minItems": 1,
                             "items": {"type": "string", "format": "binary"},
                             "description": ".bpmn, .dmn and form .json files"},
                   "comment": {"type": "string", "maxLength": 2000,
                               "description": "Why: kept with each new process version "
                                              "and in the audit."}}}}}}


class DeployedSchema(Schema):
    """A process or decision version a deployment created."""

    key = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    id = fields.Integer(required=True)


class DeploymentSchema(Schema):
    """What one deployment created; `unchanged`: keys whose content was identical."""

    processes = fields.List(fields.Nested(DeployedSchema), required=True)
    decisions = fields.List(fields.Nested(DeployedSchema), required=True)
    unchanged = fields.List(fields.String(), required=True)


class ValidationSchema(Schema):
    """Every problem found (empty: the files can be deployed)."""

    valid = fields.Boolean(required=True)
    problems = fields.List(fields.Nested(DiagramProblemSchema), required=True)


def _files() -> list[SourceFile]:
    uploads = [f for f in request.files.getlist("files") if f.filename]
    if not uploads:
        raise InvalidData({"files": "Send at least one file in the multipart field 'files'."})
    return [SourceFile(f.filename.replace("\\", "/").rsplit("/", 1)[-1] or "upload",
                       f.read()) for f in uploads]


@blp.post("/deployments")
@blp.doc(requestBody=FILES_BODY)
@blp.response(201, DeploymentSchema)
def deploy(**_kw):
    """Validate and deploy; 422 (`invalid-diagram`) lists every problem with its file,
    line and element id, and nothing is stored."""
    comment = (request.form.get("comment") or "")[:2000]
    return bpm().deploy(db.session, _files(), actor(), check_role=True, comment=comment)


@blp.post("/deployments/validate")
@blp.doc(requestBody=FILES_BODY)
@blp.response(200, ValidationSchema)
def validate(**_kw):
    """Check files without storing anything: every problem, with file, line, element id."""
    found = bpm().validate(db.session, _files(), actor=actor())
    return {"valid": not found, "problems": [p.to_dict() for p in found]}
