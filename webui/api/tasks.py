"""`/api/v1/tasks`: my tasks and the ones I could claim; one task with its form; claim,
unclaim, delegate, reassign, complete.

Who may do what is decided by the engine's verbs (roles, project scope, delegation, four
eyes); a 409 says who has or completed the task.
"""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import fields, validate

from engine import pages
from engine.api import TASK_SORTS, TaskQuery
from engine.errors import Conflict, EngineError, FieldError, InvalidData, NotFound
from webui.api.auth import actor
from webui.api.blueprint import Blueprint
from webui.api.guards import has_body
from webui.api.paging import LINK_HEADER, page
from webui.api.problems import engine_problem
from webui.api.schemas import (
    MAX_ID,
    InstanceSchema,
    PageArgs,
    Strict,
    TaskSchema,
    page_of,
)
from webui.context import bpm
from webui.extensions import db
from webui.messages import say
from webui.tasks import schema_of

blp = Blueprint("api-tasks", __name__, url_prefix="/api/v1",
                description="Tasks: the inbox, forms, claim, delegate, complete")

TaskPage = page_of(TaskSchema, "TaskPage")


class TaskArgs(PageArgs):
    """Inbox filters."""

    scope = fields.String(load_default="mine", validate=validate.OneOf(("mine", "claimable")),
                          metadata={"description": "mine: assigned to me (or to someone I "
                                    "act for); claimable: open for my roles"})
    process = fields.String(validate=validate.Length(max=200), load_default=None,
                            metadata={"description": "A process key."})
    role = fields.String(validate=validate.Length(max=64), load_default=None)
    project_id = fields.Integer(validate=validate.Range(1, MAX_ID), load_default=None)
    overdue = fields.Boolean(load_default=False)
    sort = fields.String(load_default="due", validate=validate.OneOf(TASK_SORTS))


class MayActSchema(Strict):
    """Who may act on a task, and whether the caller may."""

    role = fields.String(allow_none=True)
    project_id = fields.Integer(allow_none=True)
    assignee = fields.String(allow_none=True)
    four_eyes = fields.Boolean(required=True)
    candidates = fields.List(fields.String(), required=True, metadata={
        "description": "Who may take the task from its pool (the engine's rule: role, "
                       "four eyes, an earlier vote in the same round)."})
    handover = fields.List(fields.String(), required=True, metadata={
        "description": "Whom the caller may hand the task to (empty if they may not act)."})
    you = fields.Boolean(required=True, metadata={"description": "May the caller "
                                                  "complete it now?"})
    why_not = fields.String(required=True, metadata={
        "description": "Why the caller may not act, in the request's language ('' if they "
                       "may)."})
    why_not_code = fields.String(allow_none=True, metadata={
        "description": "Its stable code, e.g. access.four_eyes (docs/errors.md)."})
    can_claim = fields.Boolean(required=True)
    can_unclaim = fields.Boolean(required=True)


class TaskDetailSchema(TaskSchema):
    """One task with its form's JSON Schema, the values it starts from, who may act."""

    form_schema = fields.Dict(required=True, metadata={
        "description": "JSON Schema that complete's data must satisfy."})
    data = fields.Dict(required=True, metadata={"description": "Current values of the "
                                                "form's fields (instance data and draft)."})
    may_act = fields.Nested(MayActSchema, required=True)


class DelegateSchema(Strict):
    """Hand a task to someone."""

    to = fields.String(required=True, validate=validate.Length(1, 64),
                       metadata={"description": "Username of the new assignee."})
    reason = fields.String(required=True, validate=validate.Length(1, 2000))


class ReassignSchema(DelegateSchema):
    """Give a task to someone (PMO administrators)."""

    override = fields.Boolean(load_default=False, metadata={"description": (
        "Give it even to someone the rule refuses (no role, four eyes, already voted); "
        "the reason is required and the audit records the override and why the rule "
        "refused.")})


COMPLETE_BODY = {"content": {"application/json": {"schema": {
    "type": "object", "additionalProperties": True,
    "description": "Form data valid against the task's form_schema "
                   "(GET /api/v1/tasks/{task_id})."}}}}


