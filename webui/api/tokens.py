"""`/api/v1/tokens`: my personal API tokens (list, create: the secret once, revoke)."""

from __future__ import annotations

from datetime import timedelta

from marshmallow import Schema, fields, validate

from webui.api.auth import actor
from webui.api.blueprint import Blueprint
from webui.api.paging import LINK_HEADER, page
from webui.api.schemas import PageArgs, Strict, page_of
from webui.context import bpm
from webui.extensions import db

blp = Blueprint("api-tokens", __name__, url_prefix="/api/v1",
                description="Personal API tokens")


class TokenSchema(Schema):
    """A token (never its secret)."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={"description": "First characters, "
                                                    "to recognise it."})
    status = fields.String(required=True, metadata={"description": "active, expired or "
                                                    "revoked"})
    created_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class NewTokenSchema(TokenSchema):
    """A token just created, with its secret: shown this once, stored only hashed."""

    secret = fields.String(required=True)


class CreateTokenSchema(Strict):
    """A new token's name and lifetime."""

    name = fields.String(load_default="", validate=validate.Length(max=100))
    expires_in_days = fields.Integer(load_default=90, allow_none=True, strict=True,
                                     validate=validate.Range(1, 3650), metadata={
                                         "description": "Days until it expires "
                                                        "(null: never)."})


TokenPage = page_of(TokenSchema, "TokenPage")


def _out(view) -> dict:
    return {**vars(view), "status": view.status(bpm().clock.now())}


@blp.get("/tokens")
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, TokenPage, headers=LINK_HEADER)
def list_tokens(offset: int, limit: int):
    """My tokens, newest first."""
    found = bpm().api_tokens(db.session, actor())
    return page([_out(t) for t in found[offset:offset + limit]], len(found), offset, limit)


@blp.post("/tokens")
@blp.arguments(CreateTokenSchema)
@blp.response(201, NewTokenSchema)
def create_token(body: dict):
    """Create a token for myself; the answer holds its secret, which is not kept."""
    days = body["expires_in_days"]
    made = bpm().create_token(db.session, actor(), name=body["name"],
                                 expires_in=timedelta(days=days) if days else None)
    return {**_out(made.token), "secret": made.secret}


@blp.delete("/tokens/<dbid:token_id>")
@blp.response(200, TokenSchema)
def revoke_token(token_id: int):
    """Revoke a token (mine; a PMO administrator may revoke anyone's)."""
    return _out(bpm().revoke_token(db.session, token_id, actor()))
