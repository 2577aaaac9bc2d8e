"""A mail's subject and text in the recipient's language, from the notification's message.

Notifications keep a message id and params (:mod:`engine.notifications`); the outbox row
keeps their English rendering. When the install names a gettext catalog directory
(``EngineSettings.translations_dir``, the web app's catalog) and the recipient reads
Chinese, the mail is worded from the message with that catalog, the diagrams' names
(``pmoflow:name-zh``), people's display names and the recipient's time zone. Without a
catalog or a message (rows from before), the stored English is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_currency
from babel.support import NullTranslations, Translations
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from engine.definitions import name_translations
from engine.mail import templates
from engine.store.models import Notification, Role, User

NOTES = Notification.__table__


#: Babel locale of each language the mails are written in.
_LOCALES = {"en": "en", "zh": "zh_Hans_CN"}


@lru_cache(maxsize=8)
def catalog(directory: str, language: str) -> NullTranslations:
    """The compiled catalog of ``language`` under ``directory`` (empty if there is none)."""
    return Translations.load(directory, [language])


class _Params(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


class Wording:
    """Renders messages for one recipient."""

    def __init__(self, session: Session, directory: str, language: str, time_zone: str | None):
        self.session = session
        self.language = language
        self.tr = catalog(directory, language)
        self.names = name_translations(session).get(language, {})
        self.zone = ZoneInfo(time_zone) if time_zone else None
        self._people: dict[str, str] | None = None
        self._roles: dict[str, str] | None = None

    def text(self, value: Any) -> str:
        """A name or word: the diagrams' translation, else the catalog's."""
        value = "" if value is None else str(value)
        return self.names.get(" ".join(value.split())) or self.tr.gettext(value)

    def user(self, name: Any) -> str:
        if self._people is None:
            rows = self.session.execute(select(User.username, User.display_name))
            self._people = {u: d or u for u, d in rows}
        return self._people.get(str(name), str(name or ""))

    def role(self, key: Any) -> str:
        if self._roles is None:
            self._roles = {k: n for k, n in self.session.execute(select(Role.key, Role.name))}
        return self.tr.gettext(self._roles.get(str(key), str(key)))

    def money(self, value: Any, currency: Any) -> str:
        """An amount by its currency in this language (``¥500,000.00``, ``CN¥500,000.00``)."""
        try:
            number = Decimal(str(value))
            return format_currency(number, str(currency), locale=_LOCALES[self.language])
        except (InvalidOperation, ValueError, KeyError):
            return f"{value} {currency}"

    def param(self, value: Any) -> str:
        """One param (the kinds of :mod:`engine.notifications`) in this language."""
        if not (isinstance(value, dict) and len(value) == 1):
            return "" if value is None else str(value)
        ((kind, inner),) = value.items()
        sep = "、" if self.language == "zh" else ", "
        if kind == "user":
            return self.user(inner)
        if kind == "users":
            return sep.join(self.user(u) for u in inner or []) or self.tr.gettext("nobody")
        if kind == "role":
            return self.role(inner)
        if kind == "text":
            return self.text(inner)
        if kind == "i18n" and isinstance(inner, dict):
            return str(inner.get(self.language) or inner.get("en") or "")
        if kind == "msg" and isinstance(inner, list) and len(inner) == 2:
            return self.render(str(inner[0]), dict(inner[1]))
        if kind == "at":
            try:
                moment = datetime.fromisoformat(str(inner))
            except ValueError:
                return str(inner)
            return (moment.astimezone(self.zone) if self.zone else moment).strftime(
                "%Y-%m-%d %H:%M"
            )
        if kind == "money" and isinstance(inner, list) and len(inner) == 2:
            return self.money(inner[0], inner[1])
        if kind == "routes":
            days = "%(num)s working day", "%(num)s working days"
            return sep.join(
                f"{self.role(r)} ({self.tr.ngettext(*days, int(n)) % {'num': n}})" for r, n in inner
            )
        return str(inner)

    def render(self, msgid: str, params: dict[str, Any], fallback: str = "") -> str:
        """``msgid`` in this language filled with ``params``; ``fallback`` without one."""
        if not msgid:
            return fallback
        values = _Params({k: self.param(v) for k, v in (params or {}).items()})
        try:
            return self.tr.gettext(msgid) % values
        except (TypeError, ValueError, KeyError):
            return fallback or msgid


def items(
    session: Session, directory: str | None, user: Row, rows: Sequence[Row]
) -> list[templates.Item]:
    """The mail's items (one per outbox row) in the recipient's language."""
    stored = [templates.Item(r.kind or "info", r.subject, r.body, r.link) for r in rows]
    language = templates.language(user.locale)
    ids = [r.notification_id for r in rows if r.notification_id]
    if directory is None or language == "en" or not ids:
        return stored
    found = session.execute(select(NOTES.c.id, NOTES.c.message).where(NOTES.c.id.in_(ids)))
    messages: dict[int, Any] = {row.id: row.message for row in found}
    wording = Wording(session, directory, language, getattr(user, "time_zone", None))
    out = []
    for row, item in zip(rows, stored, strict=True):
        message = messages.get(row.notification_id) or {}
        params = message.get("params") or {}
        out.append(
            templates.Item(
                item.kind,
                wording.render(message.get("title", ""), params, item.title),
                wording.render(message.get("body", ""), params, item.body),
                item.link,
            )
        )
    return out