@blp.get("/tasks")
@blp.arguments(TaskArgs, location="query", as_kwargs=True)
@blp.response(200, TaskPage, headers=LINK_HEADER)
def list_tasks(offset: int, limit: int, scope: str, process: str | None, role: str | None,
               project_id: int | None, overdue: bool, sort: str):
    """Open tasks assigned to me (`scope=mine`) or open for my roles (`claimable`)."""
    query = TaskQuery(scope=scope, process_key=process or None, role=role or None,
                      project_id=project_id, overdue_only=overdue, sort=sort, limit=limit,
                      offset=offset)
    found, total = bpm().tasks(db.session, actor(), query)
    return page(found, total, offset, limit)


@blp.get("/tasks/<dbid:task_id>")
@blp.response(200, TaskDetailSchema)
def get_task(task_id: int):
    """One task: its form's JSON Schema, current values, and who may act on it."""
    tp = pages.task_page(bpm(), db.session, task_id, actor())
    task = tp.task
    return {**vars(task), "form_schema": schema_of(tp), "data": tp.values, "may_act": {
        "role": task.role, "project_id": task.project_id, "assignee": task.assignee,
        "four_eyes": task.four_eyes, "candidates": list(tp.candidates),
        "handover": list(tp.handover), "you": tp.can_act,
        "why_not": say(tp.why_not), "why_not_code": getattr(tp.why_not, "code", None),
        "can_claim": tp.can_claim, "can_unclaim": tp.can_unclaim}}


@blp.post("/tasks/<dbid:task_id>/claim")
@blp.response(200, TaskSchema)
def claim(task_id: int):
    """Take the task from its role's pool (409 when someone else holds it)."""
    try:
        return bpm().claim(db.session, task_id, actor())
    except Conflict as exc:
        return _conflict(exc, task_id)


@blp.post("/tasks/<dbid:task_id>/unclaim")
@blp.response(200, TaskSchema)
def unclaim(task_id: int):
    """Give a task I claimed back to its role's pool."""
    return bpm().unclaim(db.session, task_id, actor())


@blp.post("/tasks/<dbid:task_id>/delegate")
@blp.arguments(DelegateSchema)
@blp.response(200, TaskSchema)
def delegate(body: dict, task_id: int):
    """Hand the task to a named person with a reason (whoever may work on it)."""
    _require_user(body["to"])
    return bpm().delegate(db.session, task_id, actor(), body["to"], body["reason"])


@blp.post("/tasks/<dbid:task_id>/reassign")
@blp.arguments(ReassignSchema)
@blp.response(200, TaskSchema)
def reassign(body: dict, task_id: int):
    """Give any open task to a named person who may do the work (PMO administrators
    only); with `override`, to anyone, audited as an override."""
    _require_user(body["to"])
    return bpm().reassign(db.session, task_id, actor(), body["to"], body["reason"],
                          override=body["override"])


@blp.post("/tasks/<dbid:task_id>/complete")
@blp.doc(requestBody=COMPLETE_BODY)
@blp.response(200, InstanceSchema)
def complete(task_id: int):
    """Complete the task with its form data; answers the instance as it stands after.

    422 lists every bad field; 409 when someone else completed it first.
    """
    data: Any = request.get_json(silent=True) if has_body() else {}
    if not isinstance(data, dict):
        raise InvalidData({"": FieldError("The body must be a JSON object.", "form.not_object",
                                          field="")})
    try:
        return bpm().complete(db.session, task_id, actor(), data)
    except Conflict as exc:
        return _conflict(exc, task_id)


def _require_user(username: str) -> None:
    try:
        bpm().user(db.session, username)
    except NotFound:
        raise InvalidData({"to": FieldError(f"There is no user named {username!r}.",
                                            "user.not_found", field="to", user=username)}
                          ) from None


def _conflict(exc: Conflict, task_id: int):
    """409 with the task as it is now (who has or completed it), if the caller may see it."""
    db.session.rollback()
    try:
        now = bpm().task(db.session, task_id, actor())
    except EngineError:
        return engine_problem(exc)
    return engine_problem(exc, task={
        "id": now.id, "status": now.status, "assignee": now.assignee,
        "completed_by": now.completed_by, "on_behalf_of": now.on_behalf_of,
        "completed_at": now.completed_at.isoformat() if now.completed_at else None})


