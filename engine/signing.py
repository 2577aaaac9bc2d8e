"""Signing in and out: the audit of every attempt, the optional lockout and the per-user
session version that ends sessions on the server.

A web session (and a remember-me cookie) names the user as ``"id:version"``; it loads the
user only while ``users.session_version`` still has that version. Raising the version
(:func:`end_sessions`) therefore ends every session and remember-me cookie of that user at
once: on sign-out, a password change, deactivation and "sign out everywhere".

Every attempt takes the same path whether the account exists or not: one password hash is
checked (a dummy one for unknown or inactive accounts), one audit row is written, and the
answer is the same None for "no such user", "wrong password", "inactive" and "locked".
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import access, admin_audit, identity
from engine.passwords import check_password as password_matches
from engine.store.models import User
from engine.views import UserView

#: Audit kinds of sign-in events (left out of the administration page's recent changes).
SIGN_IN_KINDS = ("user.signed_in", "user.sign_in_failed", "user.signed_out")
#: The longest username an audit row keeps of what someone typed.
_TYPED = 64


def sign_in(
    session: Session,
    username: str,
    password: str,
    *,
    now: datetime,
    address: str,
    lockout_after: int = 0,
) -> UserView | None:
    """The active, unlocked user whose password this is, or None; audits the attempt.

    ``lockout_after``: lock the account after this many consecutive failures (0: never);
    a locked account is refused even with the right password until an administrator
    unlocks it (:func:`unlock`). Does not commit.
    """
    typed = username[:_TYPED]
    user = session.scalar(select(User).where(User.username == username)) if username else None
    usable = user is not None and user.active and bool(user.password_hash)
    stored = user.password_hash if usable and user is not None else identity.DUMMY_HASH
    matches = password_matches(stored or identity.DUMMY_HASH, password) and usable
    if user is not None and matches and user.locked_at is None:
        user.failed_sign_ins = 0
        _audit(session, user.username, now, "user.signed_in", address)
        return identity.user_view(session, user)
    why = _why_refused(user)
    _audit(session, user.username if user else typed, now, "user.sign_in_failed", address, why=why)
    if user is not None and user.active and user.locked_at is None:
        user.failed_sign_ins += 1
        if 0 < lockout_after <= user.failed_sign_ins:
            user.locked_at = now
            admin_audit.record(
                session,
                actor=user.username,
                now=now,
                kind="user.locked",
                target=user.username,
                before={"locked": False},
                after={"locked": True, "failures": user.failed_sign_ins},
            )
    return None


def _why_refused(user: User | None) -> str:
    """What the audit says about a refused sign-in (the person trying is not told)."""
    if user is None:
        return "unknown"
    if not user.active:
        return "inactive"
    return "locked" if user.locked_at is not None else "wrong"


def _audit(
    session: Session, username: str, now: datetime, kind: str, address: str, **detail: str
) -> None:
    admin_audit.record(
        session,
        actor=username,
        now=now,
        kind=kind,
        target=username,
        after={"address": address[:64], **detail},
    )


def unlock(session: Session, actor: str, now: datetime, username: str) -> UserView:
    """Lift a lockout (and forget the failures); audited. Does not commit."""
    user = identity.get_user(session, username)
    if user.locked_at is not None or user.failed_sign_ins:
        admin_audit.record(
            session,
            actor=actor,
            now=now,
            kind="user.unlocked",
            target=username,
            before={"locked": user.locked_at is not None, "failures": user.failed_sign_ins},
            after={"locked": False},
        )
    user.locked_at = None
    user.failed_sign_ins = 0
    return identity.user_view(session, user)


def end_sessions(user: User) -> None:
    """End every session and remember-me cookie of ``user`` (raise their session version)."""
    user.session_version = (user.session_version or 0) + 1


def sign_out(session: Session, username: str, now: datetime, address: str) -> None:
    """Sign out: the session ends on the server (every session of the user, since they
    share the version). Audited. Does not commit."""
    end_sessions(identity.get_user(session, username))
    _audit(session, username, now, "user.signed_out", address)


def sign_out_everywhere(session: Session, actor: str, now: datetime, username: str) -> None:
    """End every session and remember-me cookie of ``username``: the user themself, or a
    user administrator (:class:`Forbidden` otherwise). Audited. Does not commit."""
    if actor != username:
        access.require_user_admin(session, actor)
    end_sessions(identity.get_user(session, username))
    admin_audit.record(
        session, actor=actor, now=now, kind="user.signed_out_everywhere", target=username
    )
