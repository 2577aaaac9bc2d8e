"""The approval process's SLA reminder and escalation reach people as mail: the
notification's outbox row is rendered as a reminder in the recipient's language with a
link, and sent by the worker's mail pass."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import update

from engine.store.models import User
from engine.store.uow import unit_of_work
from tests.engine.driver import Driver
from tests.workflows.factories import process_driver
from tests.workflows.test_process_approval import ACCEPT, EXTRA_USERS, bundle, submit
from workflows.approval import OPERATIONS


class Catch:
    """A transport that keeps what it is handed."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    return process_driver(engine, session, clock, users=EXTRA_USERS, operations=OPERATIONS,
                          files=bundle())


def test_sla_reminder_and_escalation_are_mailed(drv, session):
    with unit_of_work(session):
        session.execute(update(User).values(email=User.username + "@example.com"))
        session.execute(update(User).where(User.username == "steer1").values(locale="zh"))
    inst = submit(drv, amount="500000.00")
    drv.complete(inst.id, "check", "reviewer1", ACCEPT)
    catch = Catch()
    drv.engine.send_mail(session, catch)  # the assignment mails so far
    catch.sent.clear()

    drv.advance_and_fire(days=3, minutes=1)  # the PMO head's SLA
    drv.engine.send_mail(session, catch)
    [reminder] = [m for m in catch.sent if m["To"] == "pmohead@example.com"]
    assert reminder["Subject"] == "[PMOflow] Reminder: PMO head review of 'CRM replacement' is due"
    html = reminder.get_body(("html",)).get_content()
    assert "Reminder: work is due" in html and f"/instances/{inst.id}" in html

    catch.sent.clear()
    drv.advance_and_fire(days=5)  # the second period: escalated to the steering chair
    drv.engine.send_mail(session, catch)
    [escalation] = [m for m in catch.sent if m["To"] == "steer1@example.com"]
    assert "Escalation: PMO head review" in escalation["Subject"]
    assert "升级通知" in escalation.get_body(("plain",)).get_content()
