"""The worker sleeps until the next job is due and is woken by a nearer one (issue 12).

Each test runs a real worker loop in a thread with a poll interval far longer than the
test waits, so a job can only fire in time if the wake-up works; on SQLite and PostgreSQL.
The wake-ups come from commits only: a rolled-back write wakes nobody.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from engine import notifications
from engine.api import Engine
from engine.clock import SystemClock
from engine.jobs import runner, wake
from engine.notifications import Note
from engine.settings import SmtpSettings
from engine.store import rows
from engine.store.db import make_sessionmaker
from engine.store.models import AuditEvent, Job, User
from engine.store.uow import unit_of_work
from tests.engine.driver import Driver
from tests.engine.test_mail import Handler, _free_port

LONG_POLL = 120.0  # the safety poll the wake-ups must beat
BOUND = 40.0  # how long a test waits for what must happen well before LONG_POLL


class Recorder(wake.Waiter):
    """A waiter that also keeps every announcement it hears, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.heard: queue.Queue[tuple[datetime | None, bool]] = queue.Queue()

    def announce(self, due: datetime | None = None, *, mail: bool = False) -> None:
        self.heard.put((due, mail))
        super().announce(due, mail=mail)


def _until(condition: Callable[[], bool], seconds: float = BOUND) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@contextmanager
def _worker(engine: Engine, db, waiter: wake.Waiter, *, poll: float = LONG_POLL,
            local: bool = True, listen: bool = False) -> Iterator[threading.Thread]:
    stop = threading.Event()
    t = threading.Thread(target=runner.worker_loop, daemon=True, args=(
        engine.ctx, make_sessionmaker(db.engine)), kwargs=dict(
        poll_seconds=poll, stop=stop.is_set, log=lambda _m: None, waiter=waiter,
        local=local, listen=listen))
    t.start()
    try:
        yield t
    finally:
        stop.set()
        waiter.announce()  # out of its sleep, to see the stop
        t.join(BOUND)


def _fired(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.kind == "timer_fired")) or 0


def _job(session, task_ref: str, due: datetime) -> None:
    """A timer job row of no instance, far from any worker's reach unless due."""
    rows.insert_rec(session, rows.new(rows.JOBS, kind="probe", task_ref=task_ref, due_at=due,
                                      status="pending", attempts=0, payload={},
                                      created_at=due))


def test_a_job_due_sooner_wakes_a_sleeping_worker(db, session, settings, people):
    _wakes(db, session, settings, local=True, listen=False)


@pytest.mark.parametrize("db", ["postgres"], indirect=True)  # LISTEN/NOTIFY is PostgreSQL's
def test_a_notify_from_another_process_wakes_a_sleeping_worker(db, session, settings, people):
    # The worker hears nothing from this process, as if it ran in another one.
    _wakes(db, session, settings, local=False, listen=True)


def _wakes(db, session, settings, *, local: bool, listen: bool) -> None:
    real = Engine(clock=SystemClock(), settings=settings)
    drv = Driver(real, session, None)  # type: ignore[arg-type]
    drv.deploy("timer_until.bpmn")
    waiter = wake.Waiter()
    with _worker(real, db, waiter, local=local, listen=listen):
        for n in (1, 2):  # the second round long after the worker started listening
            assert _until(waiter.sleeping.is_set)  # looked, found nothing, sleeps LONG_POLL
            due = datetime.now(UTC) + timedelta(seconds=0.3)
            drv.start("timer_until", data={"deadline": due.isoformat()})
            assert _until(lambda n=n: _fired(session) == n), "the worker slept through it"
    jobs = session.scalars(select(Job).where(Job.kind == "timer")).all()
    assert [j.status for j in jobs] == ["done", "done"]
    assert all(j.finished_at >= j.due_at for j in jobs)


def test_the_safety_poll_fires_what_nobody_announced(db, session, clock, engine, people):
    drv = Driver(engine, session, clock)
    drv.deploy("timer_wait.bpmn")
    drv.start("timer_wait", data={"deadline": "2026-03-05T12:00:00+00:00"})
    waiter = wake.Waiter()
    with _worker(engine, db, waiter, poll=0.05, local=False, listen=False):
        assert _until(waiter.sleeping.is_set)
        clock.advance(hours=2, seconds=1)  # moving the clock writes nothing: no wake-up
        assert _until(lambda: _fired(session) == 1)
    assert drv.instance(_only_instance(session)).current_step == "waiting for Until deadline"


