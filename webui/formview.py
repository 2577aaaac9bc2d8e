"""From a JSON Schema, values and errors to the fields a template renders.

Implements the conventions of ``docs/forms.md``: labels and help in the user's language
(``title``/``x-title-zh``, ``description``/``x-description-zh``), ``x-widget``,
``x-enum-titles``, ``readOnly``, ``x-role`` for user pickers, property order, required
marks, money, rows (``minItems``/``maxItems``), multi-selects, tags and files
(already uploaded ones are kept as hidden inputs with a remove box), several people or
projects (``x-widget: user|project`` on an array), choices taken from another field of
the form (``x-options-from``).  Read-only fields are shown as text (``static``; groups
of them as ``static_group``), formatted like the request summary, and left out when
they have no value.  Field names are the dotted paths the parser reads and the engine
reports errors on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from engine.date_range import DATE_RANGE, date_bound
from engine.pages import Directory, Person
from webui.i18n import gettext
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
from workflows.records.pages import ProjectChoice

if TYPE_CHECKING:
    from webui.summary import Item

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
    static: Item | None = None

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
    help: str = ""

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
    data: Mapping[str, Any] = field(default_factory=dict)
    any_projects: Sequence[ProjectChoice] | None = None
    today: date | None = None
    #: The form names a project (a ``project`` widget): a person picker limited to a role
    #: then also offers those who hold it only on some project (the engine checks the
    #: project chosen); otherwise only those who hold it globally.
    project_form: bool = False
    #: Display names for people shown read-only (default: from ``people``).
    names: Directory | None = None

    def day(self) -> date:
        """The site's today (for date ranges), asked of the engine when first needed."""
        if self.today is None:
            from webui.context import bpm

            self.today = bpm().today()
        return self.today

    def directory(self) -> Directory:
        """The names to show people by: ``names``, else the people's."""
        if self.names is None:
            self.names = Directory(tuple(self.people), {}, {p.username: p.display_name
                                                            for p in self.people})
        return self.names

    def error(self, name: str) -> str | None:
        if name in self.errors:
            self.used.add(name)
            return field_message(self.errors[name])
        return None


def build_form(schema: Mapping[str, Any] | None, values: Mapping[str, Any] | None = None,
               errors: Mapping[str, str] | None = None, *, locale: str = "en",
               people: Sequence[Person] = (),
               projects: Sequence[ProjectChoice] | None = None,
               today: date | None = None, names: Directory | None = None) -> Form:
    """The fields of ``schema`` filled with ``values``, each with its error.

    ``people``: whom a person picker offers; ``names``: display names of people shown
    read-only (default: the people's); ``projects``: what a ``project`` widget offers
    (default: the signed-in user's); ``today``: the day a date range's ``today`` means
    (default: the engine's).
    """
    ctx = _Ctx(locale, dict(errors or {}), people, projects=projects, data=values or {},
               today=today, names=names, project_form=any(
                   isinstance(p, Mapping) and widget_of(p) == "project"
                   for p in properties(schema or {}).values()))
    fields = _fields(schema or {}, values or {}, "", ctx)
    title = localized(schema or {}, "title", locale) or ""
    if locale == "zh" and not (schema or {}).get("x-title-zh"):
        title = word(title)
    other = [field_message(m) for k, m in (errors or {}).items() if k not in ctx.used]
    return Form(title, fields, other, localized(schema or {}, "description", locale) or "")


def _fields(schema: Mapping[str, Any], values: Mapping[str, Any], prefix: str,
            ctx: _Ctx, read_only: bool = False, cells: bool = False) -> list[Field]:
    """The fields of an object; ``cells``: one per column of a row, even empty ones."""
    needed = required(schema)
    when = {} if read_only else required_when(schema, ctx.locale)
    out = []
    for key, prop in properties(schema).items():
        value = values.get(key) if isinstance(values, Mapping) else None
        if read_only or prop.get("readOnly"):
            shown = _static(prop, key, prefix + key, value, ctx)
            if shown is None and cells:
                shown = Field(name=prefix + key, widget="static", read_only=True, text="—",
                              label=label_of(prop, key, ctx.locale))
            if shown is not None:
                out.append(shown)
            continue
        f = _field(prop, key, prefix + key, value, key in needed, ctx)
        if key in when and not f.help and not f.required:
            f.help = when[key]
        out.append(f)
    return out


