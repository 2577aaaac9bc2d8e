"""Convert one Camunda 7 BPMN file: ``camunda:`` extensions and JUEL -> PMOflow's markup.

Each handler reads (and removes) the Camunda constructs of one kind of element and
reports what became of them; :func:`_sweep` then removes whatever Camunda markup is left,
reporting what was dropped.  The result keeps the original ids, names and layout.
"""

from __future__ import annotations

from lxml import etree

from engine.camunda7.base import (
    _B,
    _HARMLESS,
    _SERVICE_LIKE,
    HUMAN,
    BpmnResult,
    Settings,
    _form_stem,
    _short,
)
from engine.camunda7.common import (
    SPIFF_NS,
    FileReport,
    detach,
    extensions,
    is_camunda,
    label,
    local,
    pop_camunda_attr,
)
from engine.camunda7.extensions import ExtensionMixin
from engine.camunda7.flow import FlowMixin
from engine.camunda7.people import PeopleMixin
from engine.camunda7.tasks import TaskMixin

__all__ = ["BpmnConverter", "BpmnResult", "Settings"]


class BpmnConverter(PeopleMixin, FlowMixin, TaskMixin, ExtensionMixin):
    """Converts one parsed BPMN tree in place."""

    def __init__(
        self,
        tree: etree._ElementTree,
        report: FileReport,
        settings: Settings,
        decision_outputs: dict[str, list[str]],
        requires: dict[str, list[str]] | None = None,
    ):
        self.tree = tree
        self.root = tree.getroot()
        self.report = report
        self.settings = settings
        self.decision_outputs = decision_outputs
        self.requires = requires or {}
        self.result = BpmnResult(b"")
        self.lanes: dict[str, str] = {}
        self.stem = _form_stem(report.file)
        self.kept: set[str] = set()

    # -- driver --------------------------------------------------------------------------
    def run(self) -> BpmnResult:
        """Convert every process of the file and serialize the result."""
        for lane in self.root.iter(f"{_B}lane"):
            for ref in lane.iter(f"{_B}flowNodeRef"):
                if lane.get("name"):
                    self.lanes.setdefault((ref.text or "").strip(), lane.get("name", "").strip())
        for container in list(self.root.iter(f"{_B}subProcess", f"{_B}transaction")):
            lane_name = self.lanes.get(container.get("id", ""))
            for inner in container.iterdescendants():
                # children of a sub-process inherit its lane (as the engine does)
                if lane_name and inner.get("id"):
                    self.lanes.setdefault(inner.get("id", ""), lane_name)
        for process in self.root.iter(f"{_B}process"):
            self._process(process)
            for element in list(process.iter()):
                if isinstance(element.tag, str) and element.tag.startswith(_B):
                    self._element(element)
        self._sweep()
        self.root = _with_spiff_namespace(self.root)
        etree.cleanup_namespaces(self.root)
        self.result.content = etree.tostring(
            self.root.getroottree(), xml_declaration=True, encoding="UTF-8"
        )
        return self.result

    def _element(self, node: etree._Element) -> None:
        kind = local(node)
        if kind == "sequenceFlow":
            self._condition(node, node.find(f"{_B}conditionExpression"), "conditionExpression")
        elif kind == "conditionalEventDefinition":
            owner = node.getparent()
            self._condition(owner, node.find(f"{_B}condition"), "condition")
            for name in ("variableName", "variableEvents"):
                value = pop_camunda_attr(node, name)
                if value:
                    self.report.add(
                        owner, f"camunda:{name}", "needs_decision",
                        f"camunda:{name}={value} on {label(owner)}: dropped; PMOflow checks "
                        "the condition whenever the process moves on",
                        node,
                    )  # fmt: skip
        elif kind == "timerEventDefinition":
            self._timer(node.getparent(), node)
        elif kind == "multiInstanceLoopCharacteristics":
            self._multi_instance(node.getparent(), node)
        elif kind == "startEvent":
            self._start(node)
        elif kind in HUMAN:
            self._human(node)
        elif kind == "scriptTask":
            self._script(node)
        elif kind == "callActivity":
            self._call(node)
        elif kind == "messageEventDefinition":
            self._message_throw(node)
        if kind in _SERVICE_LIKE:
            handled = self._service(node, node)
            if kind == "businessRuleTask" and not handled:
                self._decision(node)
            elif kind == "serviceTask" and not handled:
                self.report.say(
                    node, "serviceTask", "cannot_run", "camunda.service_without_implementation",
                    element=label(node),
                )  # fmt: skip
                self._binding(node, "serviceTask", "")
        if kind in ("errorEventDefinition", "escalationEventDefinition"):
            for name in ("errorCodeVariable", "errorMessageVariable", "escalationCodeVariable"):
                value = pop_camunda_attr(node, name)
                if value:
                    self.report.add(
                        node.getparent(), f"camunda:{name}", "needs_decision",
                        f"camunda:{name}={value} on {label(node.getparent())}: dropped; the "
                        "variable is not set in PMOflow",
                        node,
                    )  # fmt: skip
        if node.get("id") and extensions(node) is not None:
            self._io(node)
            self._listeners(node)
            self._properties(node)

    # -- process -------------------------------------------------------------------------
    def _process(self, process: etree._Element) -> None:
        for name in ("candidateStarterGroups", "candidateStarterUsers"):
            value = pop_camunda_attr(process, name)
            if value:
                self.report.add(
                    process, f"camunda:{name}", "needs_decision",
                    f"camunda:{name}={value} on process {label(process)}: dropped; who may "
                    "start a process is set by PMOflow's roles",
                )  # fmt: skip

    # -- what is left ----------------------------------------------------------------
    def _sweep(self) -> None:
        """Remove remaining Camunda markup; report what it was (harmless or dropped)."""
        for element in list(self.root.iter()):
            if not isinstance(element.tag, str):
                continue
            owner = _owner(element)
            for attr in [a for a in element.attrib if is_camunda(a)]:
                name, value = local(attr), element.attrib.pop(attr)
                if name in _HARMLESS or owner is None or local(owner) in ("definitions",):
                    continue
                self.report.say(
                    owner, f"camunda:{name}", "needs_decision", "camunda.setting_dropped",
                    element, construct=f"camunda:{name}", value=_short(value),
                    element=label(owner),
                )  # fmt: skip
            parent = element.getparent()
            if is_camunda(element) and parent is not None:
                if local(element) in _HARMLESS:
                    pass
                elif owner is not None and local(parent) == "extensionElements":
                    self.report.say(
                        owner, f"camunda:{local(element)}", "needs_decision",
                        "camunda.element_dropped", element,
                        construct=f"camunda:{local(element)}", element=label(owner),
                    )  # fmt: skip
                parent.remove(element)
        for ext in list(self.root.iter(f"{_B}extensionElements")):
            if len(ext) == 0 and not (ext.text or "").strip():
                detach(ext)


def _owner(element: etree._Element) -> etree._Element | None:
    """The nearest ancestor-or-self with an id inside a process (what a report names)."""
    node: etree._Element | None = element
    while node is not None:
        if node.get("id") and isinstance(node.tag, str) and node.tag.startswith(_B):
            return node
        node = node.getparent()
    return None


def _with_spiff_namespace(root: etree._Element) -> etree._Element:
    """The root, re-made with the ``spiffworkflow`` prefix declared when it is missing."""
    if SPIFF_NS in root.nsmap.values():
        return root
    nsmap = {k: v for k, v in root.nsmap.items() if k != "spiffworkflow"}
    nsmap["spiffworkflow"] = SPIFF_NS
    new = etree.Element(root.tag, attrib=dict(root.attrib), nsmap=nsmap)
    new.text = root.text
    for child in list(root):
        new.append(child)
    tree = root.getroottree()
    for sibling in list(root.itersiblings(preceding=True)):
        new.addprevious(sibling)
    del tree
    return new
