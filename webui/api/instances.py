"""`/api/v1/instances`: the requests I started, one instance with its open tasks, data
and history, and withdrawing my own request."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from engine import pages
from webui.api.auth import actor
from webui.api.blueprint import Blueprint
from webui.api.paging import LINK_HEADER, page
from webui.api.schemas import InstanceDetailSchema, InstanceSchema, PageArgs, Strict, page_of
from webui.context import bpm
from webui.extensions import db

blp = Blueprint("api-instances", __name__, url_prefix="/api/v1",
                description="Process instances (requests)")


class WaitingSchema(Schema):
    """Where an instance waits: one open task."""

    task_id = fields.Integer(required=True)
    step = fields.String(required=True)
    element_id = fields.String(required=True)
    assignee = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    since = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean(required=True)


class InstanceRowSchema(Schema):
    """An instance in a list."""

    id = fields.Integer(required=True)
    title = fields.String(required=True)
    business_key = fields.String(allow_none=True)
    process_key = fields.String(required=True)
    process_name = fields.String(required=True)
    status = fields.String(required=True)
    started_by = fields.String(required=True)
    started_at = fields.DateTime(required=True)
    ended_at = fields.DateTime(allow_none=True)
    current_step = fields.String(required=True)
    waiting = fields.List(fields.Nested(WaitingSchema), required=True)


InstancePage = page_of(InstanceRowSchema, "InstancePage")


class InstanceArgs(PageArgs):
    """Filters of my requests."""

    status = fields.String(load_default=None, validate=validate.OneOf(
        ("running", "completed", "cancelled", "withdrawn")))


class WithdrawSchema(Strict):
    """Why a request is withdrawn."""

    reason = fields.String(required=True, validate=validate.Length(1, 2000))


@blp.get("/instances")
@blp.arguments(InstanceArgs, location="query", as_kwargs=True)
@blp.response(200, InstancePage, headers=LINK_HEADER)
def list_instances(offset: int, limit: int, status: str | None):
    """The instances I started, newest first, with where each one waits."""
    found = pages.my_requests(bpm(), db.session, actor(), status=status, offset=offset,
                              limit=limit)
    return page(found.rows, found.total, offset, limit)


@blp.get("/instances/<dbid:instance_id>")
@blp.response(200, InstanceDetailSchema)
def get_instance(instance_id: int):
    """An instance: `status`, its open `tasks`, its `data` and its `history`
    (its starter, the people on its tasks and the PMO may read it)."""
    ip = pages.instance_page(bpm(), db.session, instance_id, actor())
    data = {k: v for k, v in ip.data.items() if k != "typename"}
    return {**vars(ip.instance), "data": data, "history": ip.history}


@blp.post("/instances/<dbid:instance_id>/withdraw")
@blp.arguments(WithdrawSchema)
@blp.response(200, InstanceSchema)
def withdraw(body: dict, instance_id: int):
    """Withdraw a running request I started, with a reason."""
    return bpm().withdraw(db.session, instance_id, actor(), body["reason"])