def required_when(schema: Mapping[str, Any], locale: str) -> dict[str, str]:
    """Fields the schema requires only for some choices, with a note saying when.

    Reads ``if``/``then`` (also inside ``allOf``) where ``if`` tests fields with ``const``
    or ``enum``: a comment required to reject or send back gets "Required when
    Decision is Reject or Return for rework." (other conditions are left alone).
    """
    props = properties(schema)
    rules = [schema, *[r for r in schema.get("allOf") or () if isinstance(r, Mapping)]]
    notes: dict[str, list[str]] = {}
    for rule in rules:
        cond, then = rule.get("if"), rule.get("then")
        if not isinstance(cond, Mapping) or not isinstance(then, Mapping):
            continue
        for name, test in (cond.get("properties") or {}).items():
            values = test.get("enum") if isinstance(test, Mapping) else None
            if isinstance(test, Mapping) and "const" in test:
                values = [test["const"]]
            if not isinstance(values, list) or name not in props:
                continue
            shown = [_value_label(props[name], v, locale) for v in values]
            text = gettext("Required when %(field)s is %(values)s.",
                           field=label_of(props[name], name, locale),
                           values=gettext(" or ").join(shown))
            for field_name in then.get("required") or ():
                notes.setdefault(str(field_name), []).append(text)
    return {k: " ".join(v) for k, v in notes.items()}


def _value_label(prop: Mapping[str, Any], value: Any, locale: str) -> str:
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    return option_label(prop, value, locale)


def _static(prop: Mapping[str, Any], key: str, name: str, value: Any, ctx: _Ctx
            ) -> Field | None:
    """A read-only field as text (a group for an object), or None when it has no value."""
    if value in (None, "", [], {}):
        return None
    f = Field(name=name, widget="static", label=label_of(prop, key, ctx.locale),
              help=localized(prop, "description", ctx.locale) or "", read_only=True,
              value=value, kind=type_of(prop))
    if widget_of(prop) == "object" and isinstance(value, Mapping):
        f.widget = "static_group"
        f.children = _fields(prop, value, name + ".", ctx, read_only=True)
        return f if f.children else None
    from webui.summary import make_item

    f.static = make_item(key, prop, value, ctx.locale, ctx.directory(),
                         _project_labels(prop, value))
    f.text = "" if isinstance(value, Mapping | list) else str(value)
    return f


def _project_labels(prop: Mapping[str, Any], value: Any) -> dict[int, str] | None:
    if widget_of(prop) not in ("project", "projects"):
        return None
    from webui.portfolio import project_labels

    return project_labels(value if isinstance(value, list) else [value])


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
        f.attrs = _text_attrs(prop, widget, ctx)
    return f


def _text_attrs(prop: Mapping[str, Any], widget: str, ctx: _Ctx) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if widget == "date":  # x-earliest/x-latest as the date picker's min/max
        for keyword, attr in zip(DATE_RANGE, ("min", "max"), strict=True):
            bound = date_bound(prop.get(keyword), ctx.day()) if keyword in prop else None
            if bound is not None:
                attrs[attr] = bound.isoformat()
    if isinstance(prop.get("maxLength"), int):
        attrs["maxlength"] = prop["maxLength"]
    if widget in ("number", "project"):
        for src, dst in (("minimum", "min"), ("maximum", "max")):
            if isinstance(prop.get(src), int | float):
                attrs[dst] = prop[src]
        attrs["step"] = "1" if type_of(prop) == "integer" else "any"
    return attrs


def _chosen(f: Field) -> set[str]:
    chosen = f.value if isinstance(f.value, list) else [f.value]
    return {str(v) for v in chosen if v is not None and v != ""}


