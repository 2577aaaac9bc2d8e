"""`/api/v1/imports/camunda7`: convert Camunda 7 BPMN/DMN files (process owners).

The files come as `multipart/form-data`, field `files` (repeat it for several); optional
fields `roles` (JSON object: Camunda group or lane -> PMOflow role, `"*"` for tasks
without a group), `operations` (JSON object: element id -> registered operation) and
`drafts` (`true`: keep the converted processes as the caller's modeler drafts and the
generated forms as form drafts).  Nothing is deployed; docs/camunda7.md says what is
converted.
"""

from __future__ import annotations

import json

from flask import request
from marshmallow import Schema, fields

from engine.errors import InvalidData
from webui.api import guards
from webui.api.auth import actor
from webui.api.blueprint import Blueprint
from webui.context import bpm
from webui.extensions import db

blp = Blueprint("api-camunda7", __name__, url_prefix="/api/v1",
                description="Import diagrams drawn for Camunda 7 (process owners)")

guards.MULTIPART_ENDPOINTS.add("api-camunda7.import_camunda7")

_TABLE = {"type": "string", "description": "A JSON object of strings."}
IMPORT_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {
        "files": {"type": "array", "minItems": 1,
                  "items": {"type": "string", "format": "binary"},
                  "description": "Camunda 7 .bpmn and .dmn files"},
        "roles": {**_TABLE, "description": 'Group or lane -> role, e.g. {"management": '
                  '"pmo_head", "*": "pm"} ("*": tasks that name no group).'},
        "operations": {**_TABLE, "description": 'Element id -> registered operation, e.g. '
                       '{"Task_notify": "send_mail"}.'},
        "drafts": {"type": "boolean", "description": "Keep the result as your drafts."},
    }}}}}


class EntrySchema(Schema):
    """One Camunda construct on one element and what became of it."""

    file = fields.String(required=True)
    line = fields.Integer(allow_none=True)
    element_id = fields.String(allow_none=True)
    element_name = fields.String(allow_none=True)
    construct = fields.String(required=True, metadata={
        "description": "As Camunda names it: camunda:class, camunda:candidateGroups, ..."})
    outcome = fields.String(required=True, metadata={
        "enum": ["converted", "needs_decision", "cannot_run"]})
    message = fields.String(required=True)
    code = fields.String(required=True, metadata={
        "description": "Stable key of the message (engine/camunda7/report.py MESSAGES, "
                       "e.g. camunda.class_needs_operation); camunda.note: not coded yet."})
    params = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                         metadata={"description": "The message's variable parts (element, "
                                   "construct, group, role...) by name."})


class ServiceSchema(Schema):
    """A Java delegate, expression, external task or connector, and its binding."""

    file = fields.String(required=True)
    element_id = fields.String(required=True)
    element_name = fields.String(allow_none=True)
    line = fields.Integer(allow_none=True)
    construct = fields.String(required=True)
    value = fields.String(required=True)
    operation = fields.String(allow_none=True)


class ConvertedFileSchema(Schema):
    """A converted file (BPMN, DMN or form JSON Schema) as text."""

    name = fields.String(required=True)
    content = fields.String(required=True)


class ImportSchema(Schema):
    """The converted files and the report, per file sorted by line."""

    status = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                         metadata={"description": "Uploaded file -> converted, "
                                   "needs_decision, cannot_run or crashed."})
    summary = fields.String(required=True, metadata={
        "example": "converted=1 needs_decision=0 cannot_run=0 crashed=0"})
    report = fields.List(fields.Nested(EntrySchema), required=True)
    groups = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True),
                         required=True)
    unknown_groups = fields.List(fields.String(), required=True)
    services = fields.List(fields.Nested(ServiceSchema), required=True)
    files = fields.List(fields.Nested(ConvertedFileSchema), required=True)
    drafts = fields.List(fields.String(), required=True, metadata={
        "description": "Process keys kept as your drafts."})


def _table(name: str) -> dict[str, str]:
    raw = request.form.get(name) or ""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidData({name: "Send a JSON object of strings."})
    return value


@blp.post("/imports/camunda7")
@blp.doc(requestBody=IMPORT_BODY)
@blp.response(200, ImportSchema)
def import_camunda7(**_kw):
    """Convert Camunda 7 files; the report says, per element and in Camunda's words, what
    was converted, what needs your decision and what cannot run. Deploys nothing."""
    uploads = [f for f in request.files.getlist("files") if f.filename]
    if not uploads:
        raise InvalidData({"files": "Send at least one file in the multipart field 'files'."})
    files = {f.filename.replace("\\", "/").rsplit("/", 1)[-1] or "upload": f.read()
             for f in uploads}
    result = bpm().import_camunda(
        db.session, files, actor=actor(), group_roles=_table("roles"),
        operations=_table("operations"),
        save_drafts=(request.form.get("drafts") or "").lower() in ("true", "1", "yes"),
    )
    body = result.to_dict()
    body["files"] = [{"name": n, "content": c.decode("utf-8", "replace")}
                     for n, c in sorted(result.files.items())]
    return body
