"""`/api/v1/forms`: task forms (JSON Schema) for process owners: list, get one, save a
draft (every problem named by its JSON pointer), and validate sample data against one."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request
from marshmallow import fields

from engine.errors import FieldError, InvalidData
from engine.views import FormView
from webui.api.auth import actor
from webui.api.blueprint import Blueprint
from webui.api.guards import has_body
from webui.api.problems import field_errors
from webui.api.schemas import Strict
from webui.context import bpm
from webui.extensions import db

blp = Blueprint("api-forms", __name__, url_prefix="/api/v1",
                description="Task forms (JSON Schema) and the form designer")

SCHEMA_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "additionalProperties": True,
    "description": "The form's JSON Schema (2020-12, with the conventions of docs/forms.md)."
}}}}
PREVIEW_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "additionalProperties": False,
    "properties": {
        "data": {"type": "object", "additionalProperties": True,
                 "description": "Sample data to validate."},
        "schema": {"type": "object", "additionalProperties": True,
                   "description": "A draft schema (default: the saved form)."}}}}}}


class FormSummarySchema(Strict):
    """A task form: its saved draft, else its newest deployed copy."""

    name = fields.String(required=True)
    title = fields.String(required=True)
    draft = fields.Boolean(required=True, metadata={
        "description": "A saved draft waits for the next deployment from the modeler."})
    deployed_in = fields.List(fields.String(), required=True, metadata={
        "description": "Process versions that froze a copy (`key vN`)."})
    updated_by = fields.String(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)


class FormSchema(FormSummarySchema):
    """A task form with its JSON Schema."""

    schema = fields.Dict(required=True)


class FormListSchema(Strict):
    """Every task form, by name."""

    items = fields.List(fields.Nested(FormSummarySchema), required=True)


class PreviewErrorSchema(Strict):
    """One problem of the sample data."""

    field = fields.String(required=True)
    code = fields.String(required=True)
    message = fields.String(required=True)
    params = fields.Dict()


class PreviewSchema(Strict):
    """Whether the sample data passes the form, and every problem by field."""

    valid = fields.Boolean(required=True)
    errors = fields.List(fields.Nested(PreviewErrorSchema), required=True)


def _ordered(view: FormView) -> Response:
    """A form as JSON with its schema's keys in their own order (Flask's JSON sorts keys,
    and the order of ``properties`` is the order of the fields on screen)."""
    body = FormSchema().dump(_out(view))
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")


def _out(view: FormView) -> dict[str, Any]:
    return {"name": view.name, "title": view.title, "draft": view.draft,
            "deployed_in": list(view.deployed_in), "updated_by": view.updated_by,
            "updated_at": view.updated_at, "schema": view.schema}


def _body() -> str:
    return request.get_data(as_text=True) if has_body() else ""


@blp.get("/forms")
@blp.response(200, FormListSchema)
def list_forms():
    """Every task form: drafts saved in the designer and forms deployed with a process."""
    return {"items": [_out(f) for f in bpm().forms(db.session, actor())]}


@blp.get("/forms/<name>")
@blp.response(200, FormSchema)
def get_form(name: str):
    """One form: its draft, else its newest deployed copy (404 for an unknown name)."""
    return _ordered(bpm().form(db.session, actor(), name))


@blp.put("/forms/<name>")
@blp.doc(requestBody=SCHEMA_BODY)
@blp.response(200, FormSchema)
def put_form(name: str):
    """Save a form draft; the next deployment from the modeler takes it along. 422 names
    every problem with its JSON pointer (`errors[].field`); nothing is saved then."""
    return _ordered(bpm().save_form(db.session, actor(), name, _body()))


@blp.post("/forms/<name>/preview")
@blp.doc(requestBody=PREVIEW_BODY)
@blp.response(200, PreviewSchema)
def preview_form(name: str):
    """Validate sample data against a draft schema (or the saved form); 422 when the
    schema itself has problems."""
    body: Any = request.get_json(silent=True) if has_body() else None
    if not isinstance(body, dict) or not isinstance(body.get("data", {}), dict) or (
            set(body) - {"data", "schema"}):
        raise InvalidData({"": FieldError("The body must be a JSON object with data (and "
                                          "optionally schema).", "form.not_object", field="")})
    schema = body.get("schema")
    if schema is None:
        schema = bpm().form(db.session, actor(), name).schema
    found = bpm().preview_form(db.session, actor(), json.dumps(schema), body.get("data") or {})
    return {"valid": not found.errors, "errors": field_errors(found.errors)}
