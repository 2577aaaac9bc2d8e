"""`/api/v1/me`: who the token (or session) acts as."""

from __future__ import annotations

from flask import g
from marshmallow import Schema, fields

from webui.api.auth import actor
from webui.api.blueprint import Blueprint
from webui.context import bpm
from webui.extensions import db

blp = Blueprint("api-me", __name__, url_prefix="/api/v1", description="Who am I")


class ProjectRoleSchema(Schema):
    """A role held for one project."""

    project_id = fields.Integer(required=True)
    role = fields.String(required=True)


class MeSchema(Schema):
    """The calling user."""

    username = fields.String(required=True)
    display_name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    project_roles = fields.List(fields.Nested(ProjectRoleSchema), required=True)
    auth = fields.String(required=True, metadata={"description": "token or session"})


@blp.get("/me")
@blp.response(200, MeSchema)
def me():
    """The user this request acts as, with their global and project roles."""
    view = bpm().user(db.session, actor())
    project_roles = view.project_roles
    return {"username": view.username, "display_name": view.display_name,
            "roles": list(view.roles), "auth": g.api_auth,
            "project_roles": [{"project_id": p, "role": r} for p, r in project_roles]}
