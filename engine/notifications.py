"""In-app notifications (the bell) and the e-mail outbox, written in the action's transaction.

Nothing is sent from inside a transaction: each notification also leaves an ``outbox`` row
that the worker drains after commit (:mod:`engine.mail`).

Words are stored as a *message*, not frozen in one language: ``title`` and ``body`` are
English message ids (gettext msgids with ``%(name)s`` placeholders) and ``params`` fill
them (:func:`message`). The web layer renders them in the reader's language when shown
(``webui/wording.py``); the ``title``/``body`` columns keep the English rendering
for readers that know no better (old rows, the API, e-mail). A param is a plain value
(shown as is: titles, codes, reasons people typed) or a one-key dict saying how to show it:
``{"user": name}`` a person's display name, ``{"users": [..]}`` several,
``{"role": key}`` a role's display name, ``{"msg": [msgid, params]}`` a message inside
the message, ``{"routes": [[role, days], ..]}`` approvers with their SLA, ``{"sentence": text}`` an
English sentence the code stored as text (translated when it is a known one),
``{"reviews": [{"label", "by", "role", "comment", "voters"}, ..]}`` who decided what,
``{"text": english}`` a word or name to translate (step, process, outcome),
``{"date": "YYYY-MM-DD"}`` / ``{"at": iso}`` a date / moment in the reader's format and
time zone, ``{"i18n": {"en": .., "zh": ..}}`` words the writer already has in each
language (a form's option labels). A new kind of notification needs only its msgids (with
their Chinese appended to the catalog) and a :func:`note` / ``ServiceCall.notify`` call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from engine.store import pipeline
from engine.store.models import Notification, OutboxMessage
from engine.views import NotificationView

NOTES = Notification.__table__
OUTBOX = OutboxMessage.__table__
_NOTE_INSERT = insert(NOTES).returning(NOTES.c.id)
_NOTE_COLUMNS = (
    "username",
    "kind",
    "title",
    "body",
    "link",
    "instance_id",
    "human_task_id",
    "created_at",
    "read_at",
    "message",
)
_OUTBOX_COLUMNS = (
    "username",
    "subject",
    "body",
    "created_at",
    "sent_at",
    "attempts",
    "last_error",
    "status",
    "kind",
    "link",
    "next_attempt_at",
)


def _note_and_mail() -> Any:
    """PostgreSQL: the notification and its e-mail in one statement (the outbox row takes
    the notification's id from a data-modifying CTE), which nobody reads back, so it rides
    in the unit of work's pipeline without a round trip of its own."""
    note = (
        insert(NOTES)
        .values({c: bindparam(f"n_{c}", type_=NOTES.c[c].type) for c in _NOTE_COLUMNS})
        .returning(NOTES.c.id)
        .cte("note")
    )
    values = [bindparam(f"o_{c}", type_=OUTBOX.c[c].type) for c in _OUTBOX_COLUMNS]
    return (
        insert(OUTBOX)
        .from_select([*_OUTBOX_COLUMNS, "notification_id"], select(*values, note.c.id))
        .inline()
    )


_NOTE_AND_MAIL = _note_and_mail()
_OUTBOX_INSERT = insert(OUTBOX).inline()


@dataclass(frozen=True)
class Note:
    """A notification to create; ``link`` is a path in the web app."""

    usernames: tuple[str, ...]
    kind: str
    title: str
    body: str = ""
    link: str | None = None
    instance_id: int | None = None
    human_task_id: int | None = None
    #: The words as message ids and params (see the module docstring); None: text only.
    message: dict[str, Any] | None = None
    #: The process names these people on the request (e.g. the PMs of the projects an
    #: escalation affects): the need-to-know check lets them be told even before anything
    #: else lets them see it (:func:`engine.access.audience`).
    named: bool = False


def plain(value: Any) -> str:
    """A message param in English, as the ``title``/``body`` columns keep it."""
    if isinstance(value, dict) and len(value) == 1:
        ((kind, inner),) = value.items()
        if kind == "users":
            return ", ".join(map(str, inner)) or "nobody"
        if kind in ("user", "text", "date", "at", "role"):
            return str(inner)
        if kind == "money" and isinstance(inner, list) and len(inner) == 2:
            return f"{inner[0]} {inner[1]}"
        if kind == "i18n" and isinstance(inner, dict):
            return str(inner.get("en") or next(iter(inner.values()), ""))
        if kind == "msg" and isinstance(inner, list) and len(inner) == 2:
            return english(str(inner[0]), dict(inner[1]))
        if kind == "sentence":
            return str(inner)
        if kind == "reviews":
            return "; ".join(
                f"{r.get('label')}: {r.get('comment')}" if r.get("comment") else str(r.get("label"))
                for r in inner
            )
        if kind == "routes":
            return ", ".join(f"{role} ({days} working days)" for role, days in inner)
    return str(value)


def message(title: str, body: str = "", params: dict[str, Any] | None = None) -> dict[str, Any]:
    """A message: ``title``/``body`` msgids, ``params`` (plain JSON values or typed dicts)."""
    return {"title": title, "body": body, "params": jsonable(dict(params or {}))}


def jsonable(value: Any) -> Any:
    """``value`` as JSON can store it: containers kept, numbers and text as they are,
    anything else (a ``Decimal``, a date) as its text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def english(msgid: str, params: dict[str, Any]) -> str:
    """``msgid`` filled with ``params`` in English (a missing param shows empty)."""
    if not msgid:
        return ""
    return msgid % _Plain({k: plain(v) for k, v in params.items()})


class _Plain(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def note(usernames: Iterable[str], kind: str, title: str, body: str = "", **fields: Any) -> Note:
    """A :class:`Note` whose ``title``/``body`` are msgids filled from ``fields["params"]``."""
    params: dict[str, Any] = fields.pop("params", None) or {}
    return Note(
        usernames=tuple(usernames),
        kind=kind,
        title=english(title, params),
        body=english(body, params),
        message=message(title, body, params),
        **fields,
    )


def task_assigned(inst: Any, row: Any) -> Note:
    """ "A task is waiting for you" for the task's assignee."""
    return note(
        (row.assignee,),
        "assigned",
        "New task: %(step)s",
        "%(title)s",
        params={"step": {"text": row.name}, "title": inst.title},
        link=f"/tasks/{row.id}",
        instance_id=inst.id,
        human_task_id=row.id,
    )


def write(session: Session, note: Note, now: datetime) -> None:
    """Store the notification for each recipient (once each) and queue its e-mail."""
    one_statement = session.get_bind().dialect.name == "postgresql"
    for username in dict.fromkeys(u for u in note.usernames if u):
        stored: dict[str, Any] = {
            "username": username,
            "kind": note.kind,
            "title": note.title[:300],
            "body": note.body,
            "link": note.link,
            "instance_id": note.instance_id,
            "human_task_id": note.human_task_id,
            "created_at": now,
            "read_at": None,
            "message": note.message,
        }
        mail: dict[str, Any] = {
            "username": username,
            "subject": note.title[:300],
            "body": note.body,
            "created_at": now,
            "sent_at": None,
            "attempts": 0,
            "last_error": None,
            "status": "pending",
            "kind": note.kind,
            "link": note.link,
            "next_attempt_at": now,
        }
        if one_statement:
            params: dict[str, Any] = {f"n_{k}": v for k, v in stored.items()}
            params.update({f"o_{k}": v for k, v in mail.items()})
            session.execute(_NOTE_AND_MAIL, params, execution_options={pipeline.DEFER: True})
            continue
        note_id = session.execute(_NOTE_INSERT, stored).scalar_one()
        session.execute(_OUTBOX_INSERT, {**mail, "notification_id": note_id})


def write_all(session: Session, notes: Iterable[Note], now: datetime) -> None:
    """Store several notifications."""
    for note in notes:
        write(session, note, now)


def for_user(
    session: Session, username: str, *, unread_only: bool = False, limit: int = 20
) -> list[NotificationView]:
    """Newest first."""
    q = select(NOTES).where(NOTES.c.username == username)
    if unread_only:
        q = q.where(NOTES.c.read_at.is_(None))
    rows = session.execute(q.order_by(NOTES.c.id.desc()).limit(limit))
    return [
        NotificationView(
            r.id,
            r.kind,
            r.title,
            r.body,
            r.link,
            r.instance_id,
            r.created_at,
            r.read_at,
            r.message,
        )
        for r in rows
    ]


def unread_count_query(username: Any) -> Any:
    """``SELECT count(*)`` of the unread notifications of ``username`` (a value or a bind
    parameter); as a scalar subquery it rides along another statement."""
    return (
        select(func.count())
        .select_from(NOTES)
        .where(NOTES.c.username == username, NOTES.c.read_at.is_(None))
    )


_UNREAD = unread_count_query(bindparam("username"))


def unread_count(session: Session, username: str) -> int:
    """How many unread notifications (for the bell's badge)."""
    return int(session.execute(_UNREAD, {"username": username}).scalar_one())


def mark_read(session: Session, username: str, ids: Iterable[int] | None, now: datetime) -> int:
    """Mark the given (or all) of a user's notifications read; return how many changed."""
    q = update(NOTES).where(NOTES.c.username == username, NOTES.c.read_at.is_(None))
    if ids is not None:
        q = q.where(NOTES.c.id.in_(list(ids)))
    return cast("CursorResult[Any]", session.execute(q.values(read_at=now))).rowcount
