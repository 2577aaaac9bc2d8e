"""Scripts, Java delegates and other service-like tasks, decision tasks, call activities."""

from __future__ import annotations

from lxml import etree

from engine.camunda7.base import (
    _B,
    _S,
    _THROWS,
    ConverterState,
    _safe,
)
from engine.camunda7.common import (
    add_script,
    camunda_attr,
    camunda_children,
    detach,
    ensure_extensions,
    label,
    local,
    pop_camunda_attr,
    text_of,
)
from engine.camunda7.juel import OutsideSubset, is_expression, translate
from engine.camunda7.report import ServiceBinding


class TaskMixin(ConverterState):
    """Scripts, Java delegates and other service-like tasks, decision tasks, call activities."""

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
                self.report.say(
                    node, "scriptFormat", "converted", "camunda.juel_script",
                    element=label(node), code=code,
                )  # fmt: skip
                return
            except OutsideSubset:
                pass
        what = f"camunda:resource={resource}" if resource else f"scriptFormat={fmt or '?'}"
        self.report.say(
            node, "scriptFormat", "cannot_run", "camunda.script_to_rewrite",
            what=what, element=label(node),
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
            self.report.say(
                owner, construct, "cannot_run", "camunda.class_needs_operation", node,
                construct=described, element=label(owner),
            )  # fmt: skip
        elif self.settings.known_operations is not None and (
            operation not in self.settings.known_operations
        ):
            self.report.say(
                owner, construct, "cannot_run", "camunda.operation_not_registered", node,
                construct=described, element=label(owner), operation=operation,
            )  # fmt: skip
        elif local(owner) in _THROWS or local(owner) == "intermediateCatchEvent":
            self.report.say(
                owner, construct, "cannot_run", "camunda.event_cannot_call_operation", node,
                construct=described, element=label(owner),
            )  # fmt: skip
        else:
            self._bind(owner, operation, result)
            self.report.say(
                owner, construct, "converted", "camunda.calls_operation", node,
                construct=described, element=label(owner), operation=operation,
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
        self.report.say(
            node, "camunda:expression", "converted", "camunda.expression_script",
            value=value, element=label(node), code=code,
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
            self.report.say(
                node, "camunda:decisionRef", "cannot_run", "camunda.decision_ref_at_run_time",
                ref=ref, element=label(node),
            )  # fmt: skip
            return
        ext = ensure_extensions(node)
        called = etree.Element(f"{_S}calledDecisionId")
        called.text = ref.strip()
        ext.insert(0, called)
        self.report.say(
            node, "camunda:decisionRef", "converted", "camunda.decision_ref",
            ref=ref, element=label(node),
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
            self.report.say(
                node, "camunda:resultVariable", "needs_decision", "camunda.result_not_set",
                result=result, mapping=mapping, element=label(node),
            )  # fmt: skip
            return
        add_script(node, "postScript", code)
        self.report.say(
            node, "camunda:mapDecisionResult", "converted", "camunda.result_mapped",
            result=result, mapping=mapping, element=label(node), code=code,
        )  # fmt: skip

    def _call(self, node: etree._Element) -> None:
        called = node.get("calledElement") or ""
        case = pop_camunda_attr(node, "caseRef")
        if case:
            self.report.say(
                node, "camunda:caseRef", "cannot_run", "camunda.case_ref",
                case=case, element=label(node),
            )  # fmt: skip
        if is_expression(called):
            self.report.say(
                node, "calledElement", "cannot_run", "camunda.called_element_at_run_time",
                called=called, element=label(node),
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
            self.report.say(
                node, construct, "converted", "camunda.all_variables", mapping,
                construct=construct, element=label(node),
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
        self.report.say(
            node, construct, "converted",
            "camunda.variable_passed" if value == target else
            "camunda.variable_set_before" if which == "in" else "camunda.variable_set_after",
            mapping,
            construct=construct, target=target, source=expression or source, element=label(node),
        )  # fmt: skip
