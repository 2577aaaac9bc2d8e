"""`/api/v1/processes`: what I may start (with the start form's JSON Schema), and
starting an instance."""

from __future__ import annotations

from flask import url_for
from marshmallow import fields, validate

from engine import pages
from webui.api.auth import actor
from webui.api.blueprint import Blueprint
from webui.api.paging import LINK_HEADER, page
from webui.api.schemas import (
    MAX_ID,
    InstanceSchema,
    PageArgs,
    Strict,
    page_of,
)
from webui.context import bpm
from webui.extensions import db
from webui.processes import project_title

blp = Blueprint("api-processes", __name__, url_prefix="/api/v1",
                description="Processes and starting them")


class ProcessSchema(Strict):
    """A deployed process (its newest active version) as its starters see it."""

    key = fields.String(required=True)
    name = fields.String(required=True)
    version = fields.Integer(required=True)
    definition_id = fields.Integer(required=True, attribute="id")
    start_role = fields.String(allow_none=True)
    start_form = fields.String(allow_none=True)
    start_form_schema = fields.Dict(allow_none=True, metadata={
        "description": "JSON Schema the start data must satisfy (null: no start form)."})
    deployed_at = fields.DateTime()


ProcessPage = page_of(ProcessSchema, "ProcessPage")


class StartSchema(Strict):
    """What starting an instance takes (`data` must satisfy the start form's schema)."""

    data = fields.Dict(keys=fields.String(), load_default=dict, metadata={
        "description": "The start form's data (see start_form_schema)."})
    title = fields.String(validate=validate.Length(max=500), load_default="")
    business_key = fields.String(validate=validate.Length(max=200), load_default=None,
                                 allow_none=True)
    project_id = fields.Integer(validate=validate.Range(1, MAX_ID), load_default=None,
                                allow_none=True, strict=True)


def _with_schema(view) -> dict:
    out = {f: getattr(view, f) for f in ("key", "name", "version", "id", "start_role",
                                         "start_form", "deployed_at")}
    out["start_form_schema"] = bpm().form_schema(db.session, view.id, view.start_form)
    return out


@blp.get("/processes")
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, ProcessPage, headers=LINK_HEADER)
def list_processes(offset: int, limit: int):
    """The processes the caller may start, each with its start form's JSON Schema."""
    found = pages.startable(bpm(), db.session, actor())
    return page([_with_schema(d) for d in found[offset:offset + limit]], len(found),
                offset, limit)


@blp.get("/processes/<key>")
@blp.response(200, ProcessSchema)
def get_process(key: str):
    """One process (403 without its start role, 404 for an unknown key)."""
    return _with_schema(pages.start_page(bpm(), db.session, key, actor()).definition)


@blp.post("/processes/<key>/instances")
@blp.arguments(StartSchema)
@blp.response(201, InstanceSchema, headers={"Location": {"schema": {"type": "string"}}})
def start(body: dict, key: str):
    """Start an instance of the newest version; 422 lists every bad field."""
    start_page = pages.start_page(bpm(), db.session, key, actor())
    data = body["data"]
    title = body["title"] or (data.get("title") if isinstance(data.get("title"), str)
                              else "") or project_title(start_page, _ids_in_range(data))
    inst = bpm().start(db.session, key, actor(), data, title=title[:500],
                          business_key=body["business_key"], project_id=body["project_id"])
    return inst, {"Location": url_for("api-instances.get_instance", instance_id=inst.id)}


def _ids_in_range(data: dict) -> dict:
    """`data` without integers no id can have (the title lookup must not overflow)."""
    return {k: v for k, v in data.items()
            if not isinstance(v, int) or isinstance(v, bool) or 0 < v <= MAX_ID}
