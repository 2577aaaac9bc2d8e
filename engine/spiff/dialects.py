"""Extensions of other BPMN tools: which tool a diagram was drawn for, in its own words.

Diagrams drawn for another engine carry its settings as extension attributes and
elements (``camunda:candidateGroups``, ``camunda:class``, ``zeebe:taskDefinition``...).
PMOflow reads none of them, so validation names the tool ("this diagram was drawn for
Camunda 7") and, where an element's problem comes from such a setting, names the setting
in the element's message.  Recognised by namespace URI, never by prefix (old Camunda 7
diagrams use the prefix ``camunda`` for Activiti's namespace).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from engine.errors import Problem

__all__ = [
    "ADVICE",
    "TOOLS",
    "ForeignUse",
    "Tool",
    "foreign_hint",
    "foreign_settings",
    "foreign_tools",
    "juel_hint",
    "script_language",
    "tool_problems",
]


@dataclass(frozen=True)
class Tool:
    """A BPMN tool whose extension namespace validation recognises."""

    name: str
    #: Namespace URIs (exact), and URI prefixes (``prefix=True``) for families of them.
    namespaces: tuple[str, ...]
    prefix: bool = False
    #: True for engines whose extensions define behaviour (assignment, service calls,
    #: forms); False for modelling tools whose extensions are layout or documentation.
    executes: bool = True
    #: What the owner should do: a key of :data:`ADVICE` ('' for nothing).
    advice: str = ""


#: What to do with a diagram drawn for another tool, by advice key (the web layer says
#: the same by the key, in the reader's language).
ADVICE = {
    "import_camunda7": "use Import from Camunda 7, which converts what it can and lists the rest",
    "activiti": "early Camunda 7 diagrams use this namespace too: for those use Import from "
    "Camunda 7; otherwise set roles, operations and forms again in the modeler's "
    "properties panel",
    "set_again": "set roles, operations and forms again in the modeler's properties panel",
}


CAMUNDA7 = Tool(
    "Camunda 7",
    ("http://camunda.org/schema/1.0/bpmn", "http://camunda.org/schema/1.0/dmn"),
    advice="import_camunda7",
)
#: Known tools, most specific first.
TOOLS: tuple[Tool, ...] = (
    CAMUNDA7,
    Tool(
        "Camunda 8 (Zeebe)",
        ("http://camunda.org/schema/zeebe/1.0",),
        advice="set_again",
    ),
    Tool(
        "Activiti",
        ("http://activiti.org/bpmn",),
        advice="activiti",
    ),
    Tool(
        "Flowable",
        ("http://flowable.org/bpmn",),
        advice="set_again",
    ),
    Tool(
        "camunda fox (Camunda 7's predecessor)",
        ("http://www.camunda.com/fox",),
        advice="set_again",
    ),
    Tool(
        "jBPM (Drools)",
        ("http://www.jboss.org/drools",),
        advice="set_again",
    ),
    Tool("Signavio", ("http://www.signavio.com",), prefix=True, executes=False),
    Tool("Bizagi", ("http://www.bizagi.com/",), prefix=True, executes=False),
    Tool("Trisotech", ("http://www.trisotech.com/", "http://trisotech.com/"), prefix=True,
         executes=False),
)  # fmt: skip
_LANGUAGES = {
    "groovy": "Groovy",
    "javascript": "JavaScript",
    "js": "JavaScript",
    "ecmascript": "JavaScript",
    "nashorn": "JavaScript",
    "graal.js": "JavaScript",
    "juel": "JUEL",
    "ruby": "Ruby",
    "jruby": "Ruby",
    "feel": "FEEL",
    "mvel": "MVEL",
    "java": "Java",
}
_PYTHON = frozenset({"", "python", "python3", "text/x-python", "python/python"})
_JUEL = re.compile(r"^\s*[$#]\{(?P<body>.*)\}\s*$", re.S)


def tool_of(namespace: str | None) -> Tool | None:
    """The tool a namespace URI belongs to (None: not a recognised tool)."""
    if not namespace:
        return None
    lowered = namespace.lower()
    for tool in TOOLS:
        for uri in tool.namespaces:
            if lowered == uri.lower() or (tool.prefix and lowered.startswith(uri.lower())):
                return tool
    return None


@dataclass(frozen=True)
class ForeignUse:
    """One recognised tool used in a file: where first, and the settings it carries."""

    tool: Tool
    namespace: str
    line: int | None
    settings: tuple[str, ...]


def _ns(tag: str) -> str | None:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def foreign_tools(root: etree._Element) -> list[ForeignUse]:
    """Every recognised tool whose extensions the file *uses* (a declaration alone is not
    use), in order of first use, with the names of the settings used (``candidateGroups``)."""
    found: dict[Tool, tuple[str, int | None, list[str]]] = {}
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        names = [(_ns(element.tag), _local(element.tag))]
        names += [(_ns(attr), _local(attr)) for attr in element.attrib]
        for namespace, name in names:
            tool = tool_of(namespace)
            if tool is None or namespace is None:
                continue
            entry = found.setdefault(tool, (namespace, element.sourceline, []))
            if name not in entry[2]:
                entry[2].append(name)
    return [
        ForeignUse(tool, namespace, line, tuple(settings))
        for tool, (namespace, line, settings) in found.items()
    ]


def tool_problems(file: str, root: etree._Element, has_other_problems: bool) -> list[Problem]:
    """One problem per recognised tool the file uses, naming it and what to do.

    Engines' extensions define behaviour PMOflow would silently drop, so they are always
    reported; modelling tools' extensions (layout, documentation) only explain other
    problems of the same file and never refuse a diagram alone."""
    found = []
    for use in foreign_tools(root):
        if not use.tool.executes and not has_other_problems:
            continue
        shown = ", ".join(use.settings[:6]) + (", ..." if len(use.settings) > 6 else "")
        if use.tool.executes:
            message = (
                f"this diagram was drawn for {use.tool.name}: the engine does not read "
                f"its {use.tool.name} settings ({shown})"
            )
        else:
            message = (
                f"this diagram was drawn in {use.tool.name}: its {use.tool.name} extensions "
                "(layout, documentation) are ignored; the problems listed are about the "
                "BPMN itself"
            )
        if use.tool.advice:
            message += f"; {ADVICE[use.tool.advice]}"
        found.append(
            Problem(
                file,
                message,
                line=use.line,
                code="diagram.foreign_extensions",
                params={
                    "tool": use.tool.name,
                    "namespace": use.namespace,
                    "settings": shown,
                    "advice": use.tool.advice,
                },
            )
        )
    return found


def foreign_settings(element: etree._Element, *names: str) -> list[tuple[Tool, str, str]]:
    """``(tool, qualified name, value)`` of the named foreign settings an element carries,
    as attributes or as extension elements (``camunda:class``, ``zeebe:taskDefinition``)."""
    wanted = set(names)
    found = []
    for attr, value in element.attrib.items():
        tool = tool_of(_ns(attr))
        if tool is not None and _local(attr) in wanted:
            found.append((tool, f"{_prefix(element, attr)}:{_local(attr)}", value))
    for child in element.iter():
        if child is element or not isinstance(child.tag, str):
            continue
        tool = tool_of(_ns(child.tag))
        if tool is not None and _local(child.tag) in wanted:
            value = child.get("type") or child.get("id") or (child.text or "").strip()
            found.append((tool, f"{_prefix(child, child.tag)}:{_local(child.tag)}", value))
    return found


def _prefix(element: etree._Element, qualified: str) -> str:
    namespace = _ns(qualified)
    for prefix, uri in element.nsmap.items():
        if uri == namespace and prefix:
            return prefix
    tool = tool_of(namespace)
    return tool.name.split()[0].lower() if tool else "ext"


def foreign_hint(element: etree._Element, *names: str) -> str:
    """`` (its camunda:class 'com.acme.Mail' is a Camunda 7 setting the engine does not
    read)`` for the first named setting the element carries, else ''."""
    settings = foreign_settings(element, *names)
    if not settings:
        return ""
    order = {name: index for index, name in enumerate(names)}
    tool, name, value = min(settings, key=lambda s: order.get(s[1].split(":")[-1], len(order)))
    shown = value if len(value) <= 60 else value[:57] + "..."
    what = f"{name} '{shown}'" if shown else name
    tool_name = tool.name.split(" (")[0]
    return f" (its {what} is for {tool_name}; the engine does not read it)"


def script_language(fmt: str | None) -> str | None:
    """The language a ``scriptFormat``/``language`` names when it is not Python
    (``Groovy``); None for Python or no format."""
    key = (fmt or "").strip().lower()
    if key in _PYTHON:
        return None
    return _LANGUAGES.get(key, fmt.strip() if fmt else None)


def juel_hint(source: str) -> str | None:
    """For a JUEL expression (``${approved}``, ``#{a && !b}``): a message saying so, with
    the expression as the engine would read it when that is a plain rewrite; else None."""
    match = _JUEL.match(source or "")
    if match is None:
        return None
    body = " ".join(match.group("body").split())
    rewritten = re.sub(r"&&", " and ", body)
    rewritten = re.sub(r"\|\|", " or ", rewritten)
    rewritten = re.sub(r"!(?!=)", " not ", rewritten)
    rewritten = re.sub(r"\bnull\b", "None", rewritten)
    rewritten = re.sub(r"\btrue\b", "True", rewritten)
    rewritten = re.sub(r"\bfalse\b", "False", rewritten)
    rewritten = " ".join(rewritten.split())
    return (
        f"'{match.group(0).strip()}' is a JUEL expression (as Camunda, Activiti and Flowable "
        f"write them); the engine writes expressions without ${{...}}, here: {rewritten}"
    )
