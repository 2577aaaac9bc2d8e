"""Deploy-time checks of one executable BPMN process (pure functions over the lxml tree).

Each finding is a :class:`~engine.errors.Problem` naming the element (id, name, line in
the file) in words a process owner understands.  The checks mirror what SpiffWorkflow
3.2 does with the markup (see ``docs/modeling.md``): what it rejects at parse time, what
it silently ignores and what would only fail while an instance runs.

This module checks documents, containers and flows; single elements are checked by
:mod:`engine.spiff.node_checks`, references to other files by
:mod:`engine.spiff.references` (their public names stay importable from here).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from lxml import etree

from engine.errors import Problem
from engine.spiff.bpmn_markup import (
    BPMN_NS,
    CONTAINER_TYPES,
    bpmn_children,
    flow_nodes,
    label,
    local,
    problem,
)
from engine.spiff.dialects import script_language
from engine.spiff.node_checks import (
    EVENT_DEFINITIONS,
    ISO_DURATION,
    ElementChecker,
    _line,
    _raw,
)
from engine.spiff.references import REFERENCE_KINDS, check_references, gather_references
from engine.spiff.xmlsafe import is_standard

__all__ = [
    "EVENT_DEFINITIONS",
    "ISO_DURATION",
    "MAX_CHAIN",
    "REFERENCE_KINDS",
    "ProcessChecker",
    "check_references",
    "file_problems",
    "gather_references",
]

#: Longest chain of elements the library's recursive parser is allowed to walk.
MAX_CHAIN = 300
_SPLITTING = frozenset(
    {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "startEvent"}
)
_CONDITIONAL = frozenset({"exclusiveGateway", "inclusiveGateway"})


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
            found.append(
                problem(
                    file,
                    element,
                    f"id '{element_id}' is used by more than one "
                    f"element (first at line {first.sourceline})",
                )
            )
        else:
            seen[element_id] = element
    for store in root.iter(f"{{{BPMN_NS}}}dataStore"):
        found.append(
            problem(
                file,
                store,
                f"data store '{store.get('name') or store.get('id')}'"
                " is not supported by the engine",
            )
        )
    return found


class ProcessChecker(ElementChecker):
    """Runs every element-level check of one executable process."""

    def run(self) -> list[Problem]:
        """All problems of the process, in document order of the checks."""
        self._container(self.process, adhoc=False, parent_objects=frozenset())
        return self.problems

    # -- containers and flows ------------------------------------------------------------
    def _container(
        self, container: etree._Element, adhoc: bool, parent_objects: frozenset[str | None]
    ) -> None:
        nodes = {node_id: n for n in flow_nodes(container) if (node_id := n.get("id"))}
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
            self.add(
                container,
                f"process '{container.get('name') or container.get('id')}' has no start event",
            )
        elif kind in ("subProcess", "transaction") and starts != 1:
            self.add(
                container, f"{label(container)} needs exactly one start event (it has {starts})"
            )
        if kind in ("process", "subProcess", "transaction") and not ends:
            self.add(container, f"{label(container)} has no end event: it could never finish")
        if kind == "adHocSubProcess":
            if starts or ends:
                self.add(
                    container,
                    f"{label(container)}: an ad-hoc sub-process may not contain "
                    "start or end events",
                )
            if container.get("ordering") == "sequential":
                self.add(
                    container,
                    f"{label(container)}: sequential ad-hoc sub-processes are not supported",
                )
            condition = container.find(f"{{{BPMN_NS}}}completionCondition")
            self.expr(
                container, _raw(condition), "eval", "the completion condition", _line(condition)
            )

    def _flows(
        self, container: etree._Element, nodes: dict[str, etree._Element]
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
                    self.add(
                        flow,
                        f"{label(flow)}: its {word} '{ref}' is not an element of "
                        "this process or sub-process",
                    )
                    ok = False
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            if ok and source and target:  # ok: both are given
                outgoing[source].append(flow)
                incoming[target].append(flow)
        return incoming, outgoing

    def _connections(
        self,
        node: etree._Element,
        incoming: list,
        outgoing: list,
        adhoc: bool,
        nodes: dict[str, etree._Element],
    ) -> None:
        kind = local(node)
        event_sub = node.get("triggeredByEvent") == "true"
        free = adhoc or event_sub or node.get("isForCompensation") == "true"
        if not incoming and not free and kind not in ("startEvent", "boundaryEvent"):
            self.add(node, f"{label(node)} has no incoming flow: it can never be reached")
        if not outgoing and not free and kind != "endEvent":
            self.add(node, f"{label(node)} has no outgoing flow: add a path to an end event")
        if len(outgoing) > 1 and kind not in _SPLITTING:
            names = ", ".join(f.get("id") for f in outgoing)
            self.add(
                node,
                f"{label(node)} has {len(outgoing)} outgoing flows ({names}): the "
                "engine only splits at gateways; add a parallel or exclusive gateway",
            )
        if kind == "boundaryEvent" and node.get("attachedToRef") not in nodes:
            self.add(
                node,
                f"{label(node)} is attached to '{node.get('attachedToRef')}', which "
                "is not an activity of this process",
            )
        self._conditions(node, outgoing)

    def _conditions(self, node: etree._Element, outgoing: list) -> None:
        conditional = local(node) in _CONDITIONAL
        default = node.get("default")
        out_ids = [f.get("id") for f in outgoing]
        if default and conditional and default not in out_ids:
            self.add(
                node,
                f"{label(node)}: its default flow '{default}' is not one of its outgoing flows",
            )
        missing = []
        for flow in outgoing:
            expression = flow.find(f"{{{BPMN_NS}}}conditionExpression")
            raw = _raw(expression)
            if raw is not None and not conditional:
                self.add(
                    flow,
                    f"{label(flow)}: its condition is ignored: only flows leaving an "
                    "exclusive or inclusive gateway are conditional",
                )
            elif raw is not None and flow.get("id") == default:
                self.add(
                    flow,
                    f"{label(flow)} is the default flow of {label(node)} but has a "
                    "condition (the engine ignores it): remove the condition",
                )
            elif raw is not None and not raw.strip():
                self.add(flow, f"{label(flow)} has an empty condition")
            elif raw is not None and _foreign_language(expression):
                self.add(
                    flow,
                    f"{label(flow)}: the condition is written in "
                    f"{_foreign_language(expression)}; the engine reads only its own "
                    "Python-like expressions: rewrite the condition",
                    expression.sourceline,
                )
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
                        self.add(
                            nodes[child],
                            f"{label(nodes[child])} comes after a chain of "
                            f"more than {MAX_CHAIN} elements: the engine cannot read such a "
                            "long chain; move parts into sub-processes or call activities",
                        )
                        return
                    stack.append((child, iter(_next(child, attached, outgoing))))


def _foreign_language(expression: etree._Element) -> str | None:
    """The language a condition declares when the engine cannot read it (JUEL is said
    by the expression check, with a rewrite)."""
    language = script_language(expression.get("language"))
    return None if language in (None, "JUEL") else language


def _flow_name(flow: etree._Element) -> str:
    name = flow.get("name")
    return f"{flow.get('id')} '{name}'" if name else str(flow.get("id"))


def _next(node_id: str, attached: dict[str, list[str]], outgoing: dict[str, list]) -> list[str]:
    return attached.get(node_id, []) + [f.get("targetRef") for f in outgoing.get(node_id, [])]
