"""The outbox sent through a real SMTP server (aiosmtpd, started here): both parts,
escaped values, the recipient's language, retried with back-off, sent exactly once,
failures kept for the PMO admin; SQLite and PostgreSQL."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from engine import notifications
from engine.api import Engine
from engine.errors import EngineError, Forbidden
from engine.settings import SmtpSettings
from engine.store.models import OutboxMessage, User
from engine.store.uow import unit_of_work


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Handler:
    """Keeps what it receives; refuses the first ``refuse`` messages with a 451."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []
        self.refuse = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        msg = message_from_bytes(envelope.content, policy=policy.default)
        msg["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.received.append(msg)
        return "250 OK"


@pytest.fixture
def smtp():
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def mailer(clock, settings, smtp) -> Engine:
    _handler, port = smtp
    smtp_settings = SmtpSettings(host="127.0.0.1", port=port, sender="pmo@example.com",
                                 timeout_seconds=5)
    return Engine(clock=clock, settings=replace(
        settings, smtp=smtp_settings, base_url="https://pmo.example", mail_max_attempts=4))


def _set(session, username, **values):
    with unit_of_work(session):
        session.execute(update(User).where(User.username == username).values(**values))


def _note(session, clock, *usernames, title="New task: Review", body="", link="/tasks/7",
          kind="assigned"):
    with unit_of_work(session):
        notifications.write(session, notifications.Note(
            usernames=usernames, kind=kind, title=title, body=body, link=link), clock.now())


def _outbox(session):
    session.expire_all()
    with unit_of_work(session, write=False):
        return {r.username: r for r in session.scalars(select(OutboxMessage))}


def _parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    return text, html


def test_mail_has_both_parts_escaped_values_and_the_recipients_language(
        mailer, session, clock, people, smtp):
    handler, _port = smtp
    _set(session, "reviewer1", email="reviewer1@example.com")
    _set(session, "reviewer2", email="reviewer2@example.com", locale="zh")
    evil = '<script>alert("x")</script> & <b>bold</b>'
    _note(session, clock, "reviewer1", "reviewer2", title=f"New task: {evil}",
          body="Project <Apollo> & co")

    report = mailer.send_mail(session)
    assert (report.sent, report.failed, report.retrying) == (2, 0, 0)
    by_to = {m["To"]: m for m in handler.received}
    assert set(by_to) == {"reviewer1@example.com", "reviewer2@example.com"}
    en = by_to["reviewer1@example.com"]
    assert en["From"] == "pmo@example.com" and evil in en["Subject"]
    text, html = _parts(en)
    assert evil in text and "https://pmo.example/tasks/7" in text
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;" in html
    assert "Project &lt;Apollo&gt; &amp; co" in html
    assert 'href="https://pmo.example/tasks/7"' in html
    assert "A task is waiting for you" in html
    zh_text, zh_html = _parts(by_to["reviewer2@example.com"])
    assert "有一项任务等待您处理" in zh_html and "在 PMOflow 中打开" in zh_text

    rows = _outbox(session)
    assert {r.status for r in rows.values()} == {"sent"}
    assert rows["reviewer1"].message_id == en["Message-ID"]
    assert rows["reviewer1"].to_address == "reviewer1@example.com"
    # Sent once: another pass finds nothing.
    assert mailer.send_mail(session).sent == 0
    assert len(handler.received) == 2


def test_a_refusing_server_is_retried_with_back_off_and_the_mail_sent_once(
        mailer, session, clock, people, smtp):
    handler, _port = smtp
    handler.refuse = 2
    _set(session, "pm1", email="pm1@example.com")
    _note(session, clock, "pm1")
    t0 = clock.now()

    first = mailer.send_mail(session)
    assert (first.sent, first.retrying) == (0, 1)
    row = _outbox(session)["pm1"]
    assert row.status == "pending" and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at == t0 + timedelta(seconds=60)
    assert mailer.send_mail(session).retrying == 0  # not due yet: no attempt

    clock.advance(timedelta(seconds=61))
    assert mailer.send_mail(session).retrying == 1
    assert _outbox(session)["pm1"].next_attempt_at == clock.now() + timedelta(seconds=120)
    clock.advance(timedelta(seconds=121))
    assert mailer.send_mail(session).sent == 1
    clock.advance(timedelta(hours=1))
    assert mailer.send_mail(session).sent == 0
    assert len(handler.received) == 1
    row = _outbox(session)["pm1"]
    assert row.status == "sent" and row.attempts == 3 and row.last_error is None


def test_server_down_backs_off_then_fails_visibly_and_the_admin_can_retry(
        clock, settings, session, people):
    port = _free_port()  # nobody listens there
    engine = Engine(clock=clock, settings=replace(
        settings, smtp=SmtpSettings(host="127.0.0.1", port=port, timeout_seconds=2),
        mail_max_attempts=3))
    _set(session, "pm1", email="pm1@example.com")
    _note(session, clock, "pm1")
    waits = []
    for _ in range(3):
        report = engine.send_mail(session)
        row = _outbox(session)["pm1"]
        assert f"127.0.0.1:{port}" in row.last_error
        if row.status == "pending":
            waits.append(row.next_attempt_at - clock.now())
            clock.advance(waits[-1] + timedelta(seconds=1))
    assert waits == [timedelta(seconds=60), timedelta(seconds=120)]
    assert report.failed == 1 and row.status == "failed" and row.attempts == 3

    page = engine.mail_page(session, "admin", status="failed")
    assert page.counts == {"failed": 1} and page.smtp_configured
    assert [m.username for m in page.mails] == ["pm1"]
    assert "Connection" in page.mails[0].last_error or "refused" in page.mails[0].last_error
    with pytest.raises(Forbidden):
        engine.mail_page(session, "pm1")
    with pytest.raises(Forbidden):
        engine.retry_mail(session, "pm1", row.id)
    again = engine.retry_mail(session, "admin", row.id)
    assert again.status == "pending" and again.attempts == 0
    with pytest.raises(EngineError) as err:
        engine.retry_mail(session, "admin", row.id)
    assert err.value.code == "mail.not_failed"


def test_an_invalid_address_fails_that_mail_only(mailer, session, clock, people, smtp):
    handler, _port = smtp
    _set(session, "pm1", email="pm1@example.com")
    _set(session, "pm2", email="not an address")
    _note(session, clock, "pm1", "pm2", "finance1")  # finance1 has no address at all
    report = mailer.send_mail(session)
    assert (report.sent, report.failed) == (1, 2)
    assert [m["To"] for m in handler.received] == ["pm1@example.com"]
    rows = _outbox(session)
    assert rows["pm2"].status == "failed" and rows["pm2"].attempts == 1
    assert "invalid e-mail address" in rows["pm2"].last_error and "pm2" in rows["pm2"].last_error
    assert "no e-mail address" in rows["finance1"].last_error


def test_digest_users_get_one_mail_a_day(mailer, session, clock, people, smtp):
    handler, _port = smtp
    _set(session, "pm1", email="pm1@example.com", mail_mode="digest")
    _note(session, clock, "pm1", title="New task: A", link="/tasks/1")
    _note(session, clock, "pm1", title="New task: B", link="/tasks/2", kind="reminder")
    assert mailer.send_mail(session).sent == 0 and handler.received == []
    assert mailer.send_mail(session, digests=True).sent == 2
    [digest] = handler.received
    text, html = _parts(digest)
    assert "(2 notification(s))" in digest["Subject"]
    assert "https://pmo.example/tasks/1" in text and "https://pmo.example/tasks/2" in html
    assert {r.status for r in _outbox(session).values()} == {"sent"}
    assert mailer.send_mail(session, digests=True).sent == 0


def test_without_smtp_mail_stays_readable_for_the_admin(engine, session, clock, people):
    _set(session, "pm1", email="pm1@example.com", locale="zh")
    _note(session, clock, "pm1", title="New task: <Budget>", body="x & y")
    assert engine.send_mail(session).sent == 0
    page = engine.mail_page(session, "admin")
    assert not page.smtp_configured and page.counts == {"pending": 1}
    detail = engine.mail(session, "admin", page.mails[0].id)
    assert detail.address == "pm1@example.com"
    assert "New task: &lt;Budget&gt;" in detail.html and "x &amp; y" in detail.html
    assert "有一项任务等待您处理" in detail.text
    with pytest.raises(Forbidden):
        engine.mail(session, "pm1", page.mails[0].id)


def test_the_worker_sends_mail_after_commit(mailer, session, clock, people, smtp, db):
    from engine.housekeeping import Housekeeping
    from engine.store.db import make_sessionmaker

    handler, _port = smtp
    _set(session, "pm1", email="pm1@example.com")
    _note(session, clock, "pm1")
    lines: list[str] = []
    Housekeeping(mailer.ctx, make_sessionmaker(db.engine), lines.append).run_due()
    assert [m["To"] for m in handler.received] == ["pm1@example.com"]
    assert "worker: mail: sent 1" in lines
    assert _outbox(session)["pm1"].status == "sent"


def test_a_mail_another_worker_holds_is_skipped_not_sent_twice(mailer, session, clock, people,
                                                               smtp, db):
    from engine.store.db import make_sessionmaker

    handler, _port = smtp
    _set(session, "pm1", email="pm1@example.com")
    _set(session, "pm2", email="pm2@example.com")
    _note(session, clock, "pm1", "pm2")
    held = _outbox(session)["pm1"].id
    if db.kind == "postgres":
        # Another worker is in the middle of sending pm1's mail: its row is locked.
        with make_sessionmaker(db.engine)() as other, other.begin():
            other.execute(select(OutboxMessage).where(OutboxMessage.id == held)
                          .with_for_update())
            assert mailer.send_mail(session).sent == 1  # pm2's; pm1's is skipped, no wait
            assert [m["To"] for m in handler.received] == ["pm2@example.com"]
            other.execute(update(OutboxMessage).where(OutboxMessage.id == held)
                          .values(status="sent", sent_at=clock.now()))
    else:  # SQLite: one writer at a time, so the second pass finds the first's work done
        assert mailer.send_mail(session).sent == 2
    assert mailer.send_mail(session).sent == 0
    assert len(handler.received) == (1 if db.kind == "postgres" else 2)
    assert {r.status for r in _outbox(session).values()} == {"sent"}


def test_money_in_a_mail_is_written_by_currency_and_the_recipients_language(session):
    from pathlib import Path

    from engine.mail.wording import Wording

    catalogs = str(Path(__file__).resolve().parents[2] / "webui" / "translations")
    param = {"money": ["500000.00", "CNY"]}
    assert Wording(session, catalogs, "zh", None).param(param) == "¥500,000.00"
    assert Wording(session, catalogs, "en", None).param(param) == "CN¥500,000.00"
    assert Wording(session, catalogs, "en", None).param({"money": ["lots", "CNY"]}) == \
        "lots CNY"
