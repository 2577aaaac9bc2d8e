"""The outbox as the PMO admin sees it (``/admin/mail``): every mail with its state, one
mail rendered as its recipient gets it, and putting a failed mail back in the queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.errors import EngineError, NotFound
from engine.mail import templates
from engine.mail.delivery import OUTBOX, USERS
from engine.store import rows
from engine.views import MailDetail, MailView

STATUSES = ("pending", "sent", "failed")


def _view(r) -> MailView:
    return MailView(
        id=r.id,
        username=r.username,
        subject=r.subject,
        kind=r.kind or "info",
        status=r.status,
        attempts=r.attempts,
        created_at=r.created_at,
        sent_at=r.sent_at,
        next_attempt_at=r.next_attempt_at,
        last_error=r.last_error,
        to_address=r.to_address,
    )


def listing(session: Session, *, status: str | None = None, limit: int = 200) -> list[MailView]:
    """Mails, newest first, optionally one status only."""
    q = select(OUTBOX)
    if status in STATUSES:
        q = q.where(OUTBOX.c.status == status)
    return [_view(r) for r in session.execute(q.order_by(OUTBOX.c.id.desc()).limit(limit))]


def counts(session: Session) -> dict[str, int]:
    """How many mails are in each status."""
    q = select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status)
    return {status: n for status, n in session.execute(q)}


def _row(session: Session, mail_id: int):
    row = session.execute(select(OUTBOX).where(OUTBOX.c.id == mail_id)).first()
    if row is None:
        raise NotFound(f"no mail {mail_id}", code="mail.not_found", mail_id=mail_id)
    return row


def detail(ctx: EngineContext, session: Session, mail_id: int) -> MailDetail:
    """One mail rendered in its recipient's language, as it is (or would be) sent."""
    row = _row(session, mail_id)
    user = session.execute(select(USERS).where(USERS.c.username == row.username)).first()
    locale = user.locale if user is not None else None
    item = templates.Item(row.kind or "info", row.subject, row.body, row.link)
    rendered = templates.render(item, locale, ctx.settings.base_url)
    return MailDetail(
        mail=_view(row),
        address=row.to_address or (user.email if user is not None else None),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
    )


def retry(session: Session, actor: str, now: datetime, mail_id: int) -> MailView:
    """Put a failed mail back in the queue, due now, with its attempts reset."""
    row = _row(session, mail_id)
    if row.status != "failed":
        raise EngineError(
            f"mail {mail_id} is {row.status}, not failed",
            code="mail.not_failed",
            mail_id=mail_id,
            status=row.status,
        )
    session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == mail_id)
        .values(status="pending", attempts=0, next_attempt_at=now)
    )
    rows.audit(
        session,
        instance_id=None,
        at=now,
        actor=actor,
        kind="mail_retried",
        detail={"mail": mail_id, "username": row.username, "error": row.last_error},
    )
    return _view(_row(session, mail_id))
