"""Waking a sleeping worker when work is written that is due sooner than it meant to look.

A worker sleeps until the earliest pending job is due (at most its poll interval, the
safety net).  Whoever writes a job that is due sooner, or a mail, wakes it:

* **Writers.**  Every ``INSERT``/``UPDATE`` of the ``jobs`` table made through a
  :class:`~sqlalchemy.orm.Session` is noticed here (a ``do_orm_execute`` hook), and the
  earliest ``due_at`` written is kept on the session until its transaction ends; a job
  set back to ``pending`` without a due time in the statement counts as due now, and so
  does a write to ``install_settings`` (a moved demo clock).  A new mail in the
  ``outbox`` asks for the mail sender.  On PostgreSQL the commit first runs
  ``pg_notify(channel, payload)`` *in that transaction*, so the notification is delivered
  only if it commits; after the commit, waiters in this process are told directly (a
  worker thread in ``pmoflow serve``, or any worker on SQLite).  A rollback forgets it:
  nobody is woken.  Cancelling jobs wakes nobody.
* **Sleepers.**  A worker holds a :class:`Waiter`; :func:`register` makes it hear this
  process's commits, and on PostgreSQL a :class:`PgListener` thread ``LISTEN``\\ s on the
  channel and hands every notification to it.  :meth:`Waiter.wait` returns as soon as
  something is due before the planned wake-up.

A wake-up only makes the worker look again: jobs are still claimed with
``FOR UPDATE SKIP LOCKED`` by the runner, so a spurious or duplicated wake-up fires
nothing twice.  The channel is per schema (``pmoflow_jobs_<schema>``), so installs sharing
a database do not wake each other.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.orm import ORMExecuteState, Session

from engine.clock import Clock
from engine.store import pipeline

log = logging.getLogger(__name__)

#: A due time meaning "look now".
NOW = datetime.min.replace(tzinfo=UTC)
#: ``session.info`` key: what the open transaction announces when it commits.
_PENDING = "pmoflow.wake"
_JOBS, _OUTBOX, _INSTALL = "jobs", "outbox", "install_settings"


# --------------------------------------------------------------------------- waiters


class Waiter:
    """What one worker has been told since it last looked, and the sleep it is in."""

    def __init__(self, *, mail: bool = False) -> None:
        #: Whether a new mail wakes this waiter (its worker sends mail: :meth:`take_mail`).
        self.wants_mail = mail
        self._cond = threading.Condition()
        self._earliest: datetime | None = None
        self._mail = False
        #: Set while the worker sleeps in :meth:`wait` (tests wait for it).
        self.sleeping = threading.Event()

    def announce(self, due: datetime | None = None, *, mail: bool = False) -> None:
        """A job due at ``due`` (None: now) was written, or (``mail``) a mail."""
        if mail and not self.wants_mail and due is None:
            return
        with self._cond:
            if due is not None or not mail:
                when = NOW if due is None else due
                if self._earliest is None or when < self._earliest:
                    self._earliest = when
            self._mail = self._mail or (mail and self.wants_mail)
            self._cond.notify_all()

    def clear(self) -> None:
        """Forget announced jobs (the worker is about to look at the database)."""
        with self._cond:
            self._earliest = None

    def take_mail(self) -> bool:
        """Whether a mail was announced since the last call."""
        with self._cond:
            mail, self._mail = self._mail, False
            return mail

    def wait(self, seconds: float, clock: Clock) -> bool:
        """Sleep up to ``seconds``, less if a job due sooner (by ``clock``) or a mail is
        announced meanwhile; True if woken early by an announcement."""
        end = time.monotonic() + max(seconds, 0.0)
        woken = False
        with self._cond:
            self.sleeping.set()
            try:
                while True:
                    if self._mail:
                        return True
                    remaining = end - time.monotonic()
                    if self._earliest is not None:
                        until = (self._earliest - clock.now()).total_seconds() + 0.001
                        self._earliest = None
                        if until < remaining:
                            end, remaining, woken = time.monotonic() + until, until, True
                    if remaining <= 0:
                        return woken
                    self._cond.wait(remaining)
            finally:
                self.sleeping.clear()


_WAITERS: weakref.WeakSet[Waiter] = weakref.WeakSet()
_WAITERS_LOCK = threading.Lock()


def register(waiter: Waiter) -> None:
    """Let ``waiter`` hear what this process's sessions commit."""
    with _WAITERS_LOCK:
        _WAITERS.add(waiter)


def unregister(waiter: Waiter) -> None:
    """Stop telling ``waiter``."""
    with _WAITERS_LOCK:
        _WAITERS.discard(waiter)


def announce_local(due: datetime | None = None, *, mail: bool = False) -> None:
    """Tell every registered waiter in this process."""
    with _WAITERS_LOCK:
        waiters = list(_WAITERS)
    for waiter in waiters:
        waiter.announce(due, mail=mail)


# --------------------------------------------------------------------------- payloads


def encode(due: datetime | None, mail: bool) -> str:
    """The notification payload: ``job:<iso>`` / ``job:now`` and/or ``mail``."""
    parts = []
    if due is not None:
        parts.append("job:now" if due == NOW else f"job:{due.isoformat()}")
    if mail:
        parts.append("mail")
    return " ".join(parts)