def _only_instance(session) -> int:
    return session.scalars(select(Job.instance_id).where(Job.kind == "timer")).first()


def test_only_a_commit_wakes_this_process(db, session):
    recorder = Recorder()
    wake.register(recorder)
    try:
        soon = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        with pytest.raises(RuntimeError), unit_of_work(session):
            _job(session, "rolled-back", soon)
            raise RuntimeError("changed my mind")
        assert recorder.heard.empty()  # told after commit only, synchronously
        with unit_of_work(session):
            _job(session, "committed", soon + timedelta(hours=1))
        assert recorder.heard.get_nowait() == (soon + timedelta(hours=1), False)
        with unit_of_work(session):  # cancelling wakes nobody
            session.execute(rows.JOBS.update().values(status="cancelled"))
        assert recorder.heard.empty()
        with unit_of_work(session):  # a job written as an ORM object is heard too
            session.add(Job(kind="probe", task_ref="orm", due_at=soon, status="pending",
                            attempts=0, payload={}, created_at=soon))
        assert recorder.heard.get_nowait() == (soon, False)
    finally:
        wake.unregister(recorder)


@pytest.mark.parametrize("db", ["postgres"], indirect=True)  # LISTEN/NOTIFY is PostgreSQL's
def test_notify_is_sent_with_the_commit_and_never_on_rollback(db, session):
    recorder = Recorder()
    listener = wake.PgListener(db.engine, recorder).start()
    try:
        assert listener.listening.wait(BOUND)
        assert recorder.heard.get(timeout=BOUND) == (None, False)  # look once on connect
        soon = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        with pytest.raises(RuntimeError), unit_of_work(session):
            _job(session, "rolled-back", soon)
            raise RuntimeError("changed my mind")
        later = soon + timedelta(hours=1)
        with unit_of_work(session):
            _job(session, "committed", later)
        # Notifications arrive in commit order: the first one heard is the committed job.
        assert recorder.heard.get(timeout=BOUND) == (later, False)
        with unit_of_work(session):
            notifications_note(session, later)
        assert recorder.heard.get(timeout=BOUND) == (None, True)
    finally:
        listener.stop()


def notifications_note(session, now: datetime) -> None:
    """A mail in the outbox (the worker's mail sender is woken for it)."""
    notifications.write(session, Note(usernames=("pm1",), kind="assigned", title="t", body="",
                                      link="/"), now)


def test_a_new_mail_wakes_the_mail_sender(db, session, clock, settings, people):
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        mailer = Engine(clock=clock, settings=replace(
            settings, mail_poll_seconds=3600, smtp=SmtpSettings(
                host="127.0.0.1", port=controller.port, sender="pmo@example.com",
                timeout_seconds=5)))
        with unit_of_work(session):
            session.execute(User.__table__.update().where(User.username == "pm1")
                            .values(email="pm1@example.com"))
        stop = threading.Event()
        waiter_seen: list[wake.Waiter] = []
        orig = runner.worker_loop

        def spy(*args, **kwargs):
            waiter_seen.append(kwargs["waiter"])
            return orig(*args, **kwargs)

        runner.worker_loop = spy  # type: ignore[assignment]
        try:
            t = threading.Thread(target=mailer.work, args=(make_sessionmaker(db.engine),),
                                 kwargs=dict(poll_seconds=LONG_POLL, stop=stop.is_set,
                                             log=lambda _m: None), daemon=True)
            t.start()
            assert _until(lambda: bool(waiter_seen) and waiter_seen[0].sleeping.is_set())
            with unit_of_work(session):
                notifications_note(session, clock.now())
            assert _until(lambda: len(handler.received) == 1), "the mail waited for its poll"
        finally:
            runner.worker_loop = orig  # type: ignore[assignment]
            stop.set()
            if waiter_seen:
                waiter_seen[0].announce()
            t.join(BOUND)
    finally:
        controller.stop()
    assert handler.received[0]["To"] == "pm1@example.com"
