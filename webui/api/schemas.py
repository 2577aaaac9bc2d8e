"""Marshmallow schemas shared by the API's resources: paging, problems, tasks, instances.

The same classes validate requests (unknown fields are refused) and describe requests and
answers in the OpenAPI document.  Resource-specific schemas live beside their routes.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

#: Ids are 32-bit integer columns on PostgreSQL.
MAX_ID = 2_147_483_647
MAX_OFFSET = 1_000_000
MAX_LIMIT = 200


class Strict(ma.Schema):
    """Refuses unknown fields (422 with `unknown_field`)."""

    class Meta:
        unknown = ma.RAISE
        ordered = True


# --------------------------------------------------------------------------- paging


class PageArgs(Strict):
    """`offset`/`limit` paging (every list)."""

    offset = fields.Integer(load_default=0, validate=validate.Range(0, MAX_OFFSET),
                            metadata={"description": "Items to skip."})
    limit = fields.Integer(load_default=25, validate=validate.Range(1, MAX_LIMIT),
                           metadata={"description": f"Items per page (1-{MAX_LIMIT})."})


class PageSchema(ma.Schema):
    """One page of a list: `items`, the `total` for the filters, `offset`, `limit`.

    A `Link: <url>; rel="next"` header (and `rel="prev"`) points at the neighbours.
    """

    total = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    limit = fields.Integer(required=True)


def page_of(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A page schema whose `items` are `item_schema` (named `name` in the document)."""
    return type(name, (PageSchema,), {
        "items": fields.List(fields.Nested(item_schema), required=True),
        "__doc__": f"One page of {item_schema.__name__.removesuffix('Schema').lower()}s.",
    })


# --------------------------------------------------------------------------- problems


class FieldErrorSchema(ma.Schema):
    """One field's problem."""

    field = fields.String(required=True, metadata={"description": "Dotted path; '' or "
                                                   "'(body)' for the whole body."})
    code = fields.String(required=True, metadata={
        "description": "Stable code, e.g. form.required, form.minimum (docs/errors.md)."})
    message = fields.String(required=True, metadata={
        "description": "Said in the request's language (Accept-Language)."})
    params = fields.Dict(metadata={"description": "Values the message names: field, "
                                   "pointer, limit, allowed, expected..."})
    in_ = fields.String(data_key="in", metadata={"description": "query or body"})


class DiagramProblemSchema(ma.Schema):
    """One problem in an uploaded file."""

    file = fields.String(required=True)
    line = fields.Integer(allow_none=True)
    element_id = fields.String(allow_none=True)
    element_name = fields.String(allow_none=True)
    message = fields.String(required=True)
    code = fields.String(metadata={"description": "Stable code, e.g. deploy.bad_xml, "
                                   "dmn.problem (docs/errors.md)."})
    params = fields.Dict(metadata={"description": "Values the message names (rule...)."})


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details (`application/problem+json`)."""

    type = fields.String(required=True, metadata={
        "description": "Stable URI of the kind of error, e.g. /api/v1/problems/conflict; "
                       "GET /api/v1/problems lists them all."})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    code = fields.String(required=True, metadata={
        "description": "Stable finer-grained code, e.g. task.already_completed, "
                       "access.four_eyes, invalid_data (docs/errors.md)."})
    params = fields.Dict(metadata={"description": "Values the detail names (task_id, "
                                   "user, role...)."})
    errors = fields.List(fields.Nested(FieldErrorSchema))
    problems = fields.List(fields.Nested(DiagramProblemSchema))
    task = fields.Dict(metadata={"description": "409 on a task: who has or completed it."})
    element_id = fields.String(allow_none=True)
    element_name = fields.String(allow_none=True)
    line = fields.Integer(allow_none=True)


# --------------------------------------------------------------------------- tasks


class TaskSchema(ma.Schema):
    """A human task as the inbox lists it."""

    id = fields.Integer(required=True)
    instance_id = fields.Integer(required=True)
    instance_title = fields.String()
    business_key = fields.String(allow_none=True)
    process_key = fields.String(required=True)
    element_id = fields.String(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "open, completed or "
                                                    "cancelled"})
    role = fields.String(allow_none=True)
    project_id = fields.Integer(allow_none=True)
    assignee = fields.String(allow_none=True)
    form = fields.String(allow_none=True)
    four_eyes = fields.Boolean()
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True)
    claimed_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    on_behalf_of = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)


class AuditSchema(ma.Schema):
    """One entry of an instance's history."""

    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    kind = fields.String(required=True)
    element_id = fields.String(allow_none=True)
    element_name = fields.String(allow_none=True)
    task_id = fields.Integer(attribute="human_task_id", allow_none=True)
    outcome = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    detail = fields.Dict()


class InstanceSchema(ma.Schema):
    """A process instance with its open tasks."""

    id = fields.Integer(required=True)
    process_key = fields.String(required=True)
    definition_version = fields.Integer()
    title = fields.String()
    business_key = fields.String(allow_none=True)
    project_id = fields.Integer(allow_none=True)
    status = fields.String(required=True, metadata={
        "description": "running, completed, cancelled or withdrawn"})
    started_by = fields.String()
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    current_step = fields.String()
    tasks = fields.List(fields.Nested(TaskSchema), attribute="open_tasks", required=True,
                        metadata={"description": "The open tasks."})


class InstanceDetailSchema(InstanceSchema):
    """An instance with its data and history."""

    data = fields.Dict(metadata={"description": "The request's data so far."})
    history = fields.List(fields.Nested(AuditSchema), required=True)