def deliver(waiter: Waiter, payload: str) -> None:
    """Hand a notification payload to ``waiter`` (anything unreadable: look now)."""
    mail = False
    due: datetime | None = None
    for part in payload.split():
        if part == "mail":
            mail = True
        elif part.startswith("job:"):
            try:
                when = NOW if part == "job:now" else datetime.fromisoformat(part[4:])
            except ValueError:
                when = NOW
            due = when if due is None else min(due, when)
    if due is None and not mail:
        due = NOW
    if due is not None:
        waiter.announce(due)
    if mail:
        waiter.announce(mail=True)


# --------------------------------------------------------------------------- writers


def _param_sets(state: ORMExecuteState) -> list[Mapping[str, Any]]:
    params = state.parameters
    if params is None:
        return [{}]
    if isinstance(params, Mapping):
        return [params]
    return list(params) or [{}]


def _literal_values(statement: Any) -> dict[str, Any]:
    values = getattr(statement, "_values", None) or {}
    out = {}
    for key, value in values.items():
        out[getattr(key, "key", str(key))] = getattr(value, "value", value)
    return out


def _job_due(state: ORMExecuteState) -> datetime | None:
    """The earliest due time an insert/update of ``jobs`` writes (NOW: pending again
    without one; None: no due time, such as a cancellation)."""
    literal = _literal_values(state.statement)
    earliest: datetime | None = None
    for params in _param_sets(state):
        due = params.get("due_at", params.get("v_due_at", literal.get("due_at")))
        status = params.get("status", params.get("v_status", literal.get("status")))
        if not isinstance(due, datetime):
            due = NOW if status == "pending" else None
        if due is not None and (earliest is None or due < earliest):
            earliest = due
    return earliest


def _note(session: Session, due: datetime | None, mail: bool) -> None:
    pending = session.info.setdefault(_PENDING, {"due": None, "mail": False})
    if due is not None and (pending["due"] is None or due < pending["due"]):
        pending["due"] = due
    pending["mail"] = pending["mail"] or mail


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update):
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table == _JOBS:
        due = _job_due(state)
        if due is not None:
            _note(state.session, due, False)
    elif table == _INSTALL:
        _note(state.session, NOW, False)
    elif table == _OUTBOX:
        _note(state.session, None, True)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    # Jobs and mails written as ORM objects (the engine itself writes them with Core).
    for obj in (*session.new, *session.dirty):
        table = getattr(getattr(obj, "__table__", None), "name", None)
        if table == _JOBS and getattr(obj, "status", None) == "pending":
            due = getattr(obj, "due_at", None)
            _note(session, due if isinstance(due, datetime) else NOW, False)
        elif table == _OUTBOX and obj in session.new:
            _note(session, None, True)


_CHANNELS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def channel(conn: Connection) -> str:
    """The notification channel of the schema ``conn`` works in."""
    name = _CHANNELS.get(conn.engine)
    if name is None:
        schema = conn.execute(text("SELECT current_schema()")).scalar() or "public"
        name = _CHANNELS[conn.engine] = f"pmoflow_jobs_{schema}"[:63]
    return name


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        payload = encode(pending["due"], pending["mail"])
        # NOTIFY rather than SELECT pg_notify(): it returns no rows, so it travels with
        # COMMIT in the unit of work's pipeline (engine.store.pipeline) instead of making
        # a round trip of its own. NOTIFY takes no bind parameters: both are quoted here.
        name = channel(conn).replace('"', '""')
        quoted = payload.replace("\x00", "").replace("'", "''")
        conn.exec_driver_sql(
            f"NOTIFY \"{name}\", '{quoted}'", execution_options={pipeline.DEFER: True}
        )


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        if pending["due"] is not None:
            announce_local(pending["due"])
        if pending["mail"]:
            announce_local(mail=True)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction: committed or rolled back
        session.info.pop(_PENDING, None)


# --------------------------------------------------------------------------- PostgreSQL


class PgListener:
    """A thread that ``LISTEN``\\ s on the install's channel and tells one waiter.

    It has its own autocommit connection (made as the engine makes its connections); when
    the connection breaks it reconnects after a second, and after every (re)connect the
    waiter is told to look, as a notification may have been missed meanwhile.
    """

    def __init__(self, db: Engine, waiter: Waiter) -> None:
        self.db = db
        self.waiter = waiter
        self.stopped = threading.Event()
        #: Set once the first ``LISTEN`` is in place (tests wait for it).
        self.listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pmoflow-listen", daemon=True)

    def start(self) -> PgListener:
        """Start listening in the background."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop (the thread ends within about a second)."""
        self.stopped.set()

    def _connect(self) -> Any:
        import psycopg

        with self.db.connect() as conn:
            name = channel(conn)
        cargs, cparams = self.db.dialect.create_connect_args(self.db.url)
        pg = psycopg.connect(*cargs, **cparams, autocommit=True)
        pg.execute(f'LISTEN "{name}"')
        return pg

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                pg = self._connect()
            except Exception as exc:
                log.warning("cannot listen for job notifications: %s", exc)
                self.stopped.wait(1.0)
                continue
            try:
                self.waiter.announce()  # something may have been written before LISTEN
                self.listening.set()
                while not self.stopped.is_set():
                    for note in pg.notifies(timeout=1.0):
                        deliver(self.waiter, note.payload)
            except Exception as exc:
                log.warning("job notifications interrupted: %s", exc)
                self.stopped.wait(1.0)
            finally:
                pg.close()
