"""Send the outbox after commit: each mail once, retried with back-off, failures kept.

One transaction per mail: the row is locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
so any number of workers share the outbox; SQLite's write lock on its own), checked
again (still pending, still due), handed to the SMTP server and marked ``sent`` in that
same transaction, so no other worker can send it meanwhile.  Each mail carries a
Message-ID made from its row, so if the commit after a successful hand-over were lost,
the repeat would carry the same Message-ID and mail systems drop the duplicate.

A failed hand-over counts an attempt and waits (``mail_backoff_seconds``, doubling);
a permanent refusal (5xx), a user without a usable address, or the last attempt marks
the mail ``failed`` with the reason, for the PMO admin to see on ``/admin/mail`` and
retry.  Users who chose the daily digest get their pending mails bundled in one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import Row, or_, select, update
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.mail import templates, wording
from engine.mail.smtp import SendFailed, Transport
from engine.store.models import OutboxMessage, User
from engine.store.uow import unit_of_work

OUTBOX = OutboxMessage.__table__
USERS = User.__table__
_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\".]+")
DIGEST = "digest"


@dataclass
class MailReport:
    """What one pass over the outbox did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def message_id(row: Row, domain: str) -> str:
    """The Message-ID of an outbox row: the same on every attempt."""
    return f"<pmoflow.outbox.{row.id}.{int(row.created_at.timestamp())}@{domain}>"


def _domain(sender: str) -> str:
    return sender.rpartition("@")[2].strip(">").strip() or "pmoflow.localhost"


def _due(now: datetime):
    return (
        OUTBOX.c.status == "pending",
        or_(OUTBOX.c.next_attempt_at.is_(None), OUTBOX.c.next_attempt_at <= now),
    )


def _candidates(session: Session, now: datetime, digest: bool, limit: int) -> list[Row]:
    mode = USERS.c.mail_mode == DIGEST
    q = (
        select(OUTBOX.c.id, OUTBOX.c.username)
        .select_from(OUTBOX.outerjoin(USERS, USERS.c.username == OUTBOX.c.username))
        .where(*_due(now), mode if digest else or_(USERS.c.mail_mode.is_(None), ~mode))
        .order_by(OUTBOX.c.id)
        .limit(limit)
    )
    return list(session.execute(q))


def _lock(session: Session, ids: Sequence[int], now: datetime) -> list[Row]:
    """The still-due rows among ``ids``, locked (skipping rows another worker holds)."""
    q = select(OUTBOX).where(OUTBOX.c.id.in_(list(ids)), *_due(now)).order_by(OUTBOX.c.id)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return list(session.execute(q))


def _recipient(session: Session, username: str) -> tuple[Row | None, str | None]:
    """The user and, if they cannot get mail, why not."""
    user = session.execute(select(USERS).where(USERS.c.username == username)).first()
    if user is None:
        return None, f"there is no user {username!r}"
    if not user.active:
        return user, f"user {username!r} is deactivated"
    if not user.email:
        return user, f"user {username!r} has no e-mail address"
    if len(user.email) > 320 or not _ADDRESS.fullmatch(user.email):
        return user, f"user {username!r} has an invalid e-mail address: {user.email!r}"
    return user, None


def _build(
    ctx: EngineContext,
    session: Session,
    sender: str,
    user: Row,
    rows: Sequence[Row],
    now: datetime,
) -> EmailMessage:
    items = wording.items(session, ctx.settings.translations_dir, user, rows)
    base = ctx.settings.base_url
    if len(rows) == 1:
        rendered = templates.render(items[0], user.locale, base)
    else:
        rendered = templates.render_digest(items, user.locale, base)
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = sender
    msg["To"] = user.email
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(rows[0], _domain(sender))
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg


def _mark(session: Session, ids: Sequence[int], **values: object) -> None:
    session.execute(update(OUTBOX).where(OUTBOX.c.id.in_(list(ids))).values(**values))


def _deliver(
    ctx: EngineContext,
    session: Session,
    transport: Transport,
    ids: Sequence[int],
    report: MailReport,
) -> None:
    """Send the given rows of one user as one mail, in one transaction."""
    settings = ctx.settings
    sender = settings.smtp.sender if settings.smtp else "pmoflow@localhost"
    with unit_of_work(session):
        now = ctx.clock.now()
        rows = _lock(session, ids, now)
        if not rows:
            return  # another worker has them, or had them
        done = [r.id for r in rows]
        user, problem = _recipient(session, rows[0].username)
        attempts = max(r.attempts for r in rows) + 1
        if problem is None and user is not None:
            msg = _build(ctx, session, sender, user, rows, now)
            try:
                transport.send(msg)
            except SendFailed as exc:
                problem = str(exc)
                permanent = exc.permanent
            except Exception as exc:  # one bad mail must not stall the outbox
                problem = f"{type(exc).__name__}: {exc}"
                permanent = False
            else:
                _mark(
                    session,
                    done,
                    status="sent",
                    sent_at=now,
                    attempts=attempts,
                    last_error=None,
                    to_address=user.email,
                    message_id=msg["Message-ID"],
                )
                report.sent += len(done)
                return
        else:
            permanent = True
        message = (problem or "")[:4000]
        report.errors.append(f"mail {done}: {message}")
        if permanent or attempts >= settings.mail_max_attempts:
            _mark(session, done, status="failed", attempts=attempts, last_error=message)
            report.failed += len(done)
        else:
            wait = settings.mail_backoff_seconds * (2 ** (attempts - 1))
            _mark(
                session,
                done,
                attempts=attempts,
                last_error=message,
                next_attempt_at=now + timedelta(seconds=wait),
            )
            report.retrying += len(done)


def _send(
    ctx: EngineContext, session: Session, transport: Transport, digest: bool, limit: int
) -> MailReport:
    report = MailReport()
    with unit_of_work(session, write=False):
        due = _candidates(session, ctx.clock.now(), digest, limit)
    batches: dict[object, list[int]] = {}
    for row in due:  # a digest user's mails go as one; everyone else's one by one
        batches.setdefault(row.username if digest else row.id, []).append(row.id)
    for ids in batches.values():
        _deliver(ctx, session, transport, ids, report)
    return report


def send_due(
    ctx: EngineContext, session: Session, transport: Transport, *, limit: int = 50
) -> MailReport:
    """Send the pending, due mails of everyone who gets mail at once."""
    return _send(ctx, session, transport, False, limit)


def send_digests(
    ctx: EngineContext, session: Session, transport: Transport, *, limit: int = 1000
) -> MailReport:
    """Send each digest user their pending mails bundled in one."""
    return _send(ctx, session, transport, True, limit)
