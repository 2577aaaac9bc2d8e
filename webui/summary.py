"""The read-only summary of an instance's data: labels and formatted values, not JSON.

Files (``{"attachment_id", "name"}``) are download links, as safe markup.  Values a form
of the process asked for come first; what the process recorded by itself (service
results, decision-table outputs) is marked ``internal`` so pages can tuck it away.
Projects are shown as ``PRJ-2026-0001 — Title`` (given ``projects``), people by name,
ISO timestamps in the site's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import url_for
from markupsafe import Markup

from engine.pages import HIDDEN_KEYS, Directory
from webui.formatting import dt, money, number
from webui.formview import label_of, option_label
from webui.i18n import gettext
from webui.schema import enum_values, items_of, properties, widget_of

_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
#: Rows with more columns than this are shown one record under the other, not as a table.
WIDE_TABLE = 4


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
    internal: bool = False
    children: list[Item] = field(default_factory=list)

    @property
    def wide(self) -> bool:
        """Rows too wide for a table: shown as one block per row."""
        return len(self.columns) > WIDE_TABLE


def summarize(data: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]],
              locale: str, people: Directory | None = None,
              projects: Mapping[int, str] | None = None, *,
              hidden: frozenset[str] = HIDDEN_KEYS) -> list[Item]:
    """Every visible data value (not in ``hidden``), in form order first, then the rest by
    name (internal)."""
    keys = [k for k in fields if k in data]
    keys += sorted(k for k in data if k not in fields)
    out = []
    for k in keys:
        if k in hidden or data[k] in (None, "", [], {}):
            continue
        item = make_item(k, fields.get(k) or {}, data[k], locale, people, projects,
                         currency_of(data))
        item.internal = k not in fields
        out.append(item)
    return out


def make_item(key: str, prop: Mapping[str, Any], value: Any, locale: str,
              people: Directory | None = None,
              projects: Mapping[int, str] | None = None, currency: str | None = None) -> Item:
    """One value as a labelled :class:`Item` (a table for rows, a list for arrays);
    ``currency``: the request's currency, for the ``amount`` column of rows."""
    item = Item(key, label_of(prop, key, locale))
    widget = widget_of(prop) if prop else _guess(value)
    if widget == "rows" and isinstance(value, list):
        cols = properties(items_of(prop)) or _columns(value)
        item.columns = [label_of(p, k, locale) for k, p in cols.items()]
        item.table = [[_cell(k, cols[k], row.get(k), locale, people, projects, currency)
                       for k in cols] for row in value if isinstance(row, Mapping)]
    elif isinstance(value, list):
        each = item_prop(prop)
        item.items = [format_value(each, v, locale, people, projects) for v in value]
    elif widget == "object" and isinstance(value, Mapping) and "attachment_id" not in value:
        sub = properties(prop)
        keys = [k for k in sub if k in value] if sub else sorted(value)
        item.children = [make_item(k, sub.get(k) or {}, value[k], locale, people, projects)
                         for k in keys if value[k] not in (None, "", [], {})]
        item.text = "" if item.children else "—"
    else:
        item.text = format_value(prop, value, locale, people, projects)
        item.long = not isinstance(item.text, Markup) and (
            widget == "textarea" or len(item.text) > 80)
    return item


def item_prop(prop: Mapping[str, Any]) -> Mapping[str, Any]:
    """The schema of one element of an array (several people: one person, and so on)."""
    widget = widget_of(prop)
    if widget in ("users", "projects"):
        return {**items_of(prop), "x-widget": widget[:-1]}
    return items_of(prop)


def project_ids(data: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]]
                ) -> set[int]:
    """Ids of the projects the project fields of ``data`` name."""
    found: set[int] = set()
    for key, prop in fields.items():
        if widget_of(prop) not in ("project", "projects"):
            continue
        value = data.get(key)
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, int) and not isinstance(v, bool):
                found.add(v)
    return found


