"""Words stored as message keys, shown in the reader's language.

Notifications and the history's service notes keep a message id (English, with
``%(name)s`` placeholders) and params (``engine.notifications``); process, step, lane and
event names come from the diagrams, which give their Chinese as ``pmoflow:name-zh``
(``docs/modeling.md``). Both are rendered here when a page is shown, so a Chinese reader
reads Chinese even for what was written while someone else read English.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from flask import Flask, g, has_app_context
from markupsafe import Markup, escape

from webui.formatting import _request_locale, dt
from webui.i18n import template_gettext as _  # the texts here are extracted for pybabel
from webui.i18n import translations


def _language() -> str:
    """``zh`` or ``en``: the request's language, worked out once per request (every name
    a page shows asks)."""
    found = g.get("_pmoflow_language") if has_app_context() else None
    if found is None:
        found = "zh" if str(_request_locale()[0]).startswith("zh") else "en"
        if has_app_context():
            g._pmoflow_language = found
    return found


def _diagram_names() -> dict[str, str]:
    """English name -> this request's language, from every deployed diagram."""
    if not has_app_context():
        return {}
    found = g.get("_pmoflow_names")
    if found is None:
        from engine import pages
        from webui.extensions import db

        found = pages.name_translations(db.session).get(_language(), {}) if (
            _language() != "en") else {}
        g._pmoflow_names = found
    return found


def label(text: Any) -> str:
    """A process, step, lane or event name (or a common word) in the reader's language:
    the diagram's translation, else the catalog's, else the name as drawn."""
    if text is None:
        return ""
    text = str(text)
    if not text or _language() == "en":
        return text
    found = _diagram_names().get(" ".join(text.split()))
    if found:
        return found
    return str(translations().ugettext(text))


def _known_names() -> dict[str, str]:
    known = g.get("_pmoflow_display_names")
    if known is None:
        known = g._pmoflow_display_names = {}
    return known


def _user(name: Any) -> str:
    """A person's display name (their username if unknown), looked up once per request:
    a notification names a few people, so only they are read, never the directory."""
    if not name:
        return ""
    name = str(name)
    if not has_app_context():
        return name
    known = _known_names()
    if name not in known:
        _look_up([name])
    return str(known[name])


def _look_up(names: Iterable[str]) -> None:
    from engine import pages
    from webui.extensions import db

    wanted = sorted(set(names) - set(_known_names()))
    if wanted:
        found = pages.display_names(db.session, wanted)
        _known_names().update({n: found.get(n, n) for n in wanted})


def _people_in(value: Any) -> Iterator[str]:
    """The usernames a message param names (``user``, ``users``, nested messages)."""
    if isinstance(value, dict) and len(value) == 1:
        (kind, inner), = value.items()
        if kind == "user" and inner:
            yield str(inner)
        elif kind == "users":
            yield from (str(u) for u in inner or [] if u)
        elif kind == "msg" and isinstance(inner, list) and len(inner) == 2:
            for nested in dict(inner[1]).values():
                yield from _people_in(nested)


def name_people_of(notes: Iterable[Any]) -> None:
    """Read the display names every one of ``notes`` (notifications) names in one
    statement, before their texts are rendered one by one (a page of fifty notifications
    named people one read at a time)."""
    if not has_app_context():
        return
    _look_up(
        person
        for note in notes
        for value in ((getattr(note, "message", None) or {}).get("params") or {}).values()
        for person in _people_in(value)
    )


def param(value: Any) -> str:
    """One message param in the reader's language (see ``engine.notifications``)."""
    if not (isinstance(value, dict) and len(value) == 1):
        return "" if value is None else str(value)
    (kind, inner), = value.items()
    if kind == "user":
        return _user(inner)
    if kind == "users":
        names = [_user(u) for u in inner or []]
        return "、".join(names) if _language() == "zh" else ", ".join(names) or label("nobody")
    if kind == "text":
        return label(inner)
    if kind == "money" and isinstance(inner, list) and len(inner) == 2:
        from webui.formatting import money

        return money(inner[0], str(inner[1]))
    if kind == "role":
        from webui.messages import role_label

        return role_label(str(inner))
    if kind == "i18n" and isinstance(inner, dict):
        return str(inner.get(_language()) or inner.get("en") or "")
    if kind == "msg" and isinstance(inner, list) and len(inner) == 2:
        return render(str(inner[0]), dict(inner[1]))
    if kind == "sentence":
        return stored_text(inner)
    if kind == "reviews":
        return "; ".join(_review(r) for r in inner or [])
    if kind == "routes":
        from webui.i18n import ngettext
        from webui.messages import role_label

        sep = "、" if _language() == "zh" else ", "
        parts = []
        for role, days in inner:
            days_text = ngettext("%(num)s working day", "%(num)s working days", int(days))
            parts.append(f"{role_label(str(role))} ({days_text})")
        return sep.join(parts)
    if kind == "at":
        try:
            return dt(datetime.fromisoformat(str(inner)))
        except ValueError:
            return str(inner)
    if kind == "date":
        try:
            return date.fromisoformat(str(inner)[:10]).isoformat()
        except ValueError:
            return str(inner)
    return str(value)


def _review(review: dict[str, Any]) -> str:
    """One reviewer (or the committee with its voters) and their comment."""
    from webui.messages import role_label

    voters = review.get("voters")
    sep = "、" if _language() == "zh" else ", "
    if voters:
        who = f"{role_label('steering')} ({sep.join(_user(v) for v in voters)})"
    else:
        who = f"{_user(review.get('by'))} ({role_label(str(review.get('role') or ''))})"
    return f"{who}: {review['comment']}" if review.get("comment") else who


