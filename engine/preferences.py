"""A person's own mail settings: immediate mail or a daily digest; with their address and
out-of-office period they make the mail part of the account page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import identity, out_of_office
from engine.errors import FieldError, InvalidData
from engine.store import rows
from engine.store.models import User
from engine.views import MailPreferences

#: ``immediate``: one mail per notification; ``digest``: one mail a day.
MAIL_MODES = ("immediate", "digest")


def get(session: Session, username: str, now: datetime) -> MailPreferences:
    """The person's mail settings."""
    user = identity.get_user(session, username)
    return MailPreferences(
        email=user.email,
        mail_mode=user.mail_mode or "immediate",
        out_of_office=out_of_office.get(session, username, now),
    )


def set_mail_mode(session: Session, username: str, mode: str, now: datetime) -> None:
    """Choose how mail arrives (audited)."""
    if mode not in MAIL_MODES:
        raise InvalidData(
            {
                "mail_mode": FieldError(
                    f"Choose one of: {', '.join(MAIL_MODES)}.",
                    "form.enum",
                    field="mail_mode",
                    allowed=", ".join(MAIL_MODES),
                    values=list(MAIL_MODES),
                )
            }
        )
    identity.get_user(session, username)
    before = session.scalar(select(User.mail_mode).where(User.username == username))
    session.execute(update(User).where(User.username == username).values(mail_mode=mode))
    rows.audit(
        session,
        instance_id=None,
        at=now,
        actor=username,
        kind="mail_mode_set",
        detail={"from": before or "immediate", "to": mode},
    )
