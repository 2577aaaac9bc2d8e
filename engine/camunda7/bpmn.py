"""Convert one Camunda 7 BPMN file: ``camunda:`` extensions and JUEL -> PMOflow's markup.

Each handler reads (and removes) the Camunda constructs of one kind of element and
reports what became of them; :func:`_sweep` then removes whatever Camunda markup is left,
reporting what was dropped.  The result keeps the original ids, names and layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as Timer

from engine.camunda7 import forms
from engine.camunda7.common import (
    BPMN_NS,
    SPIFF_NS,
    FileReport,
    add_script,
    camunda_attr,
    camunda_children,
    detach,
    ensure_extensions,
    extensions,
    is_camunda,
    label,
    local,
    pop_camunda_attr,
    set_property,
    text_of,
)
from engine.camunda7.juel import OutsideSubset, is_expression, translate, translate_value
from engine.camunda7.report import ServiceBinding

_B = f"{{{BPMN_NS}}}"
_S = f"{{{SPIFF_NS}}}"
HUMAN = frozenset({"userTask", "manualTask", "task"})
_ACTIVITIES = frozenset(
    {"userTask", "manualTask", "task", "serviceTask", "scriptTask", "businessRuleTask",
     "callActivity", "subProcess", "sendTask", "receiveTask"}
)  # fmt: skip
_SERVICE_LIKE = frozenset({"serviceTask", "sendTask", "businessRuleTask"})
_THROWS = frozenset({"intermediateThrowEvent", "endEvent"})
#: Camunda attributes PMOflow has no use for: they change nothing about what a process does.
_HARMLESS = frozenset(
    {
        "asyncBefore", "asyncAfter", "async", "exclusive", "jobPriority", "taskPriority",
        "failedJobRetryTimeCycle", "historyTimeToLive", "versionTag", "isStartableInTasklist",
        "modelerTemplate", "modelerTemplateVersion", "calledElementBinding",
        "calledElementVersion", "calledElementVersionTag", "calledElementTenantId",
        "decisionRefBinding", "decisionRefVersion", "decisionRefVersionTag",
        "decisionRefTenantId", "priority", "followUpDate", "formHandlerClass",
        "candidateStarterGroups", "candidateStarterUsers", "variableMappingClass",
        "variableMappingDelegateExpression", "errorMessage",
    }
)  # fmt: skip
#: Properties the engine reads itself: a Camunda property of that name is not carried over.
_ENGINE_PROPERTIES = frozenset(
    {"role", "assignee", "sla", "slaExpression", "fourEyes", "distinctActors", "closable",
     "formJsonSchemaFilename", "onCancel", "decision", "outcome", "description"}
)  # fmt: skip
_MI_VARIABLES = re.compile(
    r"\b(nrOfInstances|nrOfCompletedInstances|nrOfActiveInstances|loopCounter)\b"
)
_CRON_EVERY = re.compile(r"^(?P<s>\S+)\s+(?P<m>\S+)\s+(?P<h>\S+)\s+\*\s+\*\s+[?*](?:\s+\*)?$")
_STEP = re.compile(r"^(?:0|\*)/(\d+)$")
#: Sentinel a condition outside the JUEL subset is replaced with: it compiles, and fails
#: loudly (NameError naming the flow) if the owner deploys without rewriting it.
REWRITE_MARK = "camunda_condition_to_rewrite"


@dataclass
class Settings:
    """The owner's choices and what the install has (see :func:`import_camunda`)."""

    group_roles: dict[str, str]
    operations: dict[str, str]
    known_operations: frozenset[str] | None
    known_roles: frozenset[str] | None

    def role_for(self, group: str) -> str | None:
        """The PMOflow role a Camunda group or lane name maps to, or None."""
        if group in self.group_roles:
            return self.group_roles[group] or None
        if self.known_roles is not None and group in self.known_roles:
            return group
        return None


@dataclass
class BpmnResult:
    """A converted BPMN file and what it needs beside it."""

    content: bytes
    forms: dict[str, bytes] = field(default_factory=dict)
    services: list[ServiceBinding] = field(default_factory=list)
    groups: dict[str, str | None] = field(default_factory=dict)


