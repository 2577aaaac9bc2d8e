"""From a submitted HTML form to the JSON its schema expects.

Field names are dotted paths, the same paths the engine reports errors on:
``budget.amount``, ``budget.currency`` (money), ``items.0.name`` (rows), ``tags``.

- Numbers are converted only where the schema says ``number``/``integer`` (also inside
  enums, rows and lists); a value that does not convert is passed on unchanged so the
  schema check reports it beside its field and the input is kept.
- Empty fields are omitted (a required one then gets "This field is required.").
- A checkbox is ``true`` when ticked, else ``false``.
- Money amounts stay decimal strings; spaces and thousands separators are dropped.
- Rows: every ``name.N.*`` index is read in order; empty rows are dropped, so the row
  numbers of the result (and of any error) count only the rows that were filled in.
- ``readOnly`` fields, ``file`` fields and the reserved names are never read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.datastructures import MultiDict

from webui.schema import items_of, properties, type_of, widget_of

_EMPTY = object()
TRUE_VALUES = frozenset({"on", "true", "1", "yes"})
_TAG_SPLIT = re.compile(r"[,，;；\n]")


def parse_form(schema: Mapping[str, Any] | None, form: MultiDict[str, str] | Mapping
               ) -> dict[str, Any]:
    """The JSON object ``form`` describes under ``schema`` (no schema: nothing)."""
    if not isinstance(form, MultiDict):
        form = MultiDict(form)
    return _parse_object(schema or {}, form, "")


def _parse_object(schema: Mapping[str, Any], form: MultiDict, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, prop in properties(schema).items():
        if prop.get("readOnly"):
            continue
        value = _parse_value(prop, form, prefix + key)
        if value is not _EMPTY:
            out[key] = value
    return out


def _parse_value(prop: Mapping[str, Any], form: MultiDict, name: str) -> Any:
    widget = widget_of(prop)
    if widget == "file":
        return _EMPTY
    if widget == "checkbox":
        return (form.get(name) or "").strip().lower() in TRUE_VALUES
    if widget == "money":
        return _parse_money(prop, form, name)
    if widget == "object":
        return _parse_object(prop, form, name + ".") or _EMPTY
    if widget == "rows":
        return _parse_rows(prop, form, name)
    if widget == "multiselect":
        items = items_of(prop)
        values = [coerce(items, v.strip()) for v in form.getlist(name) if v.strip()]
        return values or _EMPTY
    if widget == "tags":
        items = items_of(prop)
        parts = [p.strip() for p in _TAG_SPLIT.split(form.get(name) or "")]
        return [coerce(items, p) for p in parts if p] or _EMPTY
    raw = (form.get(name) or "").strip()
    return coerce(prop, raw) if raw else _EMPTY


def _parse_money(prop: Mapping[str, Any], form: MultiDict, name: str) -> Any:
    sub = properties(prop)
    amount = re.sub(r"[\s,_]", "", form.get(name + ".amount") or "")
    if not amount:
        return _EMPTY
    out: dict[str, Any] = {"amount": coerce(sub.get("amount") or {}, amount)}
    currency = (form.get(name + ".currency") or "").strip().upper()
    if currency:
        out["currency"] = currency
    return out


def _parse_rows(prop: Mapping[str, Any], form: MultiDict, name: str) -> Any:
    items = items_of(prop)
    head = name + "."
    indexes = sorted({int(k[len(head):].split(".", 1)[0]) for k in form
                      if k.startswith(head) and k[len(head):].split(".", 1)[0].isdigit()})
    rows = [_parse_object(items, form, f"{name}.{i}.") for i in indexes]
    kept = [row for row in rows if any(v is not False for v in row.values())]
    return kept or _EMPTY


def coerce(prop: Mapping[str, Any], raw: str) -> Any:
    """``raw`` as the schema's number or integer when it is one, else unchanged."""
    kind = type_of(prop)
    if kind not in ("number", "integer"):
        return raw
    try:
        number = Decimal(raw.replace(" ", ""))
    except InvalidOperation:
        return raw
    if not number.is_finite():
        return raw
    if number == number.to_integral_value():
        return int(number)
    return raw if kind == "integer" else float(number)
