"""Deploy-time checks of one executable BPMN process (pure functions over the lxml tree).

Each finding is a :class:`~engine.errors.Problem` naming the element (id, name, line in
the file) in words a process owner understands.  The checks mirror what SpiffWorkflow
3.2 does with the markup (see ``docs/modeling.md``): what it rejects at parse time, what
it silently ignores and what would only fail while an instance runs.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as Timer

from engine.errors import Problem
from engine.spiff.elements import (
    BPMN_NS,
    CONTAINER_TYPES,
    FLOW_NODE_TYPES,
    HUMAN_TASK_TYPES,
    SPIFF_NS,
    SUPPORTED_TYPES,
    CheckContext,
    ElementInfo,
    bpmn_children,
    check_expression,
    extensions,
    flow_nodes,
    label,
    local,
    problem,
    properties_of,
)
from engine.spiff.xmlsafe import is_standard

#: Longest chain of elements the library's recursive parser is allowed to walk.
MAX_CHAIN = 300
ISO_DURATION = re.compile(
    r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+([.,]\d+)?S)?)?$"
)
_BARE_ISO = re.compile(r"^(R\d*/)?(P[0-9TYMWDHS.,]+|\d{4}-\d\d-\d\d(T[0-9:.+\-Z]*)?)$", re.I)
_SPLITTING = frozenset(
    {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "startEvent"}
)
_CONDITIONAL = frozenset({"exclusiveGateway", "inclusiveGateway"})
#: Event definitions SpiffWorkflow's parsers read, per event type; others are ignored by it.
EVENT_DEFINITIONS = {
    "startEvent": {"message", "signal", "timer", "conditional"},
    "endEvent": {"message", "cancel", "error", "escalation", "terminate"},
    "intermediateCatchEvent": {"message", "signal", "timer", "conditional"},
    "intermediateThrowEvent": {"message", "signal", "escalation"},
    "boundaryEvent": {"cancel", "error", "escalation", "message", "signal", "timer", "conditional"},
}
_REFERENCED = {"message": "messageRef", "signal": "signalRef", "error": "errorRef",
               "escalation": "escalationRef"}


def file_problems(root: etree._Element, file: str) -> list[Problem]:
    """Document-wide checks: duplicate ids and data stores (the engine has none)."""
    found: list[Problem] = []
    seen: dict[str, etree._Element] = {}
    for element in root.iter():
        element_id = element.get("id") if is_standard(element) else None
        if element_id is None:
            continue
        if element_id in seen:
            first = seen[element_id]
            found.append(problem(file, element, f"id '{element_id}' is used by more than one "
                                 f"element (first at line {first.sourceline})"))
        else:
            seen[element_id] = element
    for store in root.iter(f"{{{BPMN_NS}}}dataStore"):
        found.append(problem(file, store, f"data store '{store.get('name') or store.get('id')}'"
                             " is not supported by the engine"))
    return found


class ProcessChecker:
    """Runs every element-level check of one executable process."""

    def __init__(self, file: str, process: etree._Element, elements: dict[str, ElementInfo],
                 ctx: CheckContext):
        self.file = file
        self.process = process
        self.elements = elements
        self.ctx = ctx
        self.problems: list[Problem] = []
        root = process.getroottree().getroot()
        self.by_id = {e.get("id"): e for e in root.iter() if is_standard(e) and e.get("id")}
        self.doc_ids = {key: local(e) for key, e in self.by_id.items()}

    def run(self) -> list[Problem]:
        """All problems of the process, in document order of the checks."""
        self._container(self.process, adhoc=False, parent_objects=frozenset())
        return self.problems

    def add(self, element: etree._Element, message: str, line: int | None = None) -> None:
        """Record a problem at ``element``."""
        self.problems.append(problem(self.file, element, message, line))

    def expr(self, owner: etree._Element, source: str | None, mode: str, what: str,
             line: int | None = None) -> None:
        """Record a problem when an expression does not compile."""
        self.problems += check_expression(self.file, owner, source, mode, what, line)

    # -- containers and flows ------------------------------------------------------------
    def _container(self, container: etree._Element, adhoc: bool,
                   parent_objects: frozenset[str]) -> None:
        nodes = {n.get("id"): n for n in flow_nodes(container) if n.get("id")}
        objects = frozenset(o.get("id") for o in bpmn_children(container, "dataObject"))
        self._start_end(container, nodes.values())
        incoming, outgoing = self._flows(container, nodes)
        for node_id, node in nodes.items():
            self._connections(node, incoming[node_id], outgoing[node_id], adhoc, nodes)
            self._node(node)
            self._data(node, objects | parent_objects)
            if local(node) in CONTAINER_TYPES:
                self._container(node, local(node) == "adHocSubProcess", objects)
        if not adhoc:
            self._chain(nodes, outgoing)

    def _start_end(self, container: etree._Element, nodes: Iterable[etree._Element]) -> None:
        kinds = [local(n) for n in nodes]
        starts, ends = kinds.count("startEvent"), kinds.count("endEvent")
        kind = local(container)
        if kind == "process" and not starts:
            self.add(container, f"process '{container.get('name') or container.get('id')}' "
                     "has no start event")
        elif kind in ("subProcess", "transaction") and starts != 1:
            self.add(container, f"{label(container)} needs exactly one start event "
                     f"(it has {starts})")
        if kind in ("process", "subProcess", "transaction") and not ends:
            self.add(container, f"{label(container)} has no end event: it could never finish")
        if kind == "adHocSubProcess":
            if starts or ends:
                self.add(container, f"{label(container)}: an ad-hoc sub-process may not contain "
                         "start or end events")
            if container.get("ordering") == "sequential":
                self.add(container, f"{label(container)}: sequential ad-hoc sub-processes are "
                         "not supported")
            condition = container.find(f"{{{BPMN_NS}}}completionCondition")
            self.expr(container, _raw(condition), "eval", "the completion condition",
                      _line(condition))

    def _flows(self, container: etree._Element, nodes: dict[str, etree._Element]
               ) -> tuple[defaultdict[str, list], defaultdict[str, list]]:
        incoming: defaultdict[str, list] = defaultdict(list)
        outgoing: defaultdict[str, list] = defaultdict(list)
        for flow in bpmn_children(container, "sequenceFlow"):
            ok = True
            for attr, word in (("sourceRef", "source"), ("targetRef", "target")):
                ref = flow.get(attr)
                if not ref:
                    self.add(flow, f"{label(flow)} has no {word} ({attr} is missing)")
                    ok = False
                elif ref not in nodes:
                    self.add(flow, f"{label(flow)}: its {word} '{ref}' is not an element of "
                             "this process or sub-process")
                    ok = False
            if ok:
                outgoing[flow.get("sourceRef")].append(flow)
                incoming[flow.get("targetRef")].append(flow)
        return incoming, outgoing

    def _connections(self, node: etree._Element, incoming: list, outgoing: list, adhoc: bool,
                     nodes: dict[str, etree._Element]) -> None:
        kind = local(node)
        event_sub = node.get("triggeredByEvent") == "true"
        free = adhoc or event_sub or node.get("isForCompensation") == "true"
        if not incoming and not free and kind not in ("startEvent", "boundaryEvent"):
            self.add(node, f"{label(node)} has no incoming flow: it can never be reached")
        if not outgoing and not free and kind != "endEvent":
            self.add(node, f"{label(node)} has no outgoing flow: add a path to an end event")
        if len(outgoing) > 1 and kind not in _SPLITTING:
            names = ", ".join(f.get("id") for f in outgoing)
            self.add(node, f"{label(node)} has {len(outgoing)} outgoing flows ({names}): the "
                     "engine only splits at gateways; add a parallel or exclusive gateway")
        if kind == "boundaryEvent" and node.get("attachedToRef") not in nodes:
            self.add(node, f"{label(node)} is attached to '{node.get('attachedToRef')}', which "
                     "is not an activity of this process")
        self._conditions(node, outgoing)

    def _conditions(self, node: etree._Element, outgoing: list) -> None:
        conditional = local(node) in _CONDITIONAL
        default = node.get("default")
        out_ids = [f.get("id") for f in outgoing]
        if default and conditional and default not in out_ids:
            self.add(node, f"{label(node)}: its default flow '{default}' is not one of its "
                     "outgoing flows")
        missing = []
        for flow in outgoing:
            expression = flow.find(f"{{{BPMN_NS}}}conditionExpression")
            raw = _raw(expression)
            if raw is not None and not conditional:
                self.add(flow, f"{label(flow)}: its condition is ignored: only flows leaving an "
                         "exclusive or inclusive gateway are conditional")
            elif raw is not None and flow.get("id") == default:
                self.add(flow, f"{label(flow)} is the default flow of {label(node)} but has a "
                         "condition (the engine ignores it): remove the condition")
            elif raw is not None and not raw.strip():
                self.add(flow, f"{label(flow)} has an empty condition")
            elif raw is not None:
                self.expr(flow, raw, "eval", "the condition", expression.sourceline)
            elif flow.get("id") != default:
                missing.append(flow)
        if conditional and len(outgoing) > 1 and missing:
            names = ", ".join(_flow_name(f) for f in missing)
            tail = "" if default in out_ids else " and no default"
            self.add(node, f"{label(node)} has outgoing flows without conditions{tail}: {names}")

    def _chain(self, nodes: dict[str, etree._Element], outgoing: dict[str, list]) -> None:
        """Mirror the library's recursive walk; refuse chains that would exhaust the stack."""
        attached: dict[str, list[str]] = defaultdict(list)
        for node_id, node in nodes.items():
            if local(node) == "boundaryEvent":
                attached[node.get("attachedToRef", "")].append(node_id)
        starts = [i for i, n in nodes.items() if local(n) == "startEvent"]
        seen: set[str] = set()
        for start in starts:
            seen.add(start)
            stack = [(start, iter(_next(start, attached, outgoing)))]
            while stack:
                child = next(stack[-1][1], None)
                if child is None:
                    stack.pop()
                elif child not in seen and child in nodes:
                    seen.add(child)
                    if len(stack) >= MAX_CHAIN:
                        self.add(nodes[child], f"{label(nodes[child])} comes after a chain of "
                                 f"more than {MAX_CHAIN} elements: the engine cannot read such a "
                                 "long chain; move parts into sub-processes or call activities")
                        return
                    stack.append((child, iter(_next(child, attached, outgoing))))

    # -- single elements -----------------------------------------------------------------
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
            self.add(node, f"{label(node)} has no decision to call "
                     "(spiffworkflow:calledDecisionId is missing)")
        elif kind == "callActivity" and not (node.get("calledElement") or "").strip():
            self.add(node, f"{label(node)} has no called process (calledElement is missing)")

    def _data(self, node: etree._Element, visible: frozenset[str]) -> None:
        """Data associations must reach a data object of this (sub-)process or its parent.

        SpiffWorkflow looks no further than the parent, and loops forever when a
        sub-process refers to a data object it cannot find there.
        """
        for path, verb in (("dataInputAssociation/bpmn:sourceRef", "reads"),
                           ("dataOutputAssociation/bpmn:targetRef", "writes")):
            for ref in node.xpath(f"./bpmn:{path}", namespaces={"bpmn": BPMN_NS}):
                target = self.by_id.get((ref.text or "").strip())
                if target is None or local(target) != "dataObjectReference":
                    self.add(node, f"{label(node)} {verb} '{(ref.text or '').strip()}', which is "
                             "not a data object reference (the engine supports data objects "
                             "only)", ref.sourceline)
                elif target.get("dataObjectRef") not in visible:
                    name = target.get("name") or target.get("id")
                    self.add(node, f"{label(node)} {verb} data object '{name}', which is not "
                             "defined in this process or its parent", ref.sourceline)

    def _role(self, node: etree._Element) -> None:
        info = self.elements.get(node.get("id", ""))
        role = info.role if info else None
        known = self.ctx.known_roles
        if not role:
            self.add(node, f"{label(node)} has no lane or role")
        elif known is not None and role not in known:
            source = "its role property" if info and info.properties.get("role") else "its lane"
            self.add(node, f"{label(node)}: role '{role}' (from {source}) is not a known role; "
                     f"known roles: {', '.join(sorted(known))}")

    def _properties(self, node: etree._Element) -> None:
        for prop in node.xpath("./bpmn:extensionElements/spiffworkflow:properties//"
                               "spiffworkflow:property", namespaces={"bpmn": BPMN_NS,
                               "spiffworkflow": SPIFF_NS}):
            name, value = prop.get("name"), prop.get("value")
            if not name or value is None:
                self.add(node, f"{label(node)}: a property is missing its name or value",
                         prop.sourceline)
            elif name == "sla" and not ISO_DURATION.match(value.strip()):
                self.add(node, f"{label(node)}: sla '{value}' is not an ISO 8601 duration "
                         "such as P3D or PT48H", prop.sourceline)
            elif name in ("fourEyes", "distinctActors") and value.strip() not in (
                    "true", "false"):
                self.add(node, f"{label(node)}: {name} must be 'true' or 'false'",
                         prop.sourceline)
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
        if not scripts or not (scripts[-1].text or "").strip():
            self.add(node, f"{label(node)} has no script")
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
            if (cardinality is None) == (data_input is None):
                self.add(node, f"{label(node)}: a multi-instance activity needs exactly one of "
                         "loopCardinality or loopDataInputRef")
            self.expr(node, _raw(cardinality), "eval", "the loop cardinality", _line(cardinality))
            done = loop.find(f"{{{BPMN_NS}}}completionCondition")
            self.expr(node, _raw(done), "eval", "the completion condition", _line(done))

    def _events(self, node: etree._Element) -> None:
        kind = local(node)
        definitions = [c for c in node if local(c).endswith("EventDefinition")]
        for ref in bpmn_children(node, "eventDefinitionRef"):
            self.add(node, f"{label(node)}: shared event definitions (eventDefinitionRef) are "
                     "not supported", ref.sourceline)
        if kind == "boundaryEvent" and not definitions:
            self.add(node, f"{label(node)}: a boundary event needs an event definition")
        for definition in definitions:
            what = local(definition)[: -len("EventDefinition")]
            if what not in EVENT_DEFINITIONS[kind]:
                self.add(node, f"{label(node)}: {what} events are not supported by the engine "
                         f"as {kind}", definition.sourceline)
            elif what == "timer":
                self._timer(node, definition)
            elif what == "conditional":
                condition = definition.find(f"{{{BPMN_NS}}}condition")
                if not (_raw(condition) or "").strip():
                    self.add(node, f"{label(node)}: the conditional event has no condition")
                self.expr(node, _raw(condition), "eval", "the condition", _line(condition))
            attr = _REFERENCED.get(what)
            ref = definition.get(attr) if attr else None
            if ref and self.doc_ids.get(ref) != what:
                self.add(node, f"{label(node)}: {attr} '{ref}' names no {what} in this file",
                         definition.sourceline)

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
            self.add(node, f"{label(node)}: the timer's {kind} is an expression, so a fixed "
                     f'value needs quotes: "{text}"', value.sourceline)
        else:
            before = len(self.problems)
            self.expr(node, value.text, "eval", f"the timer's {kind}", value.sourceline)
            if len(self.problems) == before:
                self._timer_literal(node, kind, text, value.sourceline)

    def _timer_literal(self, node: etree._Element, kind: str, text: str, line: int) -> None:
        try:
            literal = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return  # computed at run time
        try:
            if not isinstance(literal, str):
                raise ValueError(literal)
            if kind == "timeDuration":
                Timer.parse_iso_duration(literal)
            elif kind == "timeDate" and not isinstance(Timer.parse_time_or_duration(literal),
                                                       datetime):
                raise ValueError(literal)
            else:
                Timer.parse_iso_recurring_interval(literal)
        except Exception:
            self.add(node, f"{label(node)}: the timer's {kind} {text} is not a valid ISO 8601 "
                     "value", line)

    def _service(self, node: etree._Element) -> None:
        operators = extensions(node, "serviceTaskOperator")
        if not operators or not (operators[-1].get("id") or "").strip():
            self.add(node, f"{label(node)} has no operation (spiffworkflow:serviceTaskOperator)")
            return
        for param in operators[-1].iter(f"{{{SPIFF_NS}}}parameter"):
            name = param.get("id")
            if not name or not param.get("type"):
                self.add(node, f"{label(node)}: a parameter is missing its id or type",
                         param.sourceline)
            elif param.get("value") is None:
                self.add(node, f"{label(node)}: parameter '{name}' has no value",
                         param.sourceline)
            else:
                self.expr(node, param.get("value"), "eval", f"parameter '{name}'",
                          param.sourceline)


