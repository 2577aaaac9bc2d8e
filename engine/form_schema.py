"""Check a task form's JSON Schema as a process owner writes it (the form designer, the
API): every problem named with the JSON pointer of the part it is about.

A form is JSON Schema 2020-12 with the conventions of ``docs/forms.md``. Checked here:
the text is JSON without duplicate keys and not too large, the schema is valid against
the meta-schema, ``required`` and required-when (``if``/``then``) name fields that exist,
every choice of an ``x-enum-titles`` field has a label in English and Chinese, and a date
field's range (``x-earliest``/``x-latest``) is made of dates and does not end before it
starts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from jsonschema import Draft202012Validator

from engine.date_range import DATE_RANGE, date_bound
from engine.errors import FieldError, InvalidData

#: Longest form schema kept (characters of JSON).
MAX_FORM_CHARS = 512 * 1024
#: A form's name is the file name the diagrams refer to (``formJsonSchemaFilename``).
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,150}\.json$")

_META = Draft202012Validator(Draft202012Validator.META_SCHEMA)


def pointer(parts: list[Any] | tuple[Any, ...]) -> str:
    """RFC 6901 JSON pointer of a path (``["properties", "a/b"]`` -> ``/properties/a~1b``)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _problem(message: str, where: list[Any], *, code: str, **params: Any) -> FieldError:
    at = pointer(where)
    return FieldError(message, code, field=at, pointer=at, **params)


def check_name(name: str) -> str:
    """The form's name, or :class:`InvalidData` when it is not a form file name."""
    if not NAME.match(name or ""):
        raise InvalidData(
            {
                "name": FieldError(
                    "A form name is a file name ending in .json (letters, digits, _ . -).",
                    "form_schema.bad_name",
                    field="name",
                    name=name,
                )
            }
        )
    return name


def parse(text: str) -> dict[str, Any]:
    """The schema in ``text``: :class:`InvalidData` naming every problem by pointer
    (too large, not JSON, duplicate keys, not a valid form schema)."""
    if len(text) > MAX_FORM_CHARS:
        raise InvalidData(
            {
                "": _problem(
                    f"The form is larger than {MAX_FORM_CHARS // 1024} KB.",
                    [],
                    code="form_schema.too_large",
                    limit=MAX_FORM_CHARS,
                )
            }
        )
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        line = getattr(exc, "lineno", None)
        raise InvalidData(
            {
                "": _problem(
                    f"The form is not JSON (line {line}).",
                    [],
                    code="form_schema.not_json",
                    line=line,
                )
            }
        ) from None
    found = {d.params["pointer"]: d for d in duplicate_keys(text)}
    if isinstance(data, dict):
        for key, error in check(data).items():
            found.setdefault(key, error)
    else:
        found[""] = _problem("The form must be a JSON object.", [], code="form_schema.not_object")
    if found:
        raise InvalidData(found)
    return data


def duplicate_keys(text: str) -> list[FieldError]:
    """Every duplicate key in ``text`` with the full pointer of its second occurrence."""
    found: list[FieldError] = []

    def walk(pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
        return pairs

    raw = json.loads(text, object_pairs_hook=walk)

    def visit(node: Any, where: list[Any]) -> None:
        if isinstance(node, list) and all(
            isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in node
        ):
            seen: set[str] = set()
            for key, value in node:
                if key in seen:
                    found.append(
                        _problem(
                            f"The key {key!r} appears twice.",
                            [*where, key],
                            code="form_schema.duplicate_key",
                            key=key,
                        )
                    )
                seen.add(key)
                visit(value, [*where, key])
        elif isinstance(node, list):
            for i, item in enumerate(node):
                visit(item, [*where, i])

    visit(raw, [])
    return found


def check(schema: Mapping[str, Any]) -> dict[str, FieldError]:
    """Problems of a parsed form schema, by JSON pointer (empty: the form is fine)."""
    found: dict[str, FieldError] = {}
    for error in _META.iter_errors(schema):
        where = list(error.absolute_path)
        found.setdefault(
            pointer(where),
            _problem(
                f"Not valid JSON Schema: {error.message}",
                where,
                code="form_schema.invalid",
                keyword=str(error.validator),
            ),
        )
    if found:
        return found
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), Mapping):
        found["/type"] = _problem(
            "A form is an object with properties (type: object).",
            ["type"],
            code="form_schema.not_object",
        )
        return found
    for where, node in _objects(schema, []):
        for problem in _object_problems(node, where):
            found.setdefault(problem.params["pointer"], problem)
    return found


