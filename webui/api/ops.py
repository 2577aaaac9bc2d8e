"""`/api/v1/incidents` and the ops actions on instances (PMO administrator only): list,
read and retry incidents; list instances by status; suspend, resume, cancel, retry,
move a token, move a batch to a newer version.

Each action may carry the instance's `revision` as the caller saw it: if the instance
moved on meanwhile, the answer is a 409 problem (`ops.instance_moved_on`) saying what
changed, and nothing is done.  Every action is audited with the caller and the reason.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from marshmallow import Schema, fields, validate

from webui.api.auth import actor
from webui.api.blueprint import Blueprint
from webui.api.paging import LINK_HEADER, page
from webui.api.schemas import MAX_ID, PageArgs, Strict, page_of
from webui.context import bpm
from webui.extensions import db

blp = Blueprint("api-ops", __name__, url_prefix="/api/v1",
                description="Operations (PMO administrator): incidents, suspend, resume, "
                            "cancel, retry, move a token, move to a newer version")

STATUSES = ("running", "suspended", "completed", "cancelled", "incident")


class IncidentSchema(Schema):
    """An incident: what is wrong, the error, and the element where it happened."""

    id = fields.Integer(allow_none=True, metadata={
        "description": "None for a failed job the doctor has not recorded yet."})
    kind = fields.String(required=True, metadata={
        "description": "job_failed, stranded, task_row_missing, task_row_stale, "
                       "timer_job_missing, step_not_run, state_unreadable, "
                       "finished_instance_job"})
    code = fields.String(required=True)
    instance_id = fields.Integer(allow_none=True)
    job_id = fields.Integer(allow_none=True)
    error = fields.String(required=True)
    element_id = fields.String(allow_none=True)
    element_name = fields.String(allow_none=True)
    status = fields.String(required=True)
    opened_at = fields.DateTime(required=True)
    seen_count = fields.Integer(required=True)
    resolved_by = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)


IncidentPage = page_of(IncidentSchema, "IncidentPage")


class IncidentArgs(PageArgs):
    """Incident filters."""

    status = fields.String(load_default="open", validate=validate.OneOf(("open", "all")))
    instance_id = fields.Integer(load_default=None, validate=validate.Range(1, MAX_ID))


class OpsRowSchema(Schema):
    """An instance as the ops console lists it."""

    id = fields.Integer(required=True)
    process_key = fields.String(required=True)
    process_name = fields.String(required=True)
    version = fields.Integer(required=True)
    title = fields.String(required=True)
    business_key = fields.String(allow_none=True)
    project_id = fields.Integer(allow_none=True)
    status = fields.String(required=True)
    started_by = fields.String(required=True)
    started_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    ended_at = fields.DateTime(allow_none=True)
    current_step = fields.String(required=True)
    revision = fields.Integer(required=True)
    incidents = fields.Integer(required=True)


OpsPage = page_of(OpsRowSchema, "OpsInstancePage")


class OpsArgs(PageArgs):
    """Ops console filters."""

    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    q = fields.String(load_default="", validate=validate.Length(max=200), metadata={
        "description": "An instance id, or part of a title, business key or process key."})
    process = fields.String(load_default=None, validate=validate.Length(max=200))
    project_id = fields.Integer(load_default=None, validate=validate.Range(1, MAX_ID))
    requester = fields.String(load_default=None, validate=validate.Length(max=64))


class ResultSchema(Schema):
    """What an action did."""

    instance_id = fields.Integer(required=True)
    action = fields.String(required=True)
    status = fields.String(required=True)
    revision = fields.Integer(required=True, metadata={
        "description": "The instance's revision now (send it with the next action)."})
    detail = fields.Dict(required=True)


_REVISION = fields.Integer(load_default=None, validate=validate.Range(1, MAX_ID), metadata={
    "description": "The revision the caller saw; a 409 if the instance moved on since."})


class ReasonSchema(Strict):
    """An action that needs a reason."""

    reason = fields.String(required=True, validate=validate.Length(max=2000))
    revision = _REVISION


class NoteSchema(Strict):
    """An action with an optional note."""

    reason = fields.String(load_default="", validate=validate.Length(max=2000))
    revision = _REVISION


class MoveTokenSchema(Strict):
    """Move the token waiting at `from_element` to `to_element` (element ids)."""

    from_element = fields.String(required=True, validate=validate.Length(max=200))
    to_element = fields.String(required=True, validate=validate.Length(max=200))
    reason = fields.String(required=True, validate=validate.Length(max=2000))
    revision = _REVISION


class MigrateSchema(Strict):
    """Move instances to another (newer) version of their process."""

    instance_ids = fields.List(fields.Integer(validate=validate.Range(1, MAX_ID)),
                               required=True, validate=validate.Length(1, 500))
    definition_id = fields.Integer(required=True, validate=validate.Range(1, MAX_ID))
    reason = fields.String(required=True, validate=validate.Length(max=2000))


class MigrateResultSchema(Schema):
    """Who moved; who stayed, and why."""

    target_definition_id = fields.Integer(required=True)
    target_version = fields.Integer(required=True)
    moved = fields.List(fields.Integer(), required=True)
    refused = fields.List(fields.Dict(), required=True, metadata={
        "description": "[{instance_id, why}] for each instance that stays."})


def _result(found: Any) -> dict[str, Any]:
    return asdict(found)


@blp.get("/incidents")
@blp.arguments(IncidentArgs, location="query", as_kwargs=True)
@blp.response(200, IncidentPage, headers=LINK_HEADER)
def list_incidents(offset: int, limit: int, status: str, instance_id: int | None):
    """Incidents, newest first, each with its error and the element where it happened."""
    found, total = bpm().ops_incidents(db.session, actor(), open_only=status == "open",
                                       instance_id=instance_id, offset=offset, limit=limit)
    return page(found, total, offset, limit)


@blp.get("/incidents/<dbid:incident_id>")
@blp.response(200, IncidentSchema)
def get_incident(incident_id: int):
    """One incident."""
    return bpm().ops_incident(db.session, actor(), incident_id)


@blp.post("/incidents/<dbid:incident_id>/retry")
@blp.arguments(NoteSchema)
@blp.response(200, ResultSchema)
def retry_incident(body: dict, incident_id: int):
    """Retry an open incident: its instance's failed jobs run again and steps nothing ran
    are run (a 422 problem naming the element if a step fails again; nothing saved)."""
    found = bpm().retry_incident(db.session, actor(), incident_id, body["reason"])
    if not hasattr(found, "action"):  # a job of no instance: queued again
        return {"instance_id": 0, "action": "retry", "status": "resolved", "revision": 0,
                "detail": {"incident": found.id, "job_id": found.job_id}}
    return _result(found)


@blp.get("/ops/instances")
@blp.arguments(OpsArgs, location="query", as_kwargs=True)
@blp.response(200, OpsPage, headers=LINK_HEADER)
def list_instances(offset: int, limit: int, status: str | None, q: str, process: str | None,
                   project_id: int | None, requester: str | None):
    """Every instance by status (`incident`: with an open incident or a failed job),
    newest first, with search."""
    found = bpm().ops_instances(db.session, actor(), status=status, search=q,
                                process_key=process, project_id=project_id,
                                requester=requester, offset=offset, limit=limit)
    return page(found.rows, found.total, offset, limit)


@blp.post("/instances/<dbid:instance_id>/suspend")
@blp.arguments(ReasonSchema)
@blp.response(200, ResultSchema)
def suspend(body: dict, instance_id: int):
    """Suspend a running instance: its timers wait, its tasks cannot be completed."""
    return _result(bpm().suspend(db.session, actor(), instance_id, body["reason"],
                                 revision=body["revision"]))


@blp.post("/instances/<dbid:instance_id>/resume")
@blp.arguments(NoteSchema)
@blp.response(200, ResultSchema)
def resume(body: dict, instance_id: int):
    """Resume a suspended instance."""
    return _result(bpm().resume(db.session, actor(), instance_id, body["reason"],
                                revision=body["revision"]))


@blp.post("/instances/<dbid:instance_id>/cancel")
@blp.arguments(ReasonSchema)
@blp.response(200, ResultSchema)
def cancel(body: dict, instance_id: int):
    """Cancel a running or suspended instance with a reason."""
    return _result(bpm().ops_cancel(db.session, actor(), instance_id, body["reason"],
                                    revision=body["revision"]))


@blp.post("/instances/<dbid:instance_id>/retry")
@blp.arguments(NoteSchema)
@blp.response(200, ResultSchema)
def retry(body: dict, instance_id: int):
    """Retry failed jobs and steps nothing ran; resolve the instance's incidents."""
    return _result(bpm().retry_instance(db.session, actor(), instance_id, body["reason"],
                                        revision=body["revision"]))


@blp.post("/instances/<dbid:instance_id>/move-token")
@blp.arguments(MoveTokenSchema)
@blp.response(200, ResultSchema)
def move_token(body: dict, instance_id: int):
    """Move the token waiting at one step to another step of the same process (a 422
    naming the element if it does not exist or cannot be entered)."""
    return _result(bpm().move_token(db.session, actor(), instance_id, body["from_element"],
                                    body["to_element"], body["reason"],
                                    revision=body["revision"]))


@blp.post("/instances/migrate")
@blp.arguments(MigrateSchema)
@blp.response(200, MigrateResultSchema)
def migrate(body: dict):
    """Move instances to a newer version; those that cannot move stay, listed with why."""
    found = bpm().migrate_instances(db.session, actor(), body["instance_ids"],
                                    body["definition_id"], body["reason"])
    return {"target_definition_id": found.target_definition_id,
            "target_version": found.target_version, "moved": list(found.moved),
            "refused": [{"instance_id": i, "why": w} for i, w in found.refused.items()]}
