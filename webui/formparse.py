"""From a submitted HTML form to the JSON its schema expects.

Field names are dotted paths, the same paths the engine reports errors on:
``budget.amount``, ``budget.currency`` (money), ``items.0.name`` (rows), ``tags``.

- Numbers are converted only where the schema says ``number``/``integer`` (also inside
  enums, rows and lists); a value that does not convert is passed on unchanged so the
  schema check reports it beside its field and the input is kept.
- Empty fields are omitted (a required one then gets "This field is required.").
- A checkbox is ``true`` when ticked, else ``false``.
- Several choices (a multi-select, several people or projects) are the ticked values.
- Money amounts stay decimal strings; spaces and thousands separators are dropped.
- Rows: every ``name.N.*`` index is read in order; empty rows are dropped, so the row
  numbers of the result (and of any error) count only the rows that were filled in.
- ``file`` fields read the files kept from an earlier submission: hidden
  ``name.attachment_id`` and ``name.name`` (``name.N.*`` for a list of files), dropped when
  ``name.remove`` is ticked.  New uploads are stored by the route, which adds them to the
  form with :func:`with_uploads` before parsing; :func:`upload_field` says which file
  inputs it may accept.
- ``readOnly`` fields and the reserved names are never read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.datastructures import MultiDict

from webui.schema import MULTI_WIDGETS, items_of, properties, type_of, widget_of

_EMPTY = object()
TRUE_VALUES = frozenset({"on", "true", "1", "yes"})
_TAG_SPLIT = re.compile(r"[,，;；\n]")
_ID = re.compile(r"[0-9]{1,18}")


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
        return _parse_files(prop, form, name)
    if widget == "checkbox":
        return (form.get(name) or "").strip().lower() in TRUE_VALUES
    if widget == "money":
        return _parse_money(prop, form, name)
    if widget == "object":
        return _parse_object(prop, form, name + ".") or _EMPTY
    if widget == "rows":
        return _parse_rows(prop, form, name)
    if widget in MULTI_WIDGETS:
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


def _indexes(form: MultiDict, name: str) -> list[int]:
    """The row numbers N of every ``name.N.*`` key, in order."""
    head = name + "."
    return sorted({int(k[len(head):].split(".", 1)[0]) for k in form
                   if k.startswith(head) and k[len(head):].split(".", 1)[0].isdigit()})


def _parse_rows(prop: Mapping[str, Any], form: MultiDict, name: str) -> Any:
    items = items_of(prop)
    rows = [_parse_object(items, form, f"{name}.{i}.") for i in _indexes(form, name)]
    kept = [row for row in rows if any(v is not False for v in row.values())]
    return kept or _EMPTY


def _parse_files(prop: Mapping[str, Any], form: MultiDict, name: str) -> Any:
    if type_of(prop) == "array":
        kept = [_kept_file(form, f"{name}.{i}") for i in _indexes(form, name)]
        return [f for f in kept if f is not None] or _EMPTY
    found = _kept_file(form, name)
    return _EMPTY if found is None else found


def _kept_file(form: MultiDict, name: str) -> dict[str, Any] | None:
    raw = (form.get(name + ".attachment_id") or "").strip()
    removed = (form.get(name + ".remove") or "").strip().lower() in TRUE_VALUES
    if removed or not _ID.fullmatch(raw):
        return None
    return {"attachment_id": int(raw), "name": (form.get(name + ".name") or "").strip()
            or "file"}


def upload_field(schema: Mapping[str, Any] | None, name: str) -> dict[str, Any] | None:
    """The editable ``file`` property the input ``name`` belongs to (rows too), or None."""
    prop: Mapping[str, Any] = schema or {}
    for part in name.split("."):
        if part.isdigit() and type_of(prop) == "array" and widget_of(prop) == "rows":
            prop = items_of(prop)
            continue
        found = properties(prop).get(part)
        if found is None or found.get("readOnly"):
            return None
        prop = found
    return dict(prop) if widget_of(prop) == "file" and prop is not schema else None


def with_uploads(form: MultiDict[str, str] | Mapping,
                 uploads: Mapping[str, list[dict[str, Any]]],
                 multiple: Mapping[str, bool]) -> MultiDict[str, str]:
    """``form`` with newly stored files added as kept ones (a single file replaces).

    ``uploads`` maps an input name to ``{"attachment_id", "name"}`` values; ``multiple``
    says which names hold a list of files.
    """
    out = MultiDict(form)
    for name, files in uploads.items():
        if not files:
            continue
        if multiple.get(name):
            start = max(_indexes(out, name), default=-1) + 1
            for i, f in enumerate(files, start):
                out.setlist(f"{name}.{i}.attachment_id", [str(f["attachment_id"])])
                out.setlist(f"{name}.{i}.name", [str(f["name"])])
        else:
            out.setlist(name + ".attachment_id", [str(files[-1]["attachment_id"])])
            out.setlist(name + ".name", [str(files[-1]["name"])])
            out.poplist(name + ".remove")
    return out


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