REFERENCE_KINDS = ("form", "decision", "process", "operation")


def gather_references(process: etree._Element) -> list[tuple[str, str, etree._Element]]:
    """``(kind, target, element)`` for every form, decision, process and operation used."""
    found = []
    for node in process.iter():
        kind = local(node)
        if kind not in FLOW_NODE_TYPES:
            continue
        form = (properties_of(node).get("formJsonSchemaFilename") or "").strip()
        if form:
            found.append(("form", form, node))
        target = None
        if kind == "businessRuleTask":
            target = ("decision", _decision_ref(node))
        elif kind == "callActivity":
            target = ("process", (node.get("calledElement") or "").strip())
        elif kind == "serviceTask":
            operators = extensions(node, "serviceTaskOperator")
            target = ("operation", (operators[-1].get("id") or "").strip() if operators else "")
        if target and target[1]:
            found.append((target[0], target[1], node))
    return found


def check_references(
    file: str,
    references: list[tuple[str, str, etree._Element]],
    available: dict[str, frozenset[str] | None],
    not_executable: frozenset[str] = frozenset(),
) -> list[Problem]:
    """Problems for references to forms, decisions, processes or operations that don't exist.

    ``available[kind]`` is None when that kind is not checked (unknown operation list).
    """
    found = []
    for kind, target, node in references:
        known = available.get(kind)
        if known is None or target in known:
            continue
        if kind == "form":
            message = f"form file '{target}' is neither in this deployment nor deployed"
        elif kind == "operation":
            message = (f"uses unknown operation '{target}'; known operations: "
                       f"{', '.join(sorted(known)) or 'none'}")
        else:
            message = f"calls {kind} '{target}', which is neither in this deployment nor deployed"
            if target in not_executable:
                message += " (a process with that id is in the deployment but is not executable)"
        found.append(problem(file, node, f"{label(node)} {message}" if kind != "form"
                             else f"{label(node)}: {message}"))
    return found


def _raw(element: etree._Element | None) -> str | None:
    return None if element is None else element.text


def _line(element: etree._Element | None) -> int | None:
    return None if element is None else element.sourceline


def _flow_name(flow: etree._Element) -> str:
    name = flow.get("name")
    return f"{flow.get('id')} '{name}'" if name else str(flow.get("id"))


def _next(node_id: str, attached: dict[str, list[str]], outgoing: dict[str, list]) -> list[str]:
    return attached.get(node_id, []) + [f.get("targetRef") for f in outgoing.get(node_id, [])]


def _decision_ref(node: etree._Element) -> str | None:
    refs = extensions(node, "calledDecisionId")
    if not refs:
        return None
    return (refs[-1].text or "").strip() or None