class BpmnConverter:
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
                self.report.add(
                    node, "serviceTask", "cannot_run",
                    f"service task {label(node)} has no implementation: bind it to an operation",
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

    # -- people ----------------------------------------------------------------------------
    def _start(self, node: etree._Element) -> None:
        initiator = pop_camunda_attr(node, "initiator")
        if initiator and initiator != "initiator":
            self._initiator(node, initiator)
        elif initiator:
            self.report.add(
                node, "camunda:initiator", "converted",
                f"camunda:initiator={initiator} on {label(node)}: PMOflow's 'initiator' "
                "holds who started the request",
            )  # fmt: skip
        self._form(node)

    def _initiator(self, node: etree._Element, variable: str) -> None:
        """``camunda:initiator=x``: ``x = initiator`` before the steps after the start."""
        parent = node.getparent()
        targets = [] if parent is None else [
            t for f in parent.iterchildren(f"{_B}sequenceFlow")
            if f.get("sourceRef") == node.get("id")
            for t in parent.iterchildren() if t.get("id") == f.get("targetRef")
        ]  # fmt: skip
        if variable.isidentifier() and targets and all(local(t) in _ACTIVITIES for t in targets):
            for target in targets:
                add_script(target, "preScript", f"{variable} = initiator")
            self.report.add(
                node, "camunda:initiator", "converted",
                f"camunda:initiator={variable} on {label(node)}: '{variable}' is set to who "
                "started the request (PMOflow's 'initiator') before "
                + ", ".join(label(t) for t in targets),
            )  # fmt: skip
            return
        self.report.add(
            node, "camunda:initiator", "needs_decision",
            f"camunda:initiator={variable} on {label(node)}: use PMOflow's 'initiator' "
            f"variable where the process reads '{variable}'",
        )  # fmt: skip

    def _human(self, node: etree._Element) -> None:
        assignee = pop_camunda_attr(node, "assignee")
        groups = pop_camunda_attr(node, "candidateGroups")
        users = pop_camunda_attr(node, "candidateUsers")
        role = self._groups(node, groups) if groups else None
        if role is None and not groups:
            role = self._lane_role(node)
        if role is not None:
            set_property(node, "role", role)
        if assignee:
            self._assignee(node, assignee, "camunda:assignee")
        if users:
            self._candidate_users(node, users, assigned=bool(assignee))
        for name in ("dueDate",):
            value = pop_camunda_attr(node, name)
            if value:
                self.report.add(
                    node, f"camunda:{name}", "needs_decision",
                    f"camunda:{name}={value} on {label(node)}: dropped; give the task an SLA "
                    "(e.g. P3D) in the modeler if it has a deadline",
                )  # fmt: skip
        if local(node) == "userTask":
            self._form(node)

    def _groups(self, node: etree._Element, groups: str) -> str | None:
        names = [g.strip() for g in groups.split(",") if g.strip()]
        if any(is_expression(g) for g in names):
            self.report.add(
                node, "camunda:candidateGroups", "cannot_run",
                f"camunda:candidateGroups={groups} on {label(node)}: a group computed at run "
                "time cannot be mapped to a role; choose the PMOflow role that does this task",
            )  # fmt: skip
            return None
        mapped = [(g, self._map_group(g)) for g in names]
        roles = list(dict.fromkeys(r for _, r in mapped if r))
        unknown = [g for g, r in mapped if not r]
        if not roles:
            self.report.add(
                node, "camunda:candidateGroups", "cannot_run",
                f"camunda:candidateGroups={groups} on {label(node)}: group "
                f"{', '.join(repr(g) for g in unknown)} is mapped to no PMOflow role; "
                "map it in the role table",
            )  # fmt: skip
            return None
        kept = [g for g, _ in mapped if g in self.kept]
        if kept:
            self.report.add(
                node, "camunda:candidateGroups", "needs_decision",
                f"camunda:candidateGroups={groups} on {label(node)}: group "
                f"{', '.join(repr(g) for g in kept)} kept as the role name; map it to a "
                "PMOflow role in the role table",
            )  # fmt: skip
        elif len(roles) > 1 or unknown:
            dropped = [r for r in roles[1:]] + unknown
            self.report.add(
                node, "camunda:candidateGroups", "needs_decision",
                f"camunda:candidateGroups={groups} on {label(node)}: a PMOflow task goes to "
                f"one role; it goes to '{roles[0]}' ({', '.join(dropped)} dropped)",
            )  # fmt: skip
        else:
            self.report.add(
                node, "camunda:candidateGroups", "converted",
                f"camunda:candidateGroups={groups} on {label(node)}: role '{roles[0]}'",
            )  # fmt: skip
        return roles[0]

    def _map_group(self, group: str) -> str | None:
        """The role of a group or lane name; offline (no known roles) an unmapped name is
        kept as the role, and listed as unknown."""
        role = self.settings.role_for(group)
        known = self.settings.known_roles
        if role is not None and known is not None and role not in known:
            role = None  # mapped to a role the install does not have
        if role is None and known is None:
            role = group
            self.kept.add(group)
        self.result.groups[group] = None if group in self.kept else role
        return role

    def _lane_role(self, node: etree._Element) -> str | None:
        lane = self.lanes.get(node.get("id", ""))
        if lane:
            role = self._map_group(lane)
            if role:
                kept = lane in self.kept
                self.report.add(
                    node, "lane", "needs_decision" if kept else "converted",
                    f"{label(node)} is in lane '{lane}': role '{role}'"
                    + ("; map the lane to a PMOflow role in the role table" if kept else ""),
                )  # fmt: skip
                return role
        default = self.settings.group_roles.get("*")
        if default:
            self.report.add(
                node, "camunda:candidateGroups", "converted",
                f"{label(node)} names no candidate group: it goes to the default role '{default}'",
            )  # fmt: skip
            return default
        where = f" and lane '{lane}' is mapped to no role" if lane else ""
        self.report.add(
            node, "camunda:candidateGroups", "cannot_run",
            f"{label(node)} has no camunda:candidateGroups{where}: choose the PMOflow role "
            "that does this task (or a default role for tasks without a group)",
        )  # fmt: skip
        return None

    def _assignee(self, node: etree._Element, value: str, construct: str) -> None:
        try:
            expression = translate_value(value)
        except OutsideSubset as exc:
            self.report.add(
                node, construct, "cannot_run",
                f"{construct}={value} on {label(node)}: {exc}; name the person in a variable",
            )  # fmt: skip
            return
        set_property(node, "assignee", expression)
        self.report.add(
            node, construct, "converted",
            f"{construct}={value} on {label(node)}: the task is assigned to {expression}",
        )  # fmt: skip

    def _candidate_users(self, node: etree._Element, users: str, assigned: bool) -> None:
        names = [u.strip() for u in users.split(",") if u.strip()]
        if not assigned and len(names) == 1:
            self._assignee(node, names[0], "camunda:candidateUsers")
            return
        self.report.add(
            node, "camunda:candidateUsers", "needs_decision",
            f"camunda:candidateUsers={users} on {label(node)}: dropped; PMOflow offers a task "
            "to a role (or assigns one person): give these people the task's role",
        )  # fmt: skip

    # -- forms -------------------------------------------------------------------------
    def _form(self, node: etree._Element) -> None:
        key = pop_camunda_attr(node, "formKey") or pop_camunda_attr(node, "formRef")
        data = camunda_children(node, "formData")
        if data:
            schema = forms.form_schema(node, data[0], self.report)
            name = f"{self.stem}-{_safe(node.get('id', 'form'))}.schema.json"
            self.result.forms[name] = forms.schema_bytes(schema)
            set_property(node, "formJsonSchemaFilename", name)
            self.report.add(
                node, "camunda:formData", "converted",
                f"camunda:formData on {label(node)}: form forms/{name} with "
                f"{len(schema['properties'])} field(s)",
                data[0],
            )  # fmt: skip
            for element in data:
                detach(element)
        if key:
            kind = "an embedded or external form"
            if key.startswith("camunda-forms:") or key.endswith(".form"):
                kind = "a Camunda Form"
            self.report.add(
                node, "camunda:formKey", "needs_decision",
                f"camunda:formKey={key} on {label(node)} is {kind}, which is not converted: "
                "the step needs a form (design one in the form designer)",
            )  # fmt: skip

    # -- expressions -------------------------------------------------------------------
    def _condition(
        self, owner: etree._Element | None, cond: etree._Element | None, construct: str
    ) -> None:
        if cond is None or owner is None:
            return
        text = text_of(cond)
        language = (cond.get("language") or "").strip()
        resource = pop_camunda_attr(cond, "resource")
        if language and language.lower() in ("python",):
            return
        if resource or (language and language.lower() != "juel"):
            what = f"camunda:resource={resource}" if resource else f"language={language}"
            self._neutralize(cond, text)
            self.report.add(
                owner, construct, "cannot_run",
                f"{construct} ({what}) on {label(owner)}: rewrite the condition as a Python "
                "expression",
                cond,
            )  # fmt: skip
            return
        if not text:
            return
        try:
            cond.text = translate(text)
        except OutsideSubset as exc:
            self._neutralize(cond, text)
            self.report.add(
                owner, construct, "cannot_run",
                f"{construct} {_short(text)} on {label(owner)}: {exc}; rewrite it as a "
                "Python expression",
                cond,
            )  # fmt: skip
            return
        cond.attrib.pop("language", None)
        self.report.add(
            owner, construct, "converted",
            f"{construct} {_short(text)} on {label(owner)}: {cond.text}",
            cond,
        )  # fmt: skip

    @staticmethod
    def _neutralize(cond: etree._Element, text: str) -> None:
        cond.attrib.pop("language", None)
        comment = "\n".join(f"# {line}" for line in text.splitlines())
        cond.text = f"{REWRITE_MARK}\n{comment}"

    def _timer(self, owner: etree._Element | None, definition: etree._Element) -> None:
        if owner is None:
            return
        for kind in ("timeDate", "timeDuration", "timeCycle"):
            value = definition.find(f"{_B}{kind}")
            if value is None:
                continue
            text = text_of(value)
            converted, message = _timer_value(kind, text)
            if converted is None:
                self.report.add(
                    owner, kind, "cannot_run",
                    f"{kind} {_short(text)} on {label(owner)}: {message}",
                    value,
                )  # fmt: skip
                value.text = REWRITE_MARK
                continue
            value.text = converted
            value.attrib.pop("{http://www.w3.org/2001/XMLSchema-instance}type", None)
            self.report.add(
                owner, kind, "converted", f"{kind} {_short(text)} on {label(owner)}: {message}",
                value,
            )  # fmt: skip

    def _multi_instance(self, owner: etree._Element | None, loop: etree._Element) -> None:
        if owner is None:
            return
        collection = pop_camunda_attr(loop, "collection")
        item = pop_camunda_attr(loop, "elementVariable")
        parts: dict[str, etree._Element] = {}
        for child in list(loop):
            if isinstance(child.tag, str) and child.tag.startswith(_B):
                parts[local(child)] = child
            loop.remove(child)
        if collection:
            try:
                source = translate(collection) if is_expression(collection) else collection.strip()
                if not source.isidentifier():
                    raise OutsideSubset("only a variable holding the list is translated")
            except OutsideSubset as exc:
                self.report.add(
                    owner, "camunda:collection", "cannot_run",
                    f"camunda:collection={collection} on {label(owner)}: {exc}; compute the "
                    "list into a variable first",
                    loop,
                )  # fmt: skip
                source = REWRITE_MARK
            ref = etree.Element(f"{_B}loopDataInputRef")
            ref.text = source
            parts["loopDataInputRef"] = ref
            name = item or f"{_safe(owner.get('id', 'item'))}_item"
            parts["inputDataItem"] = etree.Element(f"{_B}inputDataItem", id=name, name=name)
            parts.pop("loopCardinality", None)
            self.report.add(
                owner, "camunda:collection", "converted",
                f"multi-instance over camunda:collection={collection}"
                + (f" (camunda:elementVariable={item})" if item else "")
                + f" on {label(owner)}: one instance per item of '{source}', the item in '{name}'",
                loop,
            )  # fmt: skip
        for kind in ("loopCardinality", "completionCondition"):
            element = parts.get(kind)
            if element is not None:
                self._mi_expression(owner, element, kind)
        order = ("loopCardinality", "loopDataInputRef", "loopDataOutputRef", "inputDataItem",
                 "outputDataItem", "complexBehaviorDefinition", "completionCondition")  # fmt: skip
        for name in order:
            if name in parts:
                loop.append(parts[name])

    def _mi_expression(self, owner: etree._Element, element: etree._Element, kind: str) -> None:
        text = text_of(element)
        try:
            if _MI_VARIABLES.search(text):
                raise OutsideSubset(
                    "Camunda's multi-instance variables (nrOfInstances, "
                    "nrOfCompletedInstances, nrOfActiveInstances, loopCounter) do not exist "
                    "in PMOflow"
                )
            element.text = translate(text) if is_expression(text) else text
        except OutsideSubset as exc:
            self.report.add(
                owner, kind, "cannot_run", f"{kind} {_short(text)} on {label(owner)}: {exc}",
                element,
            )  # fmt: skip
            element.text = REWRITE_MARK
            return
        self.report.add(
            owner, kind, "converted", f"{kind} {_short(text)} on {label(owner)}: {element.text}",
            element,
        )  # fmt: skip

    # -- scripts ---------------------------------------------------------------------
    def _script(self, node: etree._Element) -> None:
        fmt = (node.get("scriptFormat") or "").strip()
        script = node.find(f"{_B}script")
        text = text_of(script)
        result = pop_camunda_attr(node, "resultVariable")
        resource = pop_camunda_attr(node, "resource")
        if fmt.lower() == "python" and not resource and not result:
            return
        if fmt.lower() == "juel" and not resource:
            try:
                expression = translate(text)
                code = f"{result} = {expression}" if result else expression
                self._set_script(node, script, code)
                node.attrib.pop("scriptFormat", None)
                self.report.add(
                    node, "scriptFormat", "converted",
                    f"scriptFormat=juel on {label(node)}: {code}",
                )  # fmt: skip
                return
            except OutsideSubset:
                pass
        what = f"camunda:resource={resource}" if resource else f"scriptFormat={fmt or '?'}"
        self.report.add(
            node, "scriptFormat", "cannot_run",
            f"{what} on {label(node)}: rewrite the script in Python (the original is kept "
            "in the script as comments)",
        )  # fmt: skip
        lines = [f"# {fmt or 'script'} from Camunda 7, to rewrite in Python:"]
        lines += [f"# {line}" for line in (text or resource or "").splitlines()]
        lines.append(f"raise NotImplementedError('rewrite the {fmt or 'script'} script in Python')")
        self._set_script(node, script, "\n".join(lines))
        node.attrib.pop("scriptFormat", None)

    @staticmethod
    def _set_script(node: etree._Element, script: etree._Element | None, code: str) -> None:
        if script is None:
            script = etree.Element(f"{_B}script")
            outgoing = node.find(f"{_B}outgoing")
            anchor = node.findall(f"{_B}incoming") + node.findall(f"{_B}outgoing")
            if anchor:
                anchor[-1].addnext(script)
            elif outgoing is None:
                node.append(script)
        for child in list(script):
            script.remove(child)
        script.text = code

    # -- services, decisions, calls -------------------------------------------------
    def _service(self, node: etree._Element, owner: etree._Element) -> bool:
        """Java delegates, expressions, external tasks and connectors: bound or listed."""
        found = [
            (f"camunda:{name}", value)
            for name in ("class", "delegateExpression", "expression")
            if (value := pop_camunda_attr(node, name))
        ]
        kind = pop_camunda_attr(node, "type")
        topic = pop_camunda_attr(node, "topic")
        if kind:
            found.append((f"camunda:type={kind}", topic or ""))
        connector = camunda_children(node, "connector")
        if connector:
            connector_id = text_of(connector[0].find("{*}connectorId"))
            found.append(("camunda:connector", connector_id))
        if not found:
            return False
        result = pop_camunda_attr(owner, "resultVariable") or pop_camunda_attr(
            node, "resultVariable"
        )
        construct, value = found[0]
        if construct == "camunda:expression" and self._pure_expression(owner, value, result):
            return True
        operation = self.settings.operations.get(owner.get("id", ""))
        self._binding(owner, construct, value, operation)
        described = f"{construct}={value}" if value else construct
        if operation is None:
            self.report.add(
                owner, construct, "cannot_run",
                f"{described} on {label(owner)}: bind it to an operation or remove it",
                node,
            )  # fmt: skip
        elif self.settings.known_operations is not None and (
            operation not in self.settings.known_operations
        ):
            self.report.add(
                owner, construct, "cannot_run",
                f"{described} on {label(owner)} is bound to operation '{operation}', which "
                "is not registered; choose one of the registered operations",
                node,
            )  # fmt: skip
        elif local(owner) in _THROWS or local(owner) == "intermediateCatchEvent":
            self.report.add(
                owner, construct, "cannot_run",
                f"{described} on {label(owner)}: an event cannot call an operation in "
                "PMOflow; put a service task before it",
                node,
            )  # fmt: skip
        else:
            self._bind(owner, operation, result)
            self.report.add(
                owner, construct, "converted",
                f"{described} on {label(owner)}: calls operation '{operation}'",
                node,
            )  # fmt: skip
        for element in connector:
            detach(element)
        fields = camunda_children(owner, "field")
        if fields:
            for element in fields:
                detach(element)
            self.report.add(
                owner, "camunda:field", "needs_decision",
                f"camunda:field ({', '.join(f.get('name') or '?' for f in fields)}) on "
                f"{label(owner)}: field injection is dropped; pass the values as the "
                "operation's parameters (input parameters are)",
            )  # fmt: skip
        return True

    def _pure_expression(self, node: etree._Element, value: str, result: str | None) -> bool:
        """``camunda:expression`` that only computes a value becomes a script task."""
        try:
            expression = translate(value)
        except OutsideSubset:
            return False
        code = f"{result} = {expression}" if result else "pass"
        node.tag = f"{_B}scriptTask"
        self._set_script(node, None, code)
        self.report.add(
            node, "camunda:expression", "converted",
            f"camunda:expression={value} on {label(node)}: a script task: {code}",
        )  # fmt: skip
        return True

    def _binding(
        self, node: etree._Element, construct: str, value: str, operation: str | None = None
    ) -> None:
        self.result.services.append(
            ServiceBinding(
                file=self.report.file,
                element_id=node.get("id", ""),
                element_name=node.get("name"),
                line=node.sourceline,
                construct=construct,
                value=value,
                operation=operation,
            )
        )

    def _bind(self, node: etree._Element, operation: str, result: str | None) -> None:
        if local(node) != "serviceTask":
            node.tag = f"{_B}serviceTask"
            for attr in ("messageRef", "implementation", "operationRef"):
                node.attrib.pop(attr, None)
        ext = ensure_extensions(node)
        operator = etree.SubElement(ext, f"{_S}serviceTaskOperator", id=operation)
        if result:
            operator.set("resultVariable", result)
        etree.SubElement(operator, f"{_S}parameters")

    def _message_throw(self, definition: etree._Element) -> None:
        owner = definition.getparent()
        if owner is not None and (
            camunda_attr(definition, "class")
            or camunda_attr(definition, "delegateExpression")
            or camunda_attr(definition, "expression")
            or camunda_attr(definition, "type")
        ):
            self._service(definition, owner)

    def _decision(self, node: etree._Element) -> None:
        ref = pop_camunda_attr(node, "decisionRef")
        result = pop_camunda_attr(node, "resultVariable")
        mapping = pop_camunda_attr(node, "mapDecisionResult") or "resultList"
        if not ref:
            return
        if is_expression(ref):
            self.report.add(
                node, "camunda:decisionRef", "cannot_run",
                f"camunda:decisionRef={ref} on {label(node)}: a decision chosen at run time "
                "is not supported; name the decision table",
            )  # fmt: skip
            return
        ext = ensure_extensions(node)
        called = etree.Element(f"{_S}calledDecisionId")
        called.text = ref.strip()
        ext.insert(0, called)
        self.report.add(
            node, "camunda:decisionRef", "converted",
            f"camunda:decisionRef={ref} on {label(node)}: calls decision table '{ref}'",
        )  # fmt: skip
        self._chain(node, ref.strip())
        if result:
            self._decision_result(node, ref.strip(), result, mapping)

    def _chain(self, node: etree._Element, ref: str) -> None:
        """Call the decisions ``ref`` requires (a DRD) in business rule tasks before it."""
        order: list[str] = []

        def visit(key: str, path: frozenset[str]) -> None:
            for dep in self.requires.get(key, []):
                if dep not in order and dep not in path:
                    visit(dep, path | {dep})
                    order.append(dep)

        visit(ref, frozenset({ref}))
        parent, node_id = node.getparent(), node.get("id", "")
        if not order or parent is None:
            return
        incoming = [f for f in parent.iterchildren(f"{_B}sequenceFlow")
                    if f.get("targetRef") == node_id]  # fmt: skip
        for element in node.findall(f"{_B}incoming"):
            node.remove(element)
        previous: list[str] = [f.get("id", "") for f in incoming]
        pending: etree._Element | None = None
        for dep in order:
            task_id = f"{node_id}__{_safe(dep)}"
            task = etree.Element(f"{_B}businessRuleTask", id=task_id, name=f"{dep} (for {ref})")
            ext = etree.SubElement(task, f"{_B}extensionElements")
            etree.SubElement(ext, f"{_S}calledDecisionId").text = dep
            for flow_id in previous:
                etree.SubElement(task, f"{_B}incoming").text = flow_id
            if pending is None:
                for flow in incoming:
                    flow.set("targetRef", task_id)
            else:
                pending.set("targetRef", task_id)
            flow_id = f"{task_id}__flow"
            etree.SubElement(task, f"{_B}outgoing").text = flow_id
            node.addprevious(task)
            pending = etree.SubElement(parent, f"{_B}sequenceFlow", id=flow_id, sourceRef=task_id)
            previous = [flow_id]
        if pending is not None:
            pending.set("targetRef", node_id)
        anchor = node.find(f"{_B}extensionElements")
        incoming_ref = etree.Element(f"{_B}incoming")
        incoming_ref.text = previous[0]
        if anchor is not None:
            anchor.addnext(incoming_ref)
        else:
            node.insert(0, incoming_ref)
        self.report.add(
            node, "dmn:requiredDecision", "converted",
            f"decision '{ref}' called by {label(node)} uses the result of "
            f"{', '.join(order)}: business rule tasks calling them run first",
        )  # fmt: skip

    def _decision_result(self, node: etree._Element, ref: str, result: str, mapping: str) -> None:
        outputs = self.decision_outputs.get(ref)
        simple = outputs is not None and all(o.isidentifier() for o in outputs)
        if simple and mapping == "singleEntry" and len(outputs or []) == 1:
            code = f"{result} = {outputs[0]}"  # type: ignore[index]
        elif simple and mapping == "singleResult" and outputs:
            code = f"{result} = {{" + ", ".join(f"{o!r}: {o}" for o in outputs) + "}"
        else:
            self.report.add(
                node, "camunda:resultVariable", "needs_decision",
                f"camunda:resultVariable={result} (mapDecisionResult={mapping}) on "
                f"{label(node)}: the table's outputs become variables under their own names; "
                f"'{result}' is not set",
            )  # fmt: skip
            return
        add_script(node, "postScript", code)
        self.report.add(
            node, "camunda:mapDecisionResult", "converted",
            f"camunda:resultVariable={result} (mapDecisionResult={mapping}) on {label(node)}: "
            f"{code}",
        )  # fmt: skip

    def _call(self, node: etree._Element) -> None:
        called = node.get("calledElement") or ""
        case = pop_camunda_attr(node, "caseRef")
        if case:
            self.report.add(
                node, "camunda:caseRef", "cannot_run",
                f"camunda:caseRef={case} on {label(node)}: CMMN cases do not exist in PMOflow",
            )  # fmt: skip
        if is_expression(called):
            self.report.add(
                node, "calledElement", "cannot_run",
                f"calledElement={called} on {label(node)}: a process chosen at run time is "
                "not supported; name the process",
            )  # fmt: skip
        for which, script in (("in", "preScript"), ("out", "postScript")):
            for mapping in camunda_children(node, which):
                self._call_mapping(node, mapping, which, script)
                detach(mapping)

    def _call_mapping(
        self, node: etree._Element, mapping: etree._Element, which: str, script: str
    ) -> None:
        construct = f"camunda:{which}"
        source, target = mapping.get("source"), mapping.get("target")
        expression = mapping.get("sourceExpression")
        if mapping.get("variables") == "all" or mapping.get("businessKey") is not None:
            self.report.add(
                node, construct, "converted",
                f"{construct} on {label(node)}: the called process sees and returns all "
                "variables in PMOflow",
                mapping,
            )  # fmt: skip
            return
        try:
            value = translate(expression) if expression else (source or "").strip()
            if not value or not (target or "").isidentifier():
                raise OutsideSubset("the mapping has no source or no valid target")
            if not expression and not value.isidentifier():
                raise OutsideSubset(f"'{value}' is not a variable name")
        except OutsideSubset as exc:
            self.report.add(
                node, construct, "cannot_run", f"{construct} on {label(node)}: {exc}", mapping
            )
            return
        if value != target:
            add_script(node, script, f"{target} = {value}")
        self.report.add(
            node, construct, "converted",
            f"{construct} {target} <- {expression or source} on {label(node)}: all variables "
            "pass to and from the called process"
            + (f"; '{target}' is set {'before' if which == 'in' else 'after'} the call"
               if value != target else ""),
            mapping,
        )  # fmt: skip

    # -- extension elements every activity may carry -----------------------------------
    def _io(self, node: etree._Element) -> None:
        for io in camunda_children(node, "inputOutput"):
            operator = node.find(f"{_B}extensionElements/{_S}serviceTaskOperator")
            for param in io:
                if not is_camunda(param) or local(param) not in (
                    "inputParameter",
                    "outputParameter",
                ):
                    continue
                self._parameter(node, param, operator)
            detach(io)

    def _parameter(
        self, node: etree._Element, param: etree._Element, operator: etree._Element | None
    ) -> None:
        kind = local(param)
        name = (param.get("name") or "").strip()
        construct = f"camunda:{kind}"
        try:
            if not name.isidentifier():
                raise OutsideSubset(f"'{name}' is not a variable name")
            value = _parameter_value(param)
        except OutsideSubset as exc:
            self.report.add(
                node, construct, "cannot_run",
                f"{construct} '{name}' on {label(node)}: {exc}; set it in a Python script "
                "instead",
                param,
            )  # fmt: skip
            return
        if operator is not None and kind == "inputParameter":
            params = operator.find(f"{_S}parameters")
            if params is None:
                params = etree.SubElement(operator, f"{_S}parameters")
            etree.SubElement(params, f"{_S}parameter", id=name, type="any", value=value)
            message = f"operation parameter {name} = {value}"
        else:
            add_script(node, "preScript" if kind == "inputParameter" else "postScript",
                       f"{name} = {value}")  # fmt: skip
            message = (f"{name} = {value} {'before' if kind == 'inputParameter' else 'after'} "
                       "the step (a process variable in PMOflow, not a local one)")  # fmt: skip
        self.report.add(
            node, construct, "converted", f"{construct} '{name}' on {label(node)}: {message}",
            param,
        )  # fmt: skip

    def _listeners(self, node: etree._Element) -> None:
        for kind in ("executionListener", "taskListener"):
            for listener in camunda_children(node, kind):
                what = next(
                    (
                        f"{a}={listener.get(a)}"
                        for a in ("class", "delegateExpression", "expression")
                        if listener.get(a)
                    ),
                    "a script",
                )
                script = listener.find("{*}script")
                if script is not None:
                    what = f"a {script.get('scriptFormat') or ''} script".replace("  ", " ")
                event = listener.get("event") or "?"
                self.report.add(
                    node, f"camunda:{kind}", "needs_decision",
                    f"camunda:{kind} on '{event}' ({what}) on {label(node)}: dropped; if it "
                    "matters, add a service task bound to an operation or a Python script task",
                    listener,
                )  # fmt: skip
                detach(listener)

    def _properties(self, node: etree._Element) -> None:
        for props in camunda_children(node, "properties"):
            for prop in props:
                name, value = prop.get("name"), prop.get("value")
                if not name or value is None:
                    continue
                if name in _ENGINE_PROPERTIES:
                    self.report.add(
                        node, "camunda:property", "needs_decision",
                        f"camunda:property {name}={value} on {label(node)}: dropped; PMOflow "
                        f"uses '{name}' itself",
                        prop,
                    )  # fmt: skip
                    continue
                set_property(node, name, value)
            detach(props)

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
                self.report.add(
                    owner, f"camunda:{name}", "needs_decision",
                    f"camunda:{name}={_short(value)} on {label(owner)}: dropped (PMOflow has "
                    "no such setting)",
                    element,
                )  # fmt: skip
            parent = element.getparent()
            if is_camunda(element) and parent is not None:
                if owner is not None and local(parent) == "extensionElements":
                    self.report.add(
                        owner, f"camunda:{local(element)}", "needs_decision",
                        f"camunda:{local(element)} on {label(owner)}: dropped (PMOflow has no "
                        "such setting)",
                        element,
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


def _parameter_value(param: etree._Element) -> str:
    """A Python expression for an input/output parameter's value."""
    children = [c for c in param if isinstance(c.tag, str)]
    if not children:
        return translate_value(param.text or "")
    child = children[0]
    kind = local(child)
    if kind == "list":
        items = [_parameter_value(v) for v in child if isinstance(v.tag, str)]
        return "[" + ", ".join(items) + "]"
    if kind == "map":
        entries = [
            f"{(e.get('key') or '')!r}: {_parameter_value(e)}"
            for e in child
            if isinstance(e.tag, str)
        ]
        return "{" + ", ".join(entries) + "}"
    if kind == "value":
        return translate_value(child.text or "")
    if kind == "script":
        fmt = child.get("scriptFormat") or "a script"
        raise OutsideSubset(f"its value is computed by {fmt}")
    raise OutsideSubset(f"camunda:{kind} values are not translated")


def _timer_value(kind: str, text: str) -> tuple[str | None, str]:
    """(Python expression, what it does) for a Camunda timer value; (None, why) if not."""
    if not text:
        return None, "the timer is empty"
    if is_expression(text):
        try:
            expression = translate(text)
        except OutsideSubset as exc:
            return None, f"{exc}; compute the ISO 8601 value into a variable"
        return expression, f"{expression} (the variable must hold an ISO 8601 text)"
    if kind == "timeCycle" and len(text.split()) >= 6:
        return _cron(text)
    try:
        if kind == "timeDuration":
            Timer.parse_iso_duration(text)
        elif kind == "timeDate":
            Timer.parse_time_or_duration(text)
        else:
            Timer.parse_iso_recurring_interval(text)
    except Exception:  # the library raises bare Exception/ValueError for bad values
        return None, "not an ISO 8601 value the engine reads"
    return repr(text), f"{text!r} (ISO 8601)"


def _cron(text: str) -> tuple[str | None, str]:
    """Camunda's Quartz cron in a timeCycle -> an ISO repeating interval, when it is one."""
    match = _CRON_EVERY.match(text.strip())
    if match:
        fields = [match.group("s"), match.group("m"), match.group("h")]
        for index, unit in ((0, "S"), (1, "M"), (2, "H")):
            step = _STEP.match(fields[index])
            lower_zero = all(f == "0" for f in fields[:index])
            higher_any = all(f == "*" for f in fields[index + 1 :])
            if step and lower_zero and higher_any:
                value = f"R/PT{int(step.group(1))}{unit}"
                return repr(value), (
                    f"cron '{text}' -> {value} (every {step.group(1)} "
                    f"{ {'S': 'seconds', 'M': 'minutes', 'H': 'hours'}[unit] }, counted from "
                    "when the timer starts)"
                )
    return None, (
        f"cron '{text}' has no ISO 8601 equivalent the importer knows; write the cycle as "
        "R/PT1H, R3/P1D or R/2025-01-06T09:00:00/P7D"
    )


def _short(text: str, limit: int = 80) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def _form_stem(file: str) -> str:
    base = file.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    stem = _safe(base).lstrip("._-") or "form"
    return stem[:80]


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
