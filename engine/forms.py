"""Validate submitted task data against the task's JSON Schema, with errors per field."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, cast

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from engine.errors import InvalidData
from engine.spiff.serializer import find_unsafe_data

_FORMATS = FormatChecker()


def field_path(error: ValidationError) -> str:
    """Dotted path of the field an error is about (``budget.amount``, ``items.2.name``)."""
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = _missing_property(error)
        if missing:
            parts.append(missing)
    return ".".join(parts)


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


def _missing_property(error: ValidationError) -> str | None:
    # "'comment' is a required property" -> comment
    message = error.message
    if message.startswith("'") and "' is a required property" in message:
        return message[1 : message.index("' is a required property")]
    return None


def _friendly(error: ValidationError, schema: Mapping[str, Any]) -> str:
    if error.validator == "required":
        own = _property_schema(schema, field_path(error))
        custom = own.get("errorMessage") if isinstance(own, Mapping) else None
        return custom or "This field is required."
    if error.validator == "enum":
        # the schema's "enum" list (jsonschema types it as possibly unset)
        allowed = ", ".join(str(v) for v in cast("list[Any]", error.validator_value))
        return f"Choose one of: {allowed}."
    if error.validator == "minimum":
        return f"Must be at least {error.validator_value}."
    if error.validator == "exclusiveMinimum":
        return f"Must be greater than {error.validator_value}."
    if error.validator == "maximum":
        return f"Must be at most {error.validator_value}."
    if error.validator == "exclusiveMaximum":
        return f"Must be less than {error.validator_value}."
    if error.validator == "minLength":
        if error.validator_value == 1:
            return "This field is required."
        return f"Must be at least {error.validator_value} characters."
    if error.validator == "maxLength":
        return f"Must be at most {error.validator_value} characters."
    if error.validator == "type":
        return f"Must be a {error.validator_value}."
    if error.validator == "format":
        return f"Must be a valid {error.validator_value}."
    if error.validator == "pattern":
        custom = error.schema.get("errorMessage") if isinstance(error.schema, dict) else None
        return custom or "Has the wrong format."
    custom = error.schema.get("errorMessage") if isinstance(error.schema, dict) else None
    return custom or error.message


_VALIDATORS: dict[int, tuple[Mapping[str, Any], Draft202012Validator]] = {}


def _validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    """A validator per schema object (deployed schemas are immutable and cached)."""
    hit = _VALIDATORS.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    validator = Draft202012Validator(schema, format_checker=_FORMATS)
    if len(_VALIDATORS) > 512:
        _VALIDATORS.clear()
    _VALIDATORS[id(schema)] = (schema, validator)
    return validator


def validate_form(schema: Mapping[str, Any] | None, data: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidData` mapping each bad field to a message; return if all is well.

    Data must be plain JSON whatever the schema says (no reserved keys, finite numbers).
    """
    if not isinstance(data, Mapping):
        raise InvalidData({"": "The submitted data must be a JSON object."})
    unsafe = dict(find_unsafe_data(dict(data), "data"))
    if unsafe:
        raise InvalidData(unsafe)
    if not schema:
        return
    validator = _validator(schema)
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = field_path(error)
        errors.setdefault(path, _friendly(error, schema))
    if errors:
        raise InvalidData(errors)
