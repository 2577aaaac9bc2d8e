"""`/api/v1/decisions`: the decision tables (approval rules, SLAs...) for PMO admins.

List them, read one (its published DMN XML and versions), test it with inputs, replay a
draft over past instances (what-if) and publish a draft. Everyone else gets 403.
"""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from marshmallow import fields, validate

from engine.errors import InvalidData
from engine.views import DecisionTableView, DecisionVersionView, RuleTestResult, WhatIfResult
from webui.api import guards
from webui.api.auth import actor
from webui.api.blueprint import Blueprint
from webui.api.schemas import Strict
from webui.context import bpm
from webui.extensions import db

blp = Blueprint("api-decisions", __name__, url_prefix="/api/v1",
                description="Decision tables: read, test, what-if, publish (PMO admins)")

guards.MULTIPART_ENDPOINTS.update({"api-decisions.what_if", "api-decisions.publish"})

_FILE = {"type": "string", "format": "binary", "description": "The DMN 1.3 file"}
WHAT_IF_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": _FILE}}}}}
PUBLISH_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file", "comment"], "properties": {
        "file": _FILE,
        "comment": {"type": "string", "description": "Why the rule changes (required)"},
        "effective_from": {"type": "string", "format": "date-time",
                           "description": "When new instances start using it (default now)"},
    }}}}}


class DecisionVersionSchema(Strict):
    """One version: draft, published (maybe from a later date) or retired."""

    id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True)
    in_effect = fields.Boolean(required=True)
    saved_by = fields.String(required=True)
    saved_at = fields.DateTime(required=True)
    published_by = fields.String(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    effective_from = fields.DateTime(allow_none=True)
    comment = fields.String(allow_none=True)
    retired_by = fields.String(allow_none=True)
    retired_at = fields.DateTime(allow_none=True)
    instances = fields.Integer(required=True, metadata={
        "description": "Instances that were decided with this version"})


class ColumnSchema(Strict):
    """An input or output column."""

    id = fields.String(required=True)
    label = fields.String(required=True)
    expression = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    type = fields.String(allow_none=True)


class TableSummarySchema(Strict):
    """A decision table in the list."""

    key = fields.String(required=True)
    name = fields.String(required=True)
    hit_policy = fields.String(required=True)
    in_effect = fields.Nested(DecisionVersionSchema, allow_none=True)
    has_draft = fields.Boolean(required=True)


class TableSchema(TableSummarySchema):
    """A decision table with its published XML and every version."""

    xml = fields.String(required=True, metadata={"description": "The DMN XML in effect"})
    inputs = fields.List(fields.Nested(ColumnSchema), required=True)
    outputs = fields.List(fields.Nested(ColumnSchema), required=True)
    draft = fields.Nested(DecisionVersionSchema, allow_none=True)
    versions = fields.List(fields.Nested(DecisionVersionSchema), required=True)


class TestArgs(Strict):
    """Input values by column id or label; `variables`: task data the outputs read."""

    inputs = fields.Dict(keys=fields.String(), required=True)
    variables = fields.Dict(keys=fields.String(), load_default=dict)


class TestRunSchema(Strict):
    """One table run: matched rows (1-based) and outputs per column, or the error."""

    rows = fields.List(fields.Integer(), required=True)
    outputs = fields.Dict(keys=fields.String(), values=fields.List(fields.Raw()),
                          required=True)
    error = fields.String(allow_none=True)


class TestResultSchema(Strict):
    """The published table and the saved draft (if any) on the same inputs."""

    published = fields.Nested(TestRunSchema, required=True)
    draft = fields.Nested(TestRunSchema, allow_none=True)


class ColumnChangeSchema(Strict):
    """Values an output column would gain or lose."""

    column = fields.String(required=True)
    added = fields.List(fields.Raw(), required=True)
    removed = fields.List(fields.Raw(), required=True)


class ChangedSchema(Strict):
    """An instance the draft would have decided differently."""

    instance_id = fields.Integer(required=True)
    title = fields.String(required=True)
    url = fields.String(required=True)
    changes = fields.List(fields.Nested(ColumnChangeSchema), required=True)


class SummarySchema(Strict):
    """`count` instances would have gained (or lost) `value` in `column`."""

    column = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["added", "removed"]))
    value = fields.Raw(allow_none=True)
    count = fields.Integer(required=True)


