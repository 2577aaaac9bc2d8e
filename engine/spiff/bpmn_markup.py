"""What a BPMN diagram contains, read from the XML without running the library.

Namespaces and element-type tables, the plain input/output dataclasses shared by
:mod:`engine.spiff.flow_checks` and :mod:`engine.spiff.bundle`, the per-element metadata
(:class:`ElementInfo`: lane, role, form, properties) and the renaming of element ids that
collide with SpiffWorkflow's internal task-spec names.

Decision tables are read by :mod:`engine.spiff.dmn`; its public names
(``read_decision``, ``find_overlaps``, ...) stay importable from here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from lxml import etree
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.errors import Problem
from engine.spiff.sandbox import check_source
from engine.spiff.xmlsafe import DEFAULT_MAX_BYTES

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
#: PMOflow's own extension attributes (``pmoflow:name-zh``: an element's name in Chinese).
PMOFLOW_NS = "https://pmoflow.org/schema/bpmn/1.0"
#: Languages a diagram may name its elements in besides its own (``name``) one.
NAME_LANGUAGES = ("zh",)
#: DMN namespaces SpiffWorkflow has a schema for, with their version.
DMN_NAMESPACES = {
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "1.1",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "1.2",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "1.3",
}
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS, "bpmndi": BPMNDI_NS}

#: BPMN 2.0 activities: tasks of every kind and sub-processes.
ACTIVITY_TYPES = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "businessRuleTask",
        "sendTask",
        "receiveTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
    }
)
#: BPMN 2.0 events.
EVENT_TYPES = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "implicitThrowEvent",
    }
)
#: BPMN 2.0 gateways.
GATEWAY_TYPES = frozenset(
    {
        "exclusiveGateway",
        "inclusiveGateway",
        "parallelGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)
#: Every BPMN 2.0 flow-node type (activities, events, gateways, choreographies).
FLOW_NODE_TYPES = (
    ACTIVITY_TYPES
    | EVENT_TYPES
    | GATEWAY_TYPES
    | frozenset({"choreographyTask", "callChoreography", "subChoreography"})
)
#: The flow-node types SpiffBpmnParser has a parser for (read from its class maps).
SUPPORTED_TYPES = frozenset(
    etree.QName(tag).localname
    for tag in {**SpiffBpmnParser.PARSER_CLASSES, **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES}
)
CONTAINER_TYPES = frozenset({"subProcess", "transaction", "adHocSubProcess"})
#: Tasks the engine stops at until a person completes them (a plain task is manual too).
HUMAN_TASK_TYPES = frozenset({"userTask", "manualTask", "task"})
_NOUNS = {
    "exclusiveGateway": "gateway",
    "inclusiveGateway": "gateway",
    "parallelGateway": "gateway",
    "eventBasedGateway": "gateway",
    "complexGateway": "gateway",
    "sequenceFlow": "flow",
    "callActivity": "call activity",
    "serviceTask": "service task",
    "scriptTask": "script task",
    "businessRuleTask": "business rule task",
    "subProcess": "sub-process",
    "process": "process",
    # decision tables (DMN): problems about their rules and columns use the same label
    "rule": "rule",
    "input": "input column",
    "output": "output column",
    "decision": "decision",
}


@dataclass(frozen=True)
class SourceFile:
    """One uploaded file: its name (extension decides the kind) and raw bytes."""

    name: str
    content: bytes


@dataclass(frozen=True)
class CheckContext:
    """What exists outside the bundle being checked (already deployed, configured)."""

    known_processes: frozenset[str] = frozenset()
    known_decisions: frozenset[str] = frozenset()
    known_forms: frozenset[str] = frozenset()
    known_operations: frozenset[str] | None = None
    known_roles: frozenset[str] | None = None
    max_bytes: int = DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class ElementInfo:
    """Metadata of one flow node, keyed elsewhere by its original id."""

    id: str
    type: str
    name: str | None
    lane: str | None
    role: str | None
    form: str | None
    properties: dict[str, str] = field(default_factory=dict)
    documentation: str | None = None
    line: int | None = None
    process_id: str = ""
    #: For a boundary event: the activity it is attached to, whether it interrupts it, and
    #: the name of the step its outgoing flow leads to (what happens when it fires).
    attached_to: str | None = None
    interrupting: bool = True
    then: str | None = None


@dataclass(frozen=True)
class ProcessDef:
    """One executable process of a BPMN file, ready to store and to hand to the library."""

    key: str
    name: str
    file: str
    source: bytes
    runtime_xml: bytes
    id_map: dict[str, str]
    elements: dict[str, ElementInfo]
    start_form: str | None
    called_processes: frozenset[str]
    decisions: frozenset[str]
    forms: frozenset[str]
    operations: frozenset[str]


@dataclass(frozen=True)
class DecisionDef:
    """One DMN decision table (a DMN file holds exactly one).

    ``inputs``: ``[{"id", "label", "expression"}]``; ``outputs``: ``[{"id", "label",
    "name"}]``; ``rules``: ``[{"id", "line", "inputs": [cell text or None],
    "outputs": [...], "description"}]`` (None = empty cell, matches anything).
    """

    key: str
    name: str
    file: str
    source: bytes
    hit_policy: str
    inputs: list[dict]
    outputs: list[dict]
    rules: list[dict] = field(default_factory=list)


def local(element: etree._Element) -> str:
    """The local name of an element's tag ('' for comments and processing instructions)."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def label(element: etree._Element) -> str:
    """``task 'Review'`` — how messages name an element (its name, else its id)."""
    kind = local(element)
    noun = _NOUNS.get(kind) or ("event" if kind.endswith("Event") else "task")
    shown = element.get("name") or element.get("label") or element.get("id") or ""  # DMN: label
    return f"{noun} '{' '.join(shown.split())}'"


