"""The read-only summary of an instance's data: labels and formatted values, not JSON.

Files (``{"attachment_id", "name"}``) are download links, as safe markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from flask_babel import gettext
from markupsafe import Markup

from engine.reads import HIDDEN_KEYS, Directory
from webui.formatting import amount, number
from webui.formview import label_of, option_label
from webui.schema import enum_values, items_of, properties, widget_of


@dataclass
class Item:
    """One labelled value; ``table`` for rows, ``items`` for lists."""

    key: str
    label: str
    text: str = ""
    items: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    table: list[list[str]] = field(default_factory=list)
    long: bool = False


def summarize(data: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]],
              locale: str, people: Directory | None = None) -> list[Item]:
    """Every visible data value, in form order first, then the rest by name."""
    keys = [k for k in fields if k in data]
    keys += sorted(k for k in data if k not in fields)
    return [_item(k, fields.get(k) or {}, data[k], locale, people)
            for k in keys if k not in HIDDEN_KEYS and data[k] not in (None, "", [], {})]


def _item(key: str, prop: Mapping[str, Any], value: Any, locale: str,
          people: Directory | None) -> Item:
    item = Item(key, label_of(prop, key, locale))
    widget = widget_of(prop) if prop else _guess(value)
    if widget == "rows" and isinstance(value, list):
        cols = properties(items_of(prop)) or _columns(value)
        item.columns = [label_of(p, k, locale) for k, p in cols.items()]
        item.table = [[format_value(cols[k], row.get(k), locale, people) for k in cols]
                      for row in value if isinstance(row, Mapping)]
    elif isinstance(value, list):
        item.items = [format_value(items_of(prop), v, locale, people) for v in value]
    else:
        item.text = format_value(prop, value, locale, people)
        item.long = not isinstance(item.text, Markup) and (
            widget == "textarea" or len(item.text) > 80)
    return item


def _guess(value: Any) -> str:
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        return "rows"
    return "text"


def _columns(rows: list[Any]) -> dict[str, dict[str, Any]]:
    cols: dict[str, dict[str, Any]] = {}
    for row in rows:
        for k in row if isinstance(row, Mapping) else ():
            cols.setdefault(k, {})
    return cols


def format_value(prop: Mapping[str, Any], value: Any, locale: str,
                 people: Directory | None = None) -> str:
    """One value as text, the way its widget means it."""
    if value is None or value == "":
        return "—"
    widget = widget_of(prop) if prop else ""
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if widget == "money" or (isinstance(value, Mapping) and set(value) == {"amount", "currency"}):
        return f"{value.get('currency', '')} {amount(value.get('amount', ''))}".strip()
    if isinstance(value, Mapping) and "attachment_id" in value:
        return attachment_link(value)
    if isinstance(value, Mapping):
        sub = properties(prop)
        return _join("; ", [_join(": ", [label_of(sub.get(k) or {}, k, locale),
                                          format_value(sub.get(k) or {}, v, locale, people)])
                            for k, v in value.items()])
    if isinstance(value, list):
        return _join(", ", [format_value(items_of(prop), v, locale, people) for v in value])
    if enum_values(prop) and value in enum_values(prop):
        return option_label(prop, value, locale)
    if widget == "user" and people is not None:
        return people.name(str(value))
    if isinstance(value, int | float):
        return number(value)
    return str(value)


def attachment_link(value: Mapping[str, Any]) -> str:
    """A file value as a download link (its name alone when the id is not a file id)."""
    name = str(value.get("name") or value.get("attachment_id"))
    ident = value.get("attachment_id")
    if not isinstance(ident, int) or isinstance(ident, bool) or ident <= 0:
        return name
    return Markup('<a href="{}" data-testid="attachment-link"><i class="bi bi-paperclip me-1" '
                  'aria-hidden="true"></i>{}</a>').format(
        url_for("tasks.attachment", attachment_id=ident), name)


def _join(sep: str, parts: list[str]) -> str:
    """``sep.join(parts)``, kept as markup (the rest escaped) when a part is a link."""
    if any(isinstance(p, Markup) for p in parts):
        return Markup(sep).join(parts)
    return sep.join(parts)


def outcome_label(fields: Mapping[str, Mapping[str, Any]], value: str) -> str:
    """An outcome (``accept``) as the form that produced it labels it."""
    from webui.context import locale

    prop = fields.get("decision") or fields.get("outcome") or {}
    return option_label(prop, value, locale())