class WhatIfSchema(Strict):
    """The draft replayed over the recorded inputs of every past instance."""

    checked = fields.Integer(required=True)
    changed = fields.Integer(required=True)
    instances = fields.List(fields.Nested(ChangedSchema), required=True)
    summary = fields.List(fields.Nested(SummarySchema), required=True)
    failed = fields.List(fields.Dict(), required=True)


def _version(view: DecisionVersionView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    return {f: getattr(view, f) for f in DecisionVersionSchema._declared_fields}


def _summary(table: DecisionTableView) -> dict[str, Any]:
    return {"key": table.key, "name": table.name, "hit_policy": table.hit_policy,
            "in_effect": _version(table.in_effect), "has_draft": table.draft is not None}


def _run(found: RuleTestResult | None) -> dict[str, Any] | None:
    return None if found is None else {"rows": found.rows, "outputs": found.outputs,
                                       "error": found.error}


def what_if_json(result: WhatIfResult) -> dict[str, Any]:
    """A what-if as JSON (also what the rules page's script reads)."""
    return {
        "checked": result.checked, "changed": len(result.changed),
        "instances": [{"instance_id": c.instance_id, "title": c.title,
                       "url": url_for("instances.show", instance_id=c.instance_id),
                       "changes": [{"column": col, "added": a, "removed": r}
                                   for col, a, r in c.columns]} for c in result.changed],
        "summary": [{"column": s.column, "kind": s.kind, "value": s.value, "count": s.count}
                    for s in result.summary],
        "failed": [{"instance_id": i, "error": e} for i, e in result.failed],
    }


def _file() -> bytes:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidData({"file": "Send the DMN file in the multipart field 'file'."})
    return upload.read()


@blp.get("/decisions")
@blp.response(200, TableSummarySchema(many=True))
def index(**_kw):
    """Every decision table with the version in effect (PMO admins)."""
    return [_summary(t) for t in bpm().decision_tables(db.session, actor())]


@blp.get("/decisions/<key>")
@blp.response(200, TableSchema)
def show(key: str):
    """One table: its published DMN XML, columns, draft and versions."""
    table = bpm().decision_table(db.session, key, actor())
    return {**_summary(table), "xml": table.source,
            "inputs": [vars(c) for c in table.inputs],
            "outputs": [vars(c) for c in table.outputs],
            "draft": _version(table.draft),
            "versions": [_version(v) for v in table.versions]}


@blp.post("/decisions/<key>/test")
@blp.arguments(TestArgs)
@blp.response(200, TestResultSchema)
def test(args: dict, key: str):
    """Run the table in effect and the saved draft on the same inputs."""
    found = bpm().test_decision(db.session, key, actor(), args["inputs"], args["variables"])
    return {"published": _run(found["published"]), "draft": _run(found.get("draft"))}


@blp.post("/decisions/<key>/what-if")
@blp.doc(requestBody=WHAT_IF_BODY)
@blp.response(200, WhatIfSchema)
def what_if(key: str):
    """Replay a draft (the uploaded DMN) over the recorded inputs of every past instance
    that used the table: how many were checked, how many changed and which."""
    return what_if_json(bpm().decision_what_if(db.session, key, actor(), _file()))


@blp.post("/decisions/<key>/publish")
@blp.doc(requestBody=PUBLISH_BODY)
@blp.response(201, DecisionVersionSchema)
def publish(key: str):
    """Publish the uploaded DMN as the next version, from now or `effective_from`;
    422 (`invalid-diagram`) lists every problem by rule row and column, nothing stored."""
    when = request.form.get("effective_from") or None
    effective = None
    if when:
        try:
            effective = fields.AwareDateTime(default_timezone=None).deserialize(when)
        except Exception:  # marshmallow's ValidationError and friends
            raise InvalidData({"effective_from": "Give an ISO date-time with a time zone."}
                              ) from None
    return _version(bpm().publish_decision(db.session, key, actor(),
                                           request.form.get("comment", ""),
                                           effective_from=effective, content=_file()))