def problem(
    file: str,
    element: etree._Element,
    message: str,
    line: int | None = None,
    code: str = "diagram.problem",
    **params: object,
) -> Problem:
    """A Problem located at ``element`` (or at an explicit line inside it)."""
    return Problem(
        file=file,
        message=message,
        element_id=element.get("id"),
        element_name=element.get("name"),
        line=line or element.sourceline,
        code=code,
        params=params,
    )


def compile_check(source: str, mode: Literal["eval", "exec"]) -> tuple[int | None, str] | None:
    """The sandbox's verdict on ``source``; pathological input is a problem, not a crash."""
    try:
        return check_source(source, mode)
    except (RecursionError, MemoryError, ValueError, OverflowError) as exc:
        return None, f"the expression cannot be compiled ({type(exc).__name__})"


def check_expression(
    file: str,
    owner: etree._Element,
    source: str | None,
    mode: str,
    what: str,
    line: int | None = None,
) -> list[Problem]:
    """Compile ``source`` under the sandbox; a problem names ``owner`` and the file line."""
    if source is None:
        return []
    found = compile_check(source, "exec" if mode == "exec" else "eval")
    if found is None:
        return []
    offset, message = found
    lines = source.splitlines() or [""]
    snippet = lines[min(max((offset or 1) - 1, 0), len(lines) - 1)].strip()
    snippet = snippet if len(snippet) <= 60 else snippet[:57] + "..."
    start = line or owner.sourceline
    at = start + offset - 1 if start and offset else start
    text = f'{label(owner)}: {what} does not compile: {message} (at "{snippet}")'
    return [problem(file, owner, text, at)]


def bpmn_children(element: etree._Element, name: str) -> list[etree._Element]:
    """Direct children ``bpmn:<name>`` of an element."""
    return element.findall(f"{{{BPMN_NS}}}{name}")


def flow_nodes(container: etree._Element) -> Iterator[etree._Element]:
    """Direct flow-node children of a process or sub-process."""
    for child in container:
        if (
            isinstance(child.tag, str)
            and child.tag.startswith(f"{{{BPMN_NS}}}")
            and (local(child) in FLOW_NODE_TYPES)
        ):
            yield child


def is_executable(process: etree._Element) -> bool:
    """SpiffWorkflow's rule: a process is executable unless ``isExecutable`` says otherwise."""
    return process.get("isExecutable", "true") == "true"


