"""What the form conventions of ``docs/forms.md`` say about one JSON Schema property.

Shared by the renderer (:mod:`webui.formview`), the parser (:mod:`webui.formparse`) and
the read-only summary (:mod:`webui.summary`), so all three agree on every widget.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Names the engine reserves; never rendered, never submitted.
RESERVED = frozenset({"initiator", "typename"})
WIDGETS = frozenset({"text", "textarea", "number", "money", "date", "select", "radio",
                     "checkbox", "user", "project", "rows", "file", "multiselect", "tags",
                     "object"})
#: Widgets that pick several values: checkboxes, one value each (``name`` repeated).
MULTI_WIDGETS = frozenset({"multiselect", "users", "projects"})
#: Currencies offered when a money field's schema does not list its own.
DEFAULT_CURRENCIES = ("CNY", "USD", "EUR", "HKD", "JPY", "GBP")


def properties(schema: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The object properties of ``schema`` in screen order (non-dicts skipped)."""
    props = (schema or {}).get("properties") or {}
    return {k: v for k, v in props.items() if isinstance(v, dict) and k not in RESERVED}


def required(schema: Mapping[str, Any] | None) -> frozenset[str]:
    """Property names the schema always requires."""
    return frozenset((schema or {}).get("required") or ())


def type_of(prop: Mapping[str, Any]) -> str | None:
    """The JSON type (the first non-null one of a type list)."""
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind


def items_of(prop: Mapping[str, Any]) -> dict[str, Any]:
    """The item schema of an array property ({} if none)."""
    items = prop.get("items")
    return items if isinstance(items, dict) else {}


def widget_of(prop: Mapping[str, Any]) -> str:
    """The widget a property renders with: ``x-widget`` if known, else from its type."""
    explicit = prop.get("x-widget")
    kind = type_of(prop)
    if kind == "array" and explicit in ("user", "project"):
        return explicit + "s"  # several people or projects: ``users``, ``projects``
    if prop.get("x-options-from") and explicit in (None, "select", "tags"):
        return "multiselect" if kind == "array" else "select"
    if explicit in WIDGETS:
        if explicit == "select" and kind == "array":
            return "multiselect"
        return explicit
    if kind == "object":
        props = properties(prop)
        return "money" if set(props) == {"amount", "currency"} else "object"
    if kind == "array":
        items = items_of(prop)
        if type_of(items) == "object":
            return "rows"
        return "multiselect" if "enum" in items else "tags"
    if kind == "boolean":
        return "checkbox"
    if "enum" in prop:
        return "radio" if len(prop["enum"]) <= 4 else "select"
    if kind in ("number", "integer"):
        return "number"
    if prop.get("format") == "date":
        return "date"
    if isinstance(prop.get("maxLength"), int) and prop["maxLength"] > 200:
        return "textarea"
    return "text"


def enum_values(prop: Mapping[str, Any]) -> list[Any]:
    """The allowed values of an enum (or of an array's item enum)."""
    if "enum" in prop:
        return list(prop["enum"])
    return list(items_of(prop).get("enum") or ())


def currencies(prop: Mapping[str, Any]) -> list[str]:
    """Currencies a money field offers."""
    currency = properties(prop).get("currency") or {}
    return [str(c) for c in currency.get("enum") or DEFAULT_CURRENCIES]


def localized(prop: Mapping[str, Any], key: str, locale: str) -> str | None:
    """``prop[key]`` in ``locale`` (``x-<key>-zh`` for Chinese), or None."""
    if locale == "zh" and prop.get(f"x-{key}-zh"):
        return str(prop[f"x-{key}-zh"])
    value = prop.get(key)
    return str(value) if value else None


def enum_title(prop: Mapping[str, Any], value: Any, locale: str) -> str | None:
    """The ``x-enum-titles`` label of one enum value in ``locale``, or None."""
    titles = prop.get("x-enum-titles") or items_of(prop).get("x-enum-titles") or {}
    found = titles.get(str(value)) if isinstance(titles, dict) else None
    if isinstance(found, str):
        return found
    if isinstance(found, list) and found:
        return str(found[1] if locale == "zh" and len(found) > 1 else found[0])
    return None


def humanize(name: str) -> str:
    """A label from a field name: ``planned_start`` -> ``Planned start``."""
    text = name.replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]
