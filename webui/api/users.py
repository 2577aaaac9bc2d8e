"""`/api/v1/users`: the PMO administrator's list of users and creating one (403 for
everyone else)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from engine.api import NewUser
from webui.api.auth import actor
from webui.api.blueprint import Blueprint
from webui.api.me import ProjectRoleSchema
from webui.api.paging import LINK_HEADER, page
from webui.api.schemas import PageArgs, Strict, page_of
from webui.context import bpm
from webui.extensions import db

blp = Blueprint("api-users", __name__, url_prefix="/api/v1",
                description="Users and their roles (PMO administrators only)")


class UserSchema(Schema):
    """A user with their roles (never a password)."""

    username = fields.String(required=True)
    display_name = fields.String(required=True)
    email = fields.String(allow_none=True)
    locale = fields.String(allow_none=True, metadata={"description": "en or zh"})
    time_zone = fields.String(allow_none=True, metadata={"description": "IANA name"})
    active = fields.Boolean(required=True)
    roles = fields.List(fields.String(), required=True, metadata={
        "description": "Roles held everywhere."})
    project_roles = fields.List(fields.Nested(ProjectRoleSchema), required=True)


class CreateUserSchema(Strict):
    """A user to create, with an initial password and global roles."""

    username = fields.String(required=True, validate=validate.Length(1, 64))
    password = fields.String(required=True, validate=validate.Length(8, 256))
    display_name = fields.String(load_default="", validate=validate.Length(max=200))
    email = fields.String(load_default=None, allow_none=True,
                          validate=validate.Length(max=320))
    locale = fields.String(load_default=None, allow_none=True,
                           validate=validate.Length(max=10))
    time_zone = fields.String(load_default=None, allow_none=True,
                              validate=validate.Length(max=64))
    roles = fields.List(fields.String(validate=validate.Length(1, 64)), load_default=list,
                        validate=validate.Length(max=20))


UserPage = page_of(UserSchema, "UserPage")


def _out(view) -> dict:
    return {"username": view.username, "display_name": view.display_name,
            "email": view.email, "locale": view.locale, "time_zone": view.time_zone,
            "active": view.active, "roles": list(view.roles),
            "project_roles": [{"project_id": p, "role": r} for p, r in view.project_roles]}


@blp.get("/users")
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, UserPage, headers=LINK_HEADER)
def list_users(offset: int, limit: int):
    """Every user, active or not, by username."""
    found = bpm().users(db.session, actor())
    return page([_out(u) for u in found[offset:offset + limit]], len(found), offset, limit)


@blp.post("/users")
@blp.arguments(CreateUserSchema)
@blp.response(201, UserSchema)
def create_user(body: dict):
    """Create a user; bad fields come back as a 422 problem naming each field."""
    new = NewUser(username=body["username"], password=body["password"],
                  display_name=body["display_name"], email=body["email"],
                  locale=body["locale"], time_zone=body["time_zone"],
                  roles=tuple(body["roles"]))
    return _out(bpm().create_user(db.session, actor(), new))


class UpdateUserSchema(Strict):
    """Profile fields to change (only those given)."""

    display_name = fields.String(validate=validate.Length(1, 200))
    email = fields.String(allow_none=True, validate=validate.Length(max=320))
    locale = fields.String(allow_none=True, validate=validate.Length(max=10))
    time_zone = fields.String(allow_none=True, validate=validate.Length(max=64))


class ActiveSchema(Strict):
    """Whether the user may sign in and use API tokens, and why it changed."""

    active = fields.Boolean(required=True)
    reason = fields.String(load_default=None, allow_none=True,
                           validate=validate.Length(max=500))


class RoleArgs(Strict):
    """The project a project-scoped role is for (none: everywhere)."""

    project_id = fields.Integer(load_default=None, allow_none=True,
                                validate=validate.Range(1, 2**31 - 1))




@blp.patch("/users/<username>")
@blp.arguments(UpdateUserSchema)
@blp.response(200, UserSchema)
def update_user(body: dict, username: str):
    """Change a user's name, e-mail, language or time zone."""
    return _out(bpm().update_user(db.session, actor(), username, body))


@blp.put("/users/<username>/active")
@blp.arguments(ActiveSchema)
@blp.response(200, UserSchema)
def set_active(body: dict, username: str):
    """Deactivate (no sign-in, no API tokens; their open tasks go back to their role) or
    reactivate a user."""
    done = bpm().set_user_active(db.session, actor(), username, body["active"],
                                 body["reason"])
    return _out(done.user)


@blp.put("/users/<username>/roles/<role>")
@blp.arguments(RoleArgs, location="query", as_kwargs=True)
@blp.response(200, UserSchema)
def grant_role(username: str, role: str, project_id: int | None):
    """Grant a role everywhere, or (``project_id``) a project role for one project."""
    return _out(bpm().grant_role(db.session, actor(), username, role, project_id))


@blp.delete("/users/<username>/roles/<role>")
@blp.arguments(RoleArgs, location="query", as_kwargs=True)
@blp.response(200, UserSchema)
def revoke_role(username: str, role: str, project_id: int | None):
    """Take a role away (everywhere, or for the project ``project_id``)."""
    return _out(bpm().revoke_role(db.session, actor(), username, role, project_id))