def currency_of(data: Mapping[str, Any]) -> str | None:
    """The currency of the first money value in ``data`` (a budget's rows are in it)."""
    for value in data.values():
        if isinstance(value, Mapping) and set(value) == {"amount", "currency"}:
            return str(value["currency"]) if value["currency"] else None
    return None


def _cell(key: str, prop: Mapping[str, Any], value: Any, locale: str,
          people: Directory | None, projects: Mapping[int, str] | None,
          currency: str | None) -> str:
    """One cell of rows; an ``amount`` column (a decimal) as money in ``currency``."""
    if key == "amount" and isinstance(value, str | int | float) and _DECIMAL.match(
            str(value)):
        return money(value, currency)
    return format_value(prop, value, locale, people, projects)


def _guess(value: Any) -> str:
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        return "rows"
    if isinstance(value, Mapping) and set(value) != {"amount", "currency"}:
        return "object"
    return "text"


def _columns(rows: Iterable[Any]) -> dict[str, dict[str, Any]]:
    cols: dict[str, dict[str, Any]] = {}
    for row in rows:
        for k in row if isinstance(row, Mapping) else ():
            cols.setdefault(k, {})
    return cols


def format_value(prop: Mapping[str, Any], value: Any, locale: str,
                 people: Directory | None = None,
                 projects: Mapping[int, str] | None = None) -> str:
    """One value as text, the way its widget means it."""
    if value is None or value == "":
        return "—"
    widget = widget_of(prop) if prop else ""
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if widget == "money" or (isinstance(value, Mapping) and set(value) == {"amount", "currency"}):
        return money(value)
    if isinstance(value, Mapping) and "attachment_id" in value:
        return attachment_link(value)
    if isinstance(value, Mapping):
        sub = properties(prop)
        return _join("; ", [_join(": ", [label_of(sub.get(k) or {}, k, locale),
                                          format_value(sub.get(k) or {}, v, locale, people,
                                                       projects)])
                            for k, v in value.items()])
    if isinstance(value, list):
        each = item_prop(prop)
        return _join(", ", [format_value(each, v, locale, people, projects) for v in value])
    if enum_values(prop) and value in enum_values(prop):
        return option_label(prop, value, locale)
    if widget == "user" and people is not None:
        return people.name(str(value))
    if widget == "project" and projects is not None and value in projects:
        return projects[value]
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, str) and _TIMESTAMP.match(value):
        try:
            return dt(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return value
    return str(value)


def attachment_link(value: Mapping[str, Any]) -> str:
    """A file value as a download link (its name alone when the id is not a file id).

    A click always downloads (``download``): a page holding a form is never left for a
    file; images and PDFs still open in the browser when their address is opened.
    """
    name = str(value.get("name") or value.get("attachment_id"))
    ident = value.get("attachment_id")
    if not isinstance(ident, int) or isinstance(ident, bool) or ident <= 0:
        return name
    return Markup('<a href="{}" download data-testid="attachment-link"><i class="bi '
                  'bi-paperclip me-1" aria-hidden="true"></i>{}</a>').format(
        url_for("tasks.attachment", attachment_id=ident), name)


def _join(sep: str, parts: list[str]) -> str:
    """``sep.join(parts)``, kept as markup (the rest escaped) when a part is a link."""
    if any(isinstance(p, Markup) for p in parts):
        return Markup(sep).join(parts)
    return sep.join(parts)


def outcome_label(fields: Mapping[str, Mapping[str, Any]], value: str) -> str:
    """An outcome (``accept``) as the form that produced it labels it."""
    from webui.context import locale
    from webui.i18n import translations
    from webui.schema import enum_title

    prop = fields.get("decision") or fields.get("outcome") or {}
    found = enum_title(prop, value, locale())
    if found:
        return found
    # another form's outcome: the word as the catalog says it (``sign_off``), else humanized
    said = str(translations().ugettext(str(value)))
    return said if said != str(value) else option_label(prop, value, locale())
