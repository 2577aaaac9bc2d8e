"""Validate submitted task data against the task's JSON Schema, with errors per field."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any, cast

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError

from engine.date_range import DATE_RANGE, date_bound
from engine.errors import CODES, FieldError, InvalidData
from engine.spiff.serializer import find_unsafe_data

_FORMATS = FormatChecker()


def _day(instance: Any) -> date | None:
    if not isinstance(instance, str):
        return None
    try:
        return date.fromisoformat(instance) if len(instance) == 10 else None
    except ValueError:
        return None


def _range_keyword(before: bool, today: date) -> Any:
    """A jsonschema keyword refusing a day before (``x-earliest``) or after the bound; the
    error's message is the bound as an ISO date (turned into a message by field_error)."""

    def check(validator: Any, value: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
        day, bound = _day(instance), date_bound(value, today)
        if day is None or bound is None:
            return
        if (day < bound) if before else (day > bound):
            yield ValidationError(bound.isoformat())

    return check


_CLASSES: dict[date, Any] = {}


def _validator_class(today: date) -> Any:
    """Draft 2020-12 with the date range keywords, for the day ``today``."""
    found = _CLASSES.get(today)
    if found is None:
        if len(_CLASSES) > 8:
            _CLASSES.clear()
        found = validators.extend(
            Draft202012Validator,
            {
                "x-earliest": _range_keyword(True, today),
                "x-latest": _range_keyword(False, today),
            },
        )
        _CLASSES[today] = found
    return found


def field_path(error: ValidationError, missing: str | None = None) -> str:
    """Dotted path of the field an error is about (``budget.amount``, ``items.2.name``);
    for ``required``, ``missing`` names the absent property."""
    parts = [str(p) for p in error.absolute_path]
    if missing is not None:
        parts.append(missing)
    return ".".join(parts)


def _missing_properties(error: ValidationError) -> list[str]:
    """The properties a ``required`` error is about: required, but not in the instance."""
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    # the schema's "required" list (jsonschema types it as possibly unset)
    required = cast("list[Any]", error.validator_value or [])
    return [str(p) for p in required if p not in instance]


def _property_schema(schema: Mapping[str, Any], path: str) -> Mapping[str, Any] | None:
    """The schema of a (dotted) field path, following properties/items; None if unknown."""
    node: Any = schema
    for part in path.split(".") if path else []:
        if not isinstance(node, Mapping):
            return None
        if part.isdigit() and isinstance(node.get("items"), Mapping):
            node = node["items"]
        else:
            node = (node.get("properties") or {}).get(part)
    return node if isinstance(node, Mapping) else None


def apply_defaults(schema: Mapping[str, Any] | None, data: dict[str, Any]) -> dict[str, Any]:
    """Fill top-level fields the submission left out with their schema ``default``."""
    for name, prop in ((schema or {}).get("properties") or {}).items():
        if name not in data and isinstance(prop, Mapping) and "default" in prop:
            data[name] = copy.deepcopy(prop["default"])
    return data


#: Keywords whose error names a limit (``validator_value``) -> English template.
_LIMITS = {
    "minimum": "Must be at least {}.",
    "exclusiveMinimum": "Must be greater than {}.",
    "maximum": "Must be at most {}.",
    "exclusiveMaximum": "Must be less than {}.",
    "minLength": "Must be at least {} characters.",
    "maxLength": "Must be at most {} characters.",
    "minItems": "Choose at least {}.",
    "maxItems": "Choose at most {}.",
    "multipleOf": "Must be a multiple of {}.",
}


def _custom(schema: Any) -> str | None:
    """A schema's own ``errorMessage`` for its field, if it gives one."""
    custom = schema.get("errorMessage") if isinstance(schema, Mapping) else None
    return str(custom) if custom else None


def field_error(
    error: ValidationError, schema: Mapping[str, Any], missing: str | None = None
) -> FieldError:
    """One jsonschema error as a :class:`FieldError`: code ``form.<keyword>`` and params
    from the error's keyword, value and path (never from its English message)."""
    keyword = str(error.validator)
    path = field_path(error, missing)
    params: dict[str, Any] = {
        "field": path,
        "pointer": "/" + path.replace(".", "/") if path else "",
    }
    value = error.validator_value
    if keyword == "required" or (keyword == "minLength" and value == 1):
        custom = _custom(_property_schema(schema, path)) if keyword == "required" else None
        if custom:
            params["custom"] = custom
        return FieldError(custom or "This field is required.", "form.required", **params)
    if keyword == "enum":
        value = cast("list[Any]", value)  # the schema's "enum" list
        allowed = ", ".join(str(v) for v in value)
        return FieldError(
            f"Choose one of: {allowed}.", "form.enum", allowed=allowed, values=list(value), **params
        )
    if keyword in _LIMITS:
        return FieldError(_LIMITS[keyword].format(value), f"form.{keyword}", limit=value, **params)
    if keyword == "type":
        return FieldError(f"Must be a {value}.", "form.type", expected=value, **params)
    if keyword in DATE_RANGE:  # the message of a range error is the bound (ISO date)
        word = "after" if keyword == "x-earliest" else "before"
        return FieldError(
            f"Must be on or {word} {error.message}.",
            DATE_RANGE[keyword],
            limit=error.message,
            **params,
        )
    if keyword == "format":
        return FieldError(f"Must be a valid {value}.", "form.format", format=value, **params)
    custom = _custom(error.schema)
    if custom:
        params["custom"] = custom
    if keyword == "pattern":
        return FieldError(
            custom or "Has the wrong format.", "form.pattern", pattern=value, **params
        )
    code = f"form.{keyword}" if f"form.{keyword}" in CODES else "form.invalid"
    return FieldError(custom or error.message, code, keyword=keyword, **params)


_VALIDATORS: dict[tuple[int, date], tuple[Mapping[str, Any], Any]] = {}


def _validator(schema: Mapping[str, Any], today: date) -> Any:
    """A validator per schema object and day (deployed schemas are immutable and cached)."""
    hit = _VALIDATORS.get((id(schema), today))
    if hit is not None and hit[0] is schema:
        return hit[1]
    validator = _validator_class(today)(schema, format_checker=_FORMATS)
    if len(_VALIDATORS) > 512:
        _VALIDATORS.clear()
    _VALIDATORS[(id(schema), today)] = (schema, validator)
    return validator


def validate_form(
    schema: Mapping[str, Any] | None, data: Mapping[str, Any], today: date | None = None
) -> None:
    """Raise :class:`InvalidData` mapping each bad field to a message; return if all is well.

    Data must be plain JSON whatever the schema says (no reserved keys, finite numbers).
    ``today`` (the site's day; default: the machine's) anchors relative date ranges.
    """
    if not isinstance(data, Mapping):
        raise InvalidData(
            {
                "": FieldError(
                    "The submitted data must be a JSON object.", "form.not_object", field=""
                )
            }
        )
    unsafe = dict(find_unsafe_data(dict(data), "data"))
    if unsafe:
        raise InvalidData(unsafe)
    if not schema:
        return
    validator = _validator(schema, today or date.today())
    errors: dict[str, FieldError] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        for missing in _missing_properties(error) if error.validator == "required" else [None]:
            found = field_error(error, schema, missing)
            errors.setdefault(found.params["field"], found)
    if errors:
        raise InvalidData(errors)
