"""A worker's periodic chores, beside firing jobs: the doctor's pass (findings become
incidents), deleting uploads that were never attached to a request, and sending the
outbox's mails (each second) and the daily digests.

:class:`Housekeeping` is handed to the worker loop, which calls :meth:`run_due` before
every pass; each chore runs when its interval (engine settings, by the engine clock) has
passed, in its own session and transaction, and a failure is logged, never fatal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from engine import attachments, doctor
from engine.context import EngineContext
from engine.mail import delivery
from engine.mail.delivery import MailReport
from engine.mail.smtp import SmtpTransport
from engine.store.uow import unit_of_work


def purge_uploads(ctx: EngineContext, session: Session) -> int:
    """Delete uploads attached to no request that are older than the settings allow."""
    with unit_of_work(session):
        now = ctx.clock.now()
        cutoff = now - timedelta(hours=ctx.settings.unlinked_upload_hours)
        return attachments.purge_unlinked(session, older_than=cutoff)


class Housekeeping:
    """The chores of one worker and when each is next due."""

    def __init__(
        self,
        ctx: EngineContext,
        sessions: Callable[[], Session],
        log: Callable[[str], None] = print,
    ):
        self.ctx = ctx
        self.sessions = sessions
        self.log = log
        self.next_at: dict[str, datetime] = {}

    def chores(self) -> list[tuple[str, float, Callable[[Session], str]]]:
        """(name, interval in seconds, chore) for each chore."""
        settings = self.ctx.settings
        return [
            ("doctor", settings.doctor_interval_seconds, self._doctor),
            ("uploads", settings.upload_cleanup_interval_seconds, self._uploads),
            ("mail", settings.mail_poll_seconds, self._mail),
            ("digest", settings.digest_interval_seconds, self._digest),
        ]

    def hurry(self, name: str) -> None:
        """Make the chore ``name`` due at the next :meth:`run_due` (a new mail)."""
        self.next_at.pop(name, None)

    def run_due(self) -> None:
        """Run every chore whose time has come (all of them on the first call)."""
        now = self.ctx.clock.now()
        for name, interval, chore in self.chores():
            due = self.next_at.get(name)
            if interval <= 0 or (due is not None and now < due):
                continue
            self.next_at[name] = now + timedelta(seconds=interval)
            try:
                with self.sessions() as session:
                    message = chore(session)
            except Exception as exc:  # a chore must never stop the worker
                self.log(f"worker: {name}: {type(exc).__name__}: {exc}")
                continue
            if message:
                self.log(f"worker: {message}")

    def _doctor(self, session: Session) -> str:
        report = doctor.run(self.ctx, session)
        if not report.opened and not report.cleared:
            return ""
        return (
            f"doctor: {len(report.findings)} finding(s), {len(report.opened)} new "
            f"incident(s), {len(report.cleared)} cleared"
        )

    def _send(self, session: Session, send: Callable[..., MailReport]) -> str:
        smtp = self.ctx.settings.smtp
        if smtp is None:
            return ""  # no server: the mails stay readable on /admin/mail
        report = send(self.ctx, session, SmtpTransport(smtp))
        lines = [f"mail: {err}" for err in report.errors]
        if report.sent:
            lines.append(f"mail: sent {report.sent}")
        return "\n".join(lines)

    def _mail(self, session: Session) -> str:
        return self._send(session, delivery.send_due)

    def _digest(self, session: Session) -> str:
        return self._send(session, delivery.send_digests)

    def _uploads(self, session: Session) -> str:
        deleted = purge_uploads(self.ctx, session)
        return f"deleted {deleted} unattached upload(s)" if deleted else ""