def _objects(node: Any, where: list[Any]) -> Iterator[tuple[list[Any], Mapping[str, Any]]]:
    """Every object schema with properties (the form, groups, money, row items)."""
    if not isinstance(node, Mapping):
        return
    if isinstance(node.get("properties"), Mapping):
        yield where, node
        for key, prop in node["properties"].items():
            yield from _objects(prop, [*where, "properties", key])
    if isinstance(node.get("items"), Mapping):
        yield from _objects(node["items"], [*where, "items"])


def _object_problems(node: Mapping[str, Any], where: list[Any]) -> Iterator[FieldError]:
    props = node["properties"]
    for i, name in enumerate(node.get("required") or ()):
        if name not in props:
            yield _unknown(name, [*where, "required", i])
    rules: list[tuple[list[Any], Mapping[str, Any]]] = [([], node)] + [
        (["allOf", i], r) for i, r in enumerate(node.get("allOf") or ()) if isinstance(r, Mapping)
    ]
    for at, rule in rules:
        cond, then = rule.get("if"), rule.get("then")
        if isinstance(cond, Mapping):
            for name in cond.get("properties") or {}:
                if name not in props:
                    yield _unknown(name, [*where, *at, "if", "properties", name])
        if isinstance(then, Mapping):
            for i, name in enumerate(then.get("required") or ()):
                if name not in props:
                    yield _unknown(name, [*where, *at, "then", "required", i])
    for key, prop in props.items():
        if isinstance(prop, Mapping):
            yield from _choice_labels(prop, [*where, "properties", key])
            yield from _date_range(prop, [*where, "properties", key], str(key))
            if isinstance(prop.get("items"), Mapping):
                yield from _choice_labels(prop["items"], [*where, "properties", key, "items"])


def _unknown(name: Any, where: list[Any]) -> FieldError:
    return _problem(
        f"No field {name!r} in this form.", where, code="form_schema.unknown_field", name=str(name)
    )


def _choice_labels(prop: Mapping[str, Any], where: list[Any]) -> Iterator[FieldError]:
    """With ``x-enum-titles``, every choice needs ``[English, Chinese]`` labels."""
    titles = prop.get("x-enum-titles")
    if titles is None or not isinstance(prop.get("enum"), list):
        return
    if not isinstance(titles, Mapping):
        titles = {}
    for value in prop["enum"]:
        label = titles.get(str(value))
        pair = label if isinstance(label, list) else []
        for index, language in ((0, "en"), (1, "zh")):
            text = pair[index] if len(pair) > index else None
            if not isinstance(text, str) or not text.strip():
                yield _problem(
                    f"The choice {value!r} has no {language} label.",
                    [*where, "x-enum-titles", str(value), index],
                    code="form_schema.choice_label",
                    value=str(value),
                    language=language,
                )


#: Two days far apart, to tell whether a range is empty whatever today is.
_DAYS = (date(2000, 1, 1), date(2100, 1, 1))


def _date_range(prop: Mapping[str, Any], where: list[Any], name: str) -> Iterator[FieldError]:
    """``x-earliest``/``x-latest``: each an ISO date, ``today`` or ``today+Nd``/``today-Nd``;
    the earliest not after the latest (known when both are dates, or both relative)."""
    bounds: dict[str, list[date]] = {}
    for keyword in DATE_RANGE:
        if keyword not in prop:
            continue
        value = prop[keyword]
        found = [date_bound(value, day) for day in _DAYS]
        if found[0] is None or found[1] is None:
            yield _problem(
                f"{name}: {keyword} must be a date (YYYY-MM-DD), today or today+Nd, not {value!r}.",
                [*where, keyword],
                code="form_schema.date_bound",
                name=name,
                value=str(value),
            )
        else:
            bounds[keyword] = [d for d in found if d is not None]
    low, high = bounds.get("x-earliest"), bounds.get("x-latest")
    # the same gap on both days: both are dates, or both relative to today
    if low and high and low[0] > high[0] and low[0] - high[0] == low[1] - high[1]:
        yield _problem(
            f"{name}: the earliest date {prop['x-earliest']} is after the latest date "
            f"{prop['x-latest']}.",
            [*where, "x-earliest"],
            code="form_schema.date_range",
            name=name,
            earliest=str(prop["x-earliest"]),
            latest=str(prop["x-latest"]),
        )