def text_of(element: etree._Element | None) -> str | None:
    """Stripped text of an element, None when absent or blank."""
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def extensions(element: etree._Element, name: str) -> list[etree._Element]:
    """``bpmn:extensionElements/spiffworkflow:<name>`` children of an element."""
    return element.xpath(f"./bpmn:extensionElements/spiffworkflow:{name}", namespaces=NS)


def properties_of(element: etree._Element) -> dict[str, str]:
    """The ``spiffworkflow:property`` name/value pairs of an element (incomplete ones skipped)."""
    result: dict[str, str] = {}
    for props in extensions(element, "properties"):
        for prop in props.iter(f"{{{SPIFF_NS}}}property"):
            name, value = prop.get("name"), prop.get("value")
            if name is not None and value is not None:
                result[name] = value
    return result


def translated_names(root: etree._Element) -> dict[str, dict[str, str]]:
    """Language -> {``name`` -> ``pmoflow:name-<language>``} for every element of a file
    that carries both (process, participant, lane, task, event, gateway, flow)."""
    result: dict[str, dict[str, str]] = {}
    for lang in NAME_LANGUAGES:
        attr = f"{{{PMOFLOW_NS}}}name-{lang}"
        found: dict[str, str] = {}
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            name, translated = element.get("name"), element.get(attr)
            if name and translated and name.strip() and translated.strip():
                found[" ".join(name.split())] = " ".join(translated.split())
        result[lang] = found
    return result


def lane_index(root: etree._Element) -> dict[str, str | None]:
    """Node id -> lane name, as SpiffWorkflow computes it (document order, innermost wins)."""
    lanes: dict[str, str | None] = {}
    for ref in root.iter(f"{{{BPMN_NS}}}flowNodeRef"):
        lane = ref.getparent()  # a flowNodeRef sits in its lane
        if ref.text and ref.text.strip() and lane is not None:
            lanes[ref.text.strip()] = lane.get("name")
    return lanes


def collect_elements(process: etree._Element) -> dict[str, ElementInfo]:
    """ElementInfo for every flow node of a process, sub-processes included."""
    lanes = lane_index(process.getroottree().getroot())
    result: dict[str, ElementInfo] = {}
    _collect(process, process.get("id", ""), lanes, None, result)
    return result


def _collect(
    container: etree._Element,
    process_id: str,
    lanes: dict[str, str | None],
    inherited_lane: str | None,
    result: dict[str, ElementInfo],
) -> None:
    nodes = list(flow_nodes(container))
    node_names = {n.get("id"): n.get("name") or n.get("id") for n in nodes}
    next_of: dict[str | None, str | None] = {}
    for flow in container.iterchildren(f"{{{BPMN_NS}}}sequenceFlow"):
        next_of.setdefault(flow.get("sourceRef"), flow.get("targetRef"))
    for node in nodes:
        node_id = node.get("id")
        if node_id is None:
            continue
        lane = inherited_lane if inherited_lane is not None else lanes.get(node_id)
        props = properties_of(node)
        doc = node.find(f"{{{BPMN_NS}}}documentation")
        result[node_id] = ElementInfo(
            id=node_id,
            type=local(node),
            name=node.get("name"),
            lane=lane,
            role=props.get("role") or lane,
            form=props.get("formJsonSchemaFilename") or None,
            properties=props,
            documentation=text_of(doc),
            line=node.sourceline,
            process_id=process_id,
            attached_to=node.get("attachedToRef"),
            interrupting=node.get("cancelActivity", "true").lower() != "false",
            then=node_names.get(next_of.get(node_id)),
        )
        if local(node) in CONTAINER_TYPES:
            # Children of a sub-process inherit its lane (SpiffWorkflow does the same).
            _collect(node, process_id, lanes, lane, result)


#: Names of :mod:`engine.spiff.dmn` importable from here (it imports this module, so they
#: are resolved on first access).
_DMN_NAMES = frozenset(
    {"SUPPORTED_HIT_POLICIES", "CellSet", "cell_problem", "find_overlaps", "read_decision"}
)


def __getattr__(name: str) -> Any:
    """The DMN names above, from :mod:`engine.spiff.dmn` (PEP 562)."""
    if name in _DMN_NAMES:
        from engine.spiff import dmn

        return getattr(dmn, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
