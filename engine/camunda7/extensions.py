"""Extension elements any activity carries: input/output mappings, listeners, properties."""

from __future__ import annotations

from lxml import etree

from engine.camunda7.base import (
    _B,
    _ENGINE_PROPERTIES,
    _S,
    ConverterState,
)
from engine.camunda7.common import (
    add_script,
    camunda_children,
    detach,
    is_camunda,
    label,
    local,
    set_property,
)
from engine.camunda7.juel import OutsideSubset, translate_value


class ExtensionMixin(ConverterState):
    """Extension elements any activity carries: input/output mappings, listeners, properties."""

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
                self.report.say(
                    node, f"camunda:{kind}", "needs_decision", "camunda.listener_dropped",
                    listener, construct=f"camunda:{kind}", event=event, what=what,
                    element=label(node),
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
