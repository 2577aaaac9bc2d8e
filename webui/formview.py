"""From a JSON Schema, values and errors to the fields a template renders.

Implements the conventions of ``docs/forms.md``: labels and help in the user's language
(``title``/``x-title-zh``, ``description``/``x-description-zh``), ``x-widget``,
``x-enum-titles``, ``readOnly``, ``x-role`` for user pickers, property order, required
marks, money, rows (``minItems``/``maxItems``), multi-selects, tags and files
(already uploaded ones are kept as hidden inputs with a remove box).  Field names are
the dotted paths the parser reads and the engine reports errors on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.pmo_reads import ProjectChoice
from engine.reads import Person
from webui.messages import field_message, word
from webui.schema import (
    currencies,
    enum_title,
    enum_values,
    humanize,
    items_of,
    localized,
    properties,
    required,
    type_of,
    widget_of,
)

ROW_INDEX = "__i__"


@dataclass
class Option:
    """One choice of a select, radio group or multi-select."""

    value: str
    label: str
    selected: bool = False


@dataclass
class Field:
    """One input (or group of inputs) of a form."""

    name: str
    widget: str
    label: str
    help: str = ""
    required: bool = False
    read_only: bool = False
    value: Any = None
    text: str = ""
    error: str | None = None
    kind: str | None = None
    options: list[Option] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)
    rows: list[list[Field]] = field(default_factory=list)
    template: list[Field] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """HTML id of the input."""
        return "f-" + self.name.replace(".", "-")


@dataclass
class Form:
    """A rendered form: title, fields, errors that belong to no field."""

    title: str
    fields: list[Field]
    other_errors: list[str]

    def invalid(self) -> list[Field]:
        """Every field (at any depth) that has an error, in screen order."""
        out: list[Field] = []

        def walk(fields: list[Field]) -> None:
            for f in fields:
                if f.error:
                    out.append(f)
                walk(f.children)
                for row in f.rows:
                    walk(row)

        walk(self.fields)
        return out


@dataclass
class _Ctx:
    locale: str
    errors: dict[str, str]
    people: Sequence[Person]
    used: set[str] = field(default_factory=set)
    projects: Sequence[ProjectChoice] | None = None

    def error(self, name: str) -> str | None:
        if name in self.errors:
            self.used.add(name)
            return field_message(self.errors[name])
        return None


def build_form(schema: Mapping[str, Any] | None, values: Mapping[str, Any] | None = None,
               errors: Mapping[str, str] | None = None, *, locale: str = "en",
               people: Sequence[Person] = (),
               projects: Sequence[ProjectChoice] | None = None) -> Form:
    """The fields of ``schema`` filled with ``values``, each with its error.

    ``projects``: what a ``project`` widget offers (default: the signed-in user's).
    """
    ctx = _Ctx(locale, dict(errors or {}), people, projects=projects)
    fields = _fields(schema or {}, values or {}, "", ctx)
    title = localized(schema or {}, "title", locale) or ""
    if locale == "zh" and not (schema or {}).get("x-title-zh"):
        title = word(title)
    other = [field_message(m) for k, m in (errors or {}).items() if k not in ctx.used]
    return Form(title, fields, other)


def _fields(schema: Mapping[str, Any], values: Mapping[str, Any], prefix: str,
            ctx: _Ctx) -> list[Field]:
    needed = required(schema)
    out = []
    for key, prop in properties(schema).items():
        value = values.get(key) if isinstance(values, Mapping) else None
        out.append(_field(prop, key, prefix + key, value, key in needed, ctx))
    return out


def label_of(prop: Mapping[str, Any], key: str, locale: str) -> str:
    """A field's label in ``locale``."""
    if locale == "zh" and prop.get("x-title-zh"):
        return str(prop["x-title-zh"])
    text = str(prop.get("title") or humanize(key))
    return word(text) if locale == "zh" else text


def option_label(prop: Mapping[str, Any], value: Any, locale: str) -> str:
    """Label of one enum value: ``x-enum-titles``, else a known word, else the value."""
    return enum_title(prop, value, locale) or word(humanize(str(value)))


def _field(prop: Mapping[str, Any], key: str, name: str, value: Any, needed: bool,
           ctx: _Ctx) -> Field:
    widget = widget_of(prop)
    f = Field(name=name, widget=widget, label=label_of(prop, key, ctx.locale),
              help=localized(prop, "description", ctx.locale) or "", required=needed,
              read_only=bool(prop.get("readOnly")), value=value, error=ctx.error(name),
              kind=type_of(prop))
    builder = _BUILDERS.get(widget)
    if builder is not None:
        builder(f, prop, ctx)
    else:
        f.text = "" if value is None else str(value)
        f.attrs = _text_attrs(prop, widget)
    return f


def _text_attrs(prop: Mapping[str, Any], widget: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if isinstance(prop.get("maxLength"), int):
        attrs["maxlength"] = prop["maxLength"]
    if widget in ("number", "project"):
        for src, dst in (("minimum", "min"), ("maximum", "max")):
            if isinstance(prop.get(src), int | float):
                attrs[dst] = prop[src]
        attrs["step"] = "1" if type_of(prop) == "integer" else "any"
    return attrs


def _choices(f: Field, prop: Mapping[str, Any], ctx: _Ctx) -> None:
    chosen = f.value if isinstance(f.value, list) else [f.value]
    chosen_text = {str(v) for v in chosen if v is not None}
    f.options = [Option(str(v), option_label(prop, v, ctx.locale), str(v) in chosen_text)
                 for v in enum_values(prop)]


def _user(f: Field, prop: Mapping[str, Any], ctx: _Ctx) -> None:
    role = prop.get("x-role")
    f.options = [Option(p.username, f"{p.display_name} ({p.username})", p.username == f.value)
                 for p in ctx.people if not role or role in p.roles]
    if f.value and not any(o.selected for o in f.options):
        f.options.insert(0, Option(str(f.value), str(f.value), True))


def _money(f: Field, prop: Mapping[str, Any], ctx: _Ctx) -> None:
    value = f.value if isinstance(f.value, Mapping) else {}
    sub = properties(prop)
    amount_label = label_of(sub.get("amount") or {"title": "Amount"}, "amount", ctx.locale)
    currency_label = label_of(sub.get("currency") or {"title": "Currency"}, "currency",
                              ctx.locale)
    default = (sub.get("currency") or {}).get("default")
    current = str(value.get("currency") or default or currencies(prop)[0])
    f.children = [
        Field(name=f.name + ".amount", widget="text", label=amount_label,
              text=str(value.get("amount") or ""), error=ctx.error(f.name + ".amount"),
              attrs={"inputmode": "decimal", "autocomplete": "off"}),
        Field(name=f.name + ".currency", widget="select", label=currency_label,
              error=ctx.error(f.name + ".currency"),
              options=[Option(c, c, c == current) for c in currencies(prop)]),
    ]


def _object(f: Field, prop: Mapping[str, Any], ctx: _Ctx) -> None:
    f.children = _fields(prop, f.value if isinstance(f.value, Mapping) else {},
                         f.name + ".", ctx)


def _rows(f: Field, prop: Mapping[str, Any], ctx: _Ctx) -> None:
    items = items_of(prop)
    values = [v for v in f.value if isinstance(v, Mapping)] if isinstance(f.value, list) else []
    most = prop.get("maxItems") if isinstance(prop.get("maxItems"), int) else None
    count = len(values) + 1 if most is None else min(len(values) + 1, max(most, len(values)))
    count = max(count, prop.get("minItems") or 0, 1)
    f.rows = [_fields(items, values[i] if i < len(values) else {}, f"{f.name}.{i}.", ctx)
              for i in range(count)]
    f.template = _fields(items, {}, f"{f.name}.{ROW_INDEX}.", _Ctx(ctx.locale, {}, ctx.people))
    f.attrs = {"min_items": prop.get("minItems") or 0, "max_items": most,
               "columns": [label_of(p, k, ctx.locale) for k, p in properties(items).items()]}


def _tags(f: Field, prop: Mapping[str, Any], ctx: _Ctx) -> None:
    f.text = ", ".join(str(v) for v in f.value) if isinstance(f.value, list) else (
        "" if f.value is None else str(f.value))


def _checkbox(f: Field, prop: Mapping[str, Any], ctx: _Ctx) -> None:
    f.value = f.value is True


def _file(f: Field, prop: Mapping[str, Any], ctx: _Ctx) -> None:
    """Files already uploaded become options (id, name); a list of files gets ``multiple``."""
    multiple = f.kind == "array"
    values = f.value if isinstance(f.value, list) else [f.value]
    f.options = [Option(str(v["attachment_id"]), str(v.get("name") or v["attachment_id"]), True)
                 for v in values if isinstance(v, Mapping) and _is_id(v.get("attachment_id"))]
    if not multiple:
        f.options = f.options[:1]
    f.attrs = {"multiple": multiple}
    for key in [k for k in ctx.errors if k.startswith(f.name + ".")]:  # one file's problem
        message = ctx.error(key)
        f.error = f.error or message


def _project(f: Field, prop: Mapping[str, Any], ctx: _Ctx) -> None:
    """Projects the user may pick, labelled ``PRJ-2026-0001 — Title``; the value is the id."""
    if ctx.projects is None:  # not given: the signed-in user's, loaded when first needed
        from webui.portfolio import project_options

        ctx.projects = project_options()
    f.options = [Option(str(p.id), p.label, str(p.id) == str(f.value)) for p in ctx.projects]
    if f.value not in (None, "") and not any(o.selected for o in f.options):
        f.options.insert(0, Option(str(f.value), f"#{f.value}", True))


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


_BUILDERS = {
    "select": _choices, "radio": _choices, "multiselect": _choices, "user": _user,
    "money": _money, "object": _object, "rows": _rows, "tags": _tags, "checkbox": _checkbox,
    "file": _file, "project": _project,
}