def _keep_unknown(f: Field, chosen: set[str], label: str = "{}") -> None:
    """Chosen values no option offers stay (selected) so nothing is lost silently."""
    offered = {o.value for o in f.options}
    f.options[:0] = [Option(v, label.format(v), True) for v in sorted(chosen - offered)]


def _choices(f: Field, prop: Mapping[str, Any], ctx: _Ctx) -> None:
    chosen = _chosen(f)
    if prop.get("x-options-from"):
        f.options = [Option(v, text, v in chosen) for v, text in _data_options(prop, ctx)]
        _keep_unknown(f, chosen, "#{}")
        return
    f.options = [Option(str(v), option_label(prop, v, ctx.locale), str(v) in chosen)
                 for v in enum_values(prop)]


def _data_options(prop: Mapping[str, Any], ctx: _Ctx) -> list[tuple[str, str]]:
    """Choices from a list of objects elsewhere in the form (``x-options-from``).

    The value is each object's ``x-option-value`` (default ``id``), the label its
    ``x-option-label`` (default ``title``) with the value: ``Interface debugging (#4)``.
    """
    source = ctx.data.get(str(prop["x-options-from"]))
    key = str(prop.get("x-option-value") or "id")
    label = str(prop.get("x-option-label") or "title")
    out = []
    for row in source if isinstance(source, list) else []:
        if isinstance(row, Mapping) and row.get(key) not in (None, ""):
            text = str(row.get(label) or "").strip()
            out.append((str(row[key]), f"{text} (#{row[key]})" if text else f"#{row[key]}"))
    return out


def _user(f: Field, prop: Mapping[str, Any], ctx: _Ctx) -> None:
    role = prop.get("x-role") or items_of(prop).get("x-role")
    chosen = _chosen(f)
    f.options = [Option(p.username, f"{p.display_name} ({p.username})", p.username in chosen)
                 for p in ctx.people
                 if not role or role in (p.roles if ctx.project_form else p.global_roles)]
    _keep_unknown(f, chosen)


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
    f.rows = [_fields(items, values[i] if i < len(values) else {}, f"{f.name}.{i}.", ctx,
                      cells=True) for i in range(count)]
    f.template = _fields(items, {}, f"{f.name}.{ROW_INDEX}.",
                         _Ctx(ctx.locale, {}, ctx.people, data=ctx.data, today=ctx.today,
                              project_form=ctx.project_form, names=ctx.names),
                         cells=True)
    columns = properties(items)
    f.attrs = {"min_items": prop.get("minItems") or 0, "max_items": most,
               "columns": [label_of(p, k, ctx.locale) for k, p in columns.items()],
               "stacked": len(columns) > 4 or any(widget_of(p) == "textarea"
                                                   for p in columns.values())}


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
    """Projects the user may pick, labelled ``PRJ-2026-0001 — Title``; the value is the id.

    ``x-projects: any`` offers every running project (e.g. other projects an issue
    affects), not only the user's own.
    """
    choices = _any_projects(ctx) if (prop.get("x-projects") or items_of(prop).get(
        "x-projects")) == "any" else _own_projects(ctx)
    chosen = _chosen(f)
    f.options = [Option(str(p.id), p.label, str(p.id) in chosen) for p in choices]
    _keep_unknown(f, chosen, "#{}")


def _own_projects(ctx: _Ctx) -> Sequence[ProjectChoice]:
    if ctx.projects is None:  # not given: the signed-in user's, loaded when first needed
        from webui.portfolio import project_options

        ctx.projects = project_options()
    return ctx.projects


def _any_projects(ctx: _Ctx) -> Sequence[ProjectChoice]:
    if ctx.any_projects is None:
        from webui.portfolio import project_options

        ctx.any_projects = project_options(every=True)
    return ctx.any_projects


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


_BUILDERS = {
    "select": _choices, "radio": _choices, "multiselect": _choices, "user": _user,
    "users": _user, "money": _money, "object": _object, "rows": _rows, "tags": _tags,
    "checkbox": _checkbox, "file": _file, "project": _project, "projects": _project,
}
