"""Conditions, timers and multi-instance: JUEL and Camunda's timer values translated."""

from __future__ import annotations

import re

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as Timer

from engine.camunda7.base import (
    _B,
    REWRITE_MARK,
    ConverterState,
    _safe,
    _short,
)
from engine.camunda7.common import (
    label,
    local,
    pop_camunda_attr,
    text_of,
)
from engine.camunda7.juel import OutsideSubset, is_expression, translate

_MI_VARIABLES = re.compile(
    r"\b(nrOfInstances|nrOfCompletedInstances|nrOfActiveInstances|loopCounter)\b"
)
_CRON_EVERY = re.compile(r"^(?P<s>\S+)\s+(?P<m>\S+)\s+(?P<h>\S+)\s+\*\s+\*\s+[?*](?:\s+\*)?$")
_STEP = re.compile(r"^(?:0|\*)/(\d+)$")


class FlowMixin(ConverterState):
    """Conditions, timers and multi-instance: JUEL and Camunda's timer values translated."""

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
            self.report.say(
                owner, construct, "cannot_run", "camunda.condition_to_rewrite", cond,
                construct=construct, what=what, element=label(owner),
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
        self.report.say(
            owner, construct, "converted", "camunda.condition_converted", cond,
            construct=construct, source=_short(text), element=label(owner), python=cond.text,
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
