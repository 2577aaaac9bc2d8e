"""Deploy-time checks of single flow nodes (see :mod:`engine.spiff.flow_checks`).

:class:`ElementChecker` holds what every check of one process shares (the file, the
process, its elements, the context and the problems found) and checks one element at a
time: type, properties, scripts, loops, events and timers, roles, services, data.
"""

from __future__ import annotations

import ast
import re
from datetime import datetime

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as Timer

from engine.errors import Problem
from engine.spiff.bpmn_markup import (
    BPMN_NS,
    HUMAN_TASK_TYPES,
    SPIFF_NS,
    SUPPORTED_TYPES,
    CheckContext,
    ElementInfo,
    bpmn_children,
    check_expression,
    extensions,
    label,
    local,
    problem,
)
from engine.spiff.dialects import foreign_hint, juel_hint, script_language
from engine.spiff.references import _decision_ref
from engine.spiff.xmlsafe import is_standard

ISO_DURATION = re.compile(
    r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+([.,]\d+)?S)?)?$"
)
_BARE_ISO = re.compile(r"^(R\d*/)?(P[0-9TYMWDHS.,]+|\d{4}-\d\d-\d\d(T[0-9:.+\-Z]*)?)$", re.I)
#: Event definitions SpiffWorkflow's parsers read, per event type; others are ignored by it.
EVENT_DEFINITIONS = {
    "startEvent": {"message", "signal", "timer", "conditional"},
    "endEvent": {"message", "cancel", "error", "escalation", "terminate"},
    "intermediateCatchEvent": {"message", "signal", "timer", "conditional"},
    "intermediateThrowEvent": {"message", "signal", "escalation"},
    "boundaryEvent": {"cancel", "error", "escalation", "message", "signal", "timer", "conditional"},
}
_REFERENCED = {
    "message": "messageRef",
    "signal": "signalRef",
    "error": "errorRef",
    "escalation": "escalationRef",
}