class _Params(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render(msgid: str | None, params: dict[str, Any] | None, fallback: str = "") -> str:
    """``msgid`` in the reader's language filled with ``params``; ``fallback`` (the stored
    English text) when there is no message id."""
    if not msgid:
        return fallback
    text = str(translations().ugettext(msgid))
    values = _Params({k: param(v) for k, v in (params or {}).items()})
    try:
        return text % values
    except (TypeError, ValueError, KeyError):
        return fallback or msgid


# --------------------------------------------------------------------------- stored text
# Rows written before messages were keys (old notifications, notes) and record texts the
# glue writes as sentences (stage-change reasons, risk decisions) hold English text only.
# Each English sentence the code writes is listed here as its message id; a stored text
# that matches one whole is shown as that message in the reader's language, its parts
# (names, codes, comments) as they were, or translated where they are known words.

#: Message ids of sentences stored as English text (``%(name)s`` parts match any text).
STORED_SENTENCES = (
    "New task: %(step)s",
    "%(step)s: %(outcome)s by %(who)s",
    "%(title)s: completed",
    "Kick-off on %(day)s",
    "Kick-off (demo data)",
    "Closure started by %(pm)s",
    "Acceptance refused by %(who)s: %(comment)s",
    "Deliverables fixed: %(notes)s",
    "Withdrawn by %(who)s: %(reason)s",
    "Response plan approved: %(comment)s",
    "Response plan approved.",
    "Response plan approved: %(comment)s (Steering committee: no level decided within the "
    "decision window.)",
    "Response plan approved. (Steering committee: no level decided within the decision "
    "window.)",
    "Acceptance signed off by %(sponsor)s (round %(round)s). Cost variance %(pct)s%% "
    "(%(reason)s) accepted by %(finance)s. Lessons: %(answered)s of %(asked)s answered, "
    "%(published)s published.",
    "Acceptance signed off by %(sponsor)s (round %(round)s). Cost variance %(pct)s%% "
    "(%(reason)s) accepted by %(finance)s after the PM's explanation. Lessons: "
    "%(answered)s of %(asked)s answered, %(published)s published.",
)
_PART = re.compile(r"%\((\w+)\)s|%%")


def _pattern(msgid: str) -> re.Pattern[str]:
    out, at = [], 0
    for m in _PART.finditer(msgid):
        out.append(re.escape(msgid[at:m.start()]))
        out.append("%" if m.group(0) == "%%" else f"(?P<{m.group(1)}>.+?)")
        at = m.end()
    out.append(re.escape(msgid[at:]))
    return re.compile("".join(out), re.DOTALL)


_PATTERNS = tuple((msgid, _pattern(msgid)) for msgid in STORED_SENTENCES)


def stored_text(text: Any) -> str:
    """An English sentence stored as text, in the reader's language when it is one the
    code writes (:data:`STORED_SENTENCES`); any other text as it is."""
    text = "" if text is None else str(text)
    if not text or _language() == "en":
        return text
    for msgid, pattern in _PATTERNS:
        found = pattern.fullmatch(text)
        if found:
            return render(msgid, {k: {"text": v} for k, v in found.groupdict().items()}, text)
    return text


def note_title(note: Any) -> str:
    """A notification's title in the reader's language (old rows: their stored text)."""
    message = getattr(note, "message", None) or {}
    return render(message.get("title"), message.get("params"), stored_text(note.title))


def note_body(note: Any) -> str:
    """A notification's body in the reader's language (old rows: their stored text)."""
    message = getattr(note, "message", None) or {}
    return render(message.get("body"), message.get("params"), stored_text(note.body))


def service_notes(detail: dict[str, Any] | None) -> list[str]:
    """A service step's audit lines in the reader's language: ``note_keys`` when every
    line has one, else the English ``notes`` as stored (rows from before)."""
    detail = detail or {}
    notes = list(detail.get("notes") or [])
    keys = detail.get("note_keys") or []
    if keys and len(keys) == len(notes):
        return [render(k.get("msg"), k.get("params"), n) for k, n in zip(keys, notes, strict=True)]
    return [stored_text(n) for n in notes]


def wait_name(w: Any) -> Markup:
    """What a timer or reminder a step waits on is, in the reader's language."""
    return wait_kind_name(w.kind, w.name)


def wait_kind_name(kind: str, name: str) -> Markup:
    """:func:`wait_name` of a wait of ``kind`` named ``name``."""
    if kind == "sla_reminder":
        return _("SLA reached: whoever holds the step is reminded")
    if kind == "sla_escalation":
        return _("Still open: escalated to the PMO head")
    return escape(label(name))


def wait_line(w: Any, name: Markup | None = None) -> Markup:
    """One line under a step: when its next timer fires, what it does, where it leads
    (``name``: :func:`wait_name` of ``w``, when the caller has it already)."""
    html = ('<span class="d-block small text-secondary wait-next" data-testid="wait-next">'
            f'<i class="bi bi-alarm" aria-hidden="true"></i> {escape(dt(w.due_at))}: '
            f"{escape(wait_name(w) if name is None else name)}")
    if w.then:
        html += f" → {escape(label(w.then))}"
    if w.attached_to and w.interrupting:
        html += f" · {_('the step closes')}"
    return Markup(html + "</span>")


def install(app: Flask) -> None:
    """Register the filters ``label``, ``note_title``, ``note_body``, ``service_notes``,
    ``stored_text`` and the globals ``wait_name``, ``wait_line``."""
    for name, func in {"label": label, "note_title": note_title, "note_body": note_body,
                       "service_notes": service_notes, "stored_text": stored_text}.items():
        app.add_template_filter(func, name)
    app.add_template_global(wait_name, "wait_name_of")
    app.add_template_global(wait_line, "wait_line_of")
