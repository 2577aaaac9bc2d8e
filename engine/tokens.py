"""Personal API tokens: create (the secret is shown once), list, revoke, authenticate.

A token is ``pmo_`` plus 43 URL-safe random characters.  Only its SHA-256 is stored,
with the first 12 characters (``pmo_`` and 8 more) as a non-secret prefix that lists show
and that :func:`authenticate` finds the row by; the hashes are then compared in constant
time.  No Flask here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import identity
from engine.errors import FieldError, Forbidden, InvalidData, NotFound
from engine.store.models import ApiToken, User
from engine.store.uow import unit_of_work
from engine.views import NewToken, TokenView

PREFIX = "pmo_"
#: Characters of the secret kept in clear (``pmo_`` + 8): enough to tell tokens apart.
SHOWN = 12
#: ``last_used_at`` is written at most this often per token (not one write per request).
TOUCH_EVERY = timedelta(minutes=1)
#: Role that may revoke anyone's token.
ADMIN_ROLE = "pmo_admin"
MAX_NAME = 100
_SECRET = re.compile(r"pmo_[A-Za-z0-9_-]{20,100}")
_DURATION = re.compile(r"(\d{1,5})\s*([dhw]?)")


def hash_secret(secret: str) -> str:
    """The stored form of a secret (hex SHA-256)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def parse_duration(text: str | None) -> timedelta | None:
    """``90d``, ``12h``, ``2w`` or a plain number of days; ``never``/empty: no expiry."""
    text = (text or "").strip().lower()
    if text in ("", "never", "none", "0"):
        return None
    found = _DURATION.fullmatch(text)
    if found is None or int(found.group(1)) == 0:
        raise InvalidData(
            {
                "expires": FieldError(
                    "Give a duration such as 90d, 12h or 2w, or never.",
                    "token.bad_duration",
                    field="expires",
                )
            }
        )
    amount, unit = int(found.group(1)), found.group(2) or "d"
    delta = {
        "d": timedelta(days=amount),
        "h": timedelta(hours=amount),
        "w": timedelta(weeks=amount),
    }[unit]
    if delta > timedelta(days=3660):
        raise InvalidData(
            {
                "expires": FieldError(
                    "A token may live ten years at most.", "token.too_long_lived", field="expires"
                )
            }
        )
    return delta


def create(
    session: Session, username: str, *, name: str, now: datetime, expires_in: timedelta | None
) -> NewToken:
    """Make a token for ``username`` (an active user); the secret is only in the result."""
    name = (name or "").strip()
    if len(name) > MAX_NAME:
        raise InvalidData(
            {
                "name": FieldError(
                    f"Use at most {MAX_NAME} characters.",
                    "input.too_long",
                    field="name",
                    limit=MAX_NAME,
                )
            }
        )
    with unit_of_work(session):
        user = identity.get_user(session, username)
        if not user.active:
            raise InvalidData(
                {
                    "username": FieldError(
                        f"{username} is not an active user.",
                        "input.inactive_user",
                        field="username",
                        user=username,
                    )
                }
            )
        secret = PREFIX + secrets.token_urlsafe(32)
        row = ApiToken(
            username=username,
            name=name or "token",
            prefix=secret[:SHOWN],
            token_hash=hash_secret(secret),
            created_at=now,
            expires_at=now + expires_in if expires_in else None,
        )
        session.add(row)
        session.flush()
        return NewToken(_view(row), secret)


def list_tokens(session: Session, username: str | None = None) -> list[TokenView]:
    """Tokens of ``username`` (everyone's with None), newest first."""
    q = select(ApiToken)
    if username is not None:
        q = q.where(ApiToken.username == username)
    return [_view(r) for r in session.scalars(q.order_by(ApiToken.id.desc()))]


def revoke(session: Session, token_id: int, actor: str | None, now: datetime) -> TokenView:
    """Revoke a token: by its owner or a PMO administrator (``actor`` None: the CLI, an
    operator on the server).  Revoking a revoked token changes nothing."""
    with unit_of_work(session):
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NotFound(f"no API token {token_id}", code="token.not_found", token_id=token_id)
        if (
            actor is not None
            and actor != row.username
            and ADMIN_ROLE not in (identity.global_roles(session, actor))
        ):
            raise Forbidden(
                "only its owner or a PMO administrator may revoke a token",
                code="access.token_owner_only",
            )
        if row.revoked_at is None:
            row.revoked_at = now
        return _view(row)


def authenticate(session: Session, secret: str, now: datetime) -> str | None:
    """The username a secret belongs to, or None (unknown, revoked, expired, inactive user).

    Records the use at most once a minute per token, in its own short transaction.
    """
    if not secret or _SECRET.fullmatch(secret) is None:
        return None
    wanted = hash_secret(secret)
    found = None
    for row in session.execute(
        select(
            ApiToken.id,
            ApiToken.username,
            ApiToken.token_hash,
            ApiToken.expires_at,
            ApiToken.revoked_at,
            ApiToken.last_used_at,
            User.active,
        )
        .join(User, User.username == ApiToken.username)
        .where(ApiToken.prefix == secret[:SHOWN])
    ):
        if hmac.compare_digest(row.token_hash, wanted):
            found = row
    if found is None or found.revoked_at is not None or not found.active:
        return None
    if found.expires_at is not None and found.expires_at <= now:
        return None
    if found.last_used_at is None or now - found.last_used_at >= TOUCH_EVERY:
        with unit_of_work(session):
            token = session.get(ApiToken, found.id)
            if token is not None:
                token.last_used_at = now
    return str(found.username)


def _view(row: ApiToken) -> TokenView:
    return TokenView(
        row.id,
        row.username,
        row.name,
        row.prefix,
        row.created_at,
        row.expires_at,
        row.last_used_at,
        row.revoked_at,
    )