class ElementChecker:
    """The checks of single elements, and the state every check of one process shares."""

    def __init__(
        self,
        file: str,
        process: etree._Element,
        elements: dict[str, ElementInfo],
        ctx: CheckContext,
    ):
        self.file = file
        self.process = process
        self.elements = elements
        self.ctx = ctx
        self.problems: list[Problem] = []
        root = process.getroottree().getroot()
        self.by_id = {e.get("id"): e for e in root.iter() if is_standard(e) and e.get("id")}
        self.doc_ids = {key: local(e) for key, e in self.by_id.items()}

    def add(self, element: etree._Element, message: str, line: int | None = None) -> None:
        """Record a problem at ``element``."""
        self.problems.append(problem(self.file, element, message, line))

    def expr(
        self,
        owner: etree._Element,
        source: str | None,
        mode: str,
        what: str,
        line: int | None = None,
    ) -> None:
        """Record a problem when an expression does not compile (a JUEL expression, as
        other engines write them, is said to be one)."""
        hint = juel_hint(source) if source is not None else None
        if hint is not None:
            self.add(owner, f"{label(owner)}: {what} {hint}", line)
            return
        self.problems += check_expression(self.file, owner, source, mode, what, line)

    def _node(self, node: etree._Element) -> None:
        kind = local(node)
        if kind not in SUPPORTED_TYPES:
            self.add(node, f"{label(node)}: element type '{kind}' is not supported by the engine")
            return
        if node.get("isForCompensation") == "true":
            self.add(node, f"{label(node)}: compensation is not supported by the engine")
        self._properties(node)
        self._scripts(node)
        self._loops(node)
        if kind in EVENT_DEFINITIONS:
            self._events(node)
        if kind in HUMAN_TASK_TYPES:
            self._role(node)
        elif kind == "serviceTask":
            self._service(node)
        elif kind == "businessRuleTask" and not _decision_ref(node):
            self.add(
                node,
                f"{label(node)} does not name the decision table it calls"
                + foreign_hint(node, "decisionRef", "calledDecision", "class",
                               "delegateExpression", "expression"),
            )  # fmt: skip
        elif kind == "callActivity" and not (node.get("calledElement") or "").strip():
            self.add(node, f"{label(node)} does not name the process it calls")

    def _data(self, node: etree._Element, visible: frozenset[str | None]) -> None:
        """Data associations must reach a data object of this (sub-)process or its parent.

        SpiffWorkflow looks no further than the parent, and loops forever when a
        sub-process refers to a data object it cannot find there.
        """
        for path, verb in (
            ("dataInputAssociation/bpmn:sourceRef", "reads"),
            ("dataOutputAssociation/bpmn:targetRef", "writes"),
        ):
            for ref in node.xpath(f"./bpmn:{path}", namespaces={"bpmn": BPMN_NS}):
                target = self.by_id.get((ref.text or "").strip())
                if target is None or local(target) != "dataObjectReference":
                    self.add(
                        node,
                        f"{label(node)} {verb} '{(ref.text or '').strip()}', which is "
                        "not a data object reference (the engine supports data objects "
                        "only)",
                        ref.sourceline,
                    )
                elif target.get("dataObjectRef") not in visible:
                    name = target.get("name") or target.get("id")
                    self.add(
                        node,
                        f"{label(node)} {verb} data object '{name}', which is not "
                        "defined in this process or its parent",
                        ref.sourceline,
                    )

    def _role(self, node: etree._Element) -> None:
        info = self.elements.get(node.get("id", ""))
        role = info.role if info else None
        known = self.ctx.known_roles
        if not role:
            hint = foreign_hint(node, "candidateGroups", "assignee", "candidateUsers",
                                "assignmentDefinition", "potentialOwner")  # fmt: skip
            self.add(
                node,
                f"{label(node)} has no role{hint}: put it in a lane named after a role, or "
                "give it a role property",
            )
        elif known is not None and role not in known:
            source = "its role property" if info and info.properties.get("role") else "its lane"
            self.add(
                node,
                f"{label(node)}: role '{role}' (from {source}) is not a known role; "
                f"known roles: {', '.join(sorted(known))}",
            )

    def _properties(self, node: etree._Element) -> None:
        for prop in node.xpath(
            "./bpmn:extensionElements/spiffworkflow:properties//spiffworkflow:property",
            namespaces={"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS},
        ):
            name, value = prop.get("name"), prop.get("value")
            if not name or value is None:
                self.add(
                    node, f"{label(node)}: a property is missing its name or value", prop.sourceline
                )
            elif name == "sla" and not ISO_DURATION.match(value.strip()):
                self.add(
                    node,
                    f"{label(node)}: sla '{value}' is not an ISO 8601 duration "
                    "such as P3D or PT48H",
                    prop.sourceline,
                )
            elif name in ("fourEyes", "distinctActors") and value.strip() not in ("true", "false"):
                self.add(node, f"{label(node)}: {name} must be 'true' or 'false'", prop.sourceline)
            elif name == "slaExpression":
                self.expr(node, value, "eval", "the SLA expression", prop.sourceline)
            elif name == "assignee":
                self.expr(node, value, "eval", "the assignee expression", prop.sourceline)
            elif name == "formJsonSchemaFilename" and not value.strip():
                self.add(node, f"{label(node)}: the form file name is empty", prop.sourceline)

    def _scripts(self, node: etree._Element) -> None:
        for which in ("preScript", "postScript"):
            for script in extensions(node, which):
                self.expr(node, script.text, "exec", f"the {which}", script.sourceline)
        if local(node) != "scriptTask":
            return
        scripts = [c for c in node if local(c) == "script"]
        language = script_language(node.get("scriptFormat"))
        if language is not None:
            self.add(
                node,
                f"{label(node)} is written in {language}; the engine runs only its own "
                "Python-like scripts: rewrite the script",
            )
        elif not scripts or not (scripts[-1].text or "").strip():
            self.add(node, f"{label(node)} has no script" + foreign_hint(node, "resource"))
        else:
            self.expr(node, scripts[-1].text, "exec", "the script", scripts[-1].sourceline)

    def _loops(self, node: etree._Element) -> None:
        for loop in bpmn_children(node, "standardLoopCharacteristics"):
            condition = loop.find(f"{{{BPMN_NS}}}loopCondition")
            maximum = loop.get("loopMaximum")
            if maximum is not None and not maximum.strip().isdigit():
                self.add(node, f"{label(node)}: loopMaximum '{maximum}' is not a whole number")
            if maximum is None and condition is None:
                self.add(node, f"{label(node)}: a loop needs a loopMaximum or a loopCondition")
            self.expr(node, _raw(condition), "eval", "the loop condition", _line(condition))
        for loop in bpmn_children(node, "multiInstanceLoopCharacteristics"):
            cardinality = loop.find(f"{{{BPMN_NS}}}loopCardinality")
            data_input = loop.find(f"{{{BPMN_NS}}}loopDataInputRef")
            if cardinality is None and data_input is None:
                hint = foreign_hint(loop, "collection", "elementVariable")
                self.add(
                    node,
                    f"{label(node)}: a multi-instance activity needs a number of instances "
                    f"(loop cardinality) or a collection to go through (input collection)"
                    f"{hint}",
                )
            elif cardinality is not None and data_input is not None:
                self.add(
                    node,
                    f"{label(node)}: a multi-instance activity takes a number of instances "
                    "(loop cardinality) or a collection (input collection), not both",
                )
            self.expr(node, _raw(cardinality), "eval", "the loop cardinality", _line(cardinality))
            done = loop.find(f"{{{BPMN_NS}}}completionCondition")
            self.expr(node, _raw(done), "eval", "the completion condition", _line(done))

    def _events(self, node: etree._Element) -> None:
        kind = local(node)
        definitions = [c for c in node if local(c).endswith("EventDefinition")]
        for ref in bpmn_children(node, "eventDefinitionRef"):
            self.add(
                node,
                f"{label(node)}: shared event definitions (eventDefinitionRef) are not supported",
                ref.sourceline,
            )
        if kind == "boundaryEvent" and not definitions:
            self.add(node, f"{label(node)}: a boundary event needs an event definition")
        for definition in definitions:
            what = local(definition)[: -len("EventDefinition")]
            if what not in EVENT_DEFINITIONS[kind]:
                self.add(
                    node,
                    f"{label(node)}: {what} events are not supported by the engine as {kind}",
                    definition.sourceline,
                )
            elif what == "timer":
                self._timer(node, definition)
            elif what == "conditional":
                condition = definition.find(f"{{{BPMN_NS}}}condition")
                if not (_raw(condition) or "").strip():
                    self.add(node, f"{label(node)}: the conditional event has no condition")
                self.expr(node, _raw(condition), "eval", "the condition", _line(condition))
            attr = _REFERENCED.get(what)
            ref_id = definition.get(attr) if attr else None
            if ref_id and self.doc_ids.get(ref_id) != what:
                self.add(
                    node,
                    f"{label(node)}: {attr} '{ref_id}' names no {what} in this file",
                    definition.sourceline,
                )

    def _timer(self, node: etree._Element, definition: etree._Element) -> None:
        for kind in ("timeDate", "timeDuration", "timeCycle"):  # the library's order
            value = definition.find(f"{{{BPMN_NS}}}{kind}")
            if value is not None:
                break
        else:
            self.add(node, f"{label(node)}: the timer has no timeDuration, timeDate or timeCycle")
            return
        text = (value.text or "").strip()
        if not text:
            self.add(node, f"{label(node)}: the timer's {kind} is empty", value.sourceline)
        elif _BARE_ISO.match(text):
            self.add(
                node,
                f"{label(node)}: the timer's {kind} is an expression, so a fixed "
                f'value needs quotes: "{text}"',
                value.sourceline,
            )
        else:
            before = len(self.problems)
            self.expr(node, value.text, "eval", f"the timer's {kind}", value.sourceline)
            if len(self.problems) == before:
                self._timer_literal(node, kind, text, value.sourceline)

    def _timer_literal(self, node: etree._Element, kind: str, text: str, line: int | None) -> None:
        try:
            literal = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return  # computed at run time
        try:
            if not isinstance(literal, str):
                raise ValueError(literal)
            if kind == "timeDuration":
                Timer.parse_iso_duration(literal)
            elif kind == "timeDate":
                if not isinstance(Timer.parse_time_or_duration(literal), datetime):
                    raise ValueError(literal)
            else:
                Timer.parse_iso_recurring_interval(literal)
        except Exception:
            self.add(
                node,
                f"{label(node)}: the timer's {kind} {text} is not a valid ISO 8601 value",
                line,
            )

    def _service(self, node: etree._Element) -> None:
        operators = extensions(node, "serviceTaskOperator")
        if not operators or not (operators[-1].get("id") or "").strip():
            hint = foreign_hint(
                node,
                "class",
                "delegateExpression",
                "expression",
                "topic",
                "connectorId",
                "type",
                "taskDefinition",
            )
            advice = (
                "bind it to an operation or remove it"
                if hint
                else ("pick one of the registered operations in its properties")
            )
            self.add(node, f"{label(node)} is not bound to an operation{hint}: {advice}")
            return
        operation = (operators[-1].get("id") or "").strip()
        if operation in self.by_id:
            # SpiffWorkflow finds flow targets by id anywhere in the file, operators too.
            self.add(
                node,
                f"{label(node)}: its operation '{operation}' has the same name as the id of "
                f"{label(self.by_id[operation])}, which the engine would confuse: give that "
                "element another id",
                operators[-1].sourceline,
            )
        for param in operators[-1].iter(f"{{{SPIFF_NS}}}parameter"):
            name = param.get("id")
            if not name or not param.get("type"):
                self.add(
                    node, f"{label(node)}: a parameter is missing its id or type", param.sourceline
                )
            elif param.get("value") is None:
                self.add(node, f"{label(node)}: parameter '{name}' has no value", param.sourceline)
            else:
                self.expr(node, param.get("value"), "eval", f"parameter '{name}'", param.sourceline)


def _raw(element: etree._Element | None) -> str | None:
    return None if element is None else element.text


def _line(element: etree._Element | None) -> int | None:
    return None if element is None else element.sourceline
