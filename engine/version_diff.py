"""What changed between two versions of a process diagram (pure: no database).

Elements are matched by id: an id only in the newer diagram was added, one only in the
older was removed, one in both changed when anything the engine reads from it differs:
its name, type, lane, the condition of a flow or its ends, the timer expression, the
decision it calls, the process it calls, a script, or a task property (form, SLA,
assignee, four eyes, role...). Layout (where shapes are drawn) is not a change.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from engine.spiff.bpmn_markup import (
    BPMN_NS,
    FLOW_NODE_TYPES,
    NS,
    lane_index,
    local,
    properties_of,
)
from engine.spiff.xmlsafe import parse_xml

#: Elements compared besides flow nodes.
_OTHER_TYPES = frozenset({"sequenceFlow"})
_TIMERS = ("timeDuration", "timeDate", "timeCycle")


@dataclass(frozen=True)
class FieldChange:
    """One attribute of an element with its old and new value (None: not set)."""

    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class ElementChange:
    """One element added, removed or changed between two versions."""

    element_id: str
    name: str | None
    type: str
    #: added | removed | changed
    kind: str
    changes: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class VersionDiff:
    """Every difference between two diagrams, each list in document order."""

    added: tuple[ElementChange, ...]
    removed: tuple[ElementChange, ...]
    changed: tuple[ElementChange, ...]

    @property
    def empty(self) -> bool:
        """True when nothing the engine reads differs."""
        return not (self.added or self.removed or self.changed)


def diff_diagrams(
    old_xml: bytes | str,
    new_xml: bytes | str,
    *,
    old_name: str = "old.bpmn",
    new_name: str = "new.bpmn",
) -> VersionDiff:
    """Compare two BPMN files (parsed with the safe parser) element by element."""
    old = describe(parse_xml(old_xml, old_name).getroot())
    new = describe(parse_xml(new_xml, new_name).getroot())
    added = tuple(_entry(eid, new[eid], "added") for eid in new if eid not in old)
    removed = tuple(_entry(eid, old[eid], "removed") for eid in old if eid not in new)
    changed = []
    for eid, after in new.items():
        before = old.get(eid)
        if before is None or before == after:
            continue
        fields = tuple(
            FieldChange(f, before.get(f), after.get(f))
            for f in sorted(set(before) | set(after), key=_field_order)
            if before.get(f) != after.get(f)
        )
        changed.append(_entry(eid, after, "changed", fields))
    return VersionDiff(added, removed, tuple(changed))


def describe(root: etree._Element) -> dict[str, dict[str, str]]:
    """Element id -> what the engine reads from it (as strings), for every flow node and
    sequence flow of every process in the file, in document order."""
    lanes = lane_index(root)
    out: dict[str, dict[str, str]] = {}
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        for el in process.iter():
            kind = local(el)
            eid = el.get("id")
            if not eid or (kind not in FLOW_NODE_TYPES and kind not in _OTHER_TYPES):
                continue
            out[eid] = _attributes(el, kind, lanes)
    return out


def _attributes(el: etree._Element, kind: str, lanes: dict[str, str | None]) -> dict[str, str]:
    found: dict[str, str | None] = {"type": kind, "name": _squash(el.get("name"))}
    if kind == "sequenceFlow":
        found["source"] = el.get("sourceRef")
        found["target"] = el.get("targetRef")
        found["condition"] = _text(el.find(f"{{{BPMN_NS}}}conditionExpression"))
    else:
        found["lane"] = lanes.get(el.get("id", ""))
    for timer in _TIMERS:
        found[f"timer {timer}"] = _text(
            el.find(f"{{{BPMN_NS}}}timerEventDefinition/{{{BPMN_NS}}}{timer}")
        )
    found["decision"] = _first_text(el, "./bpmn:extensionElements/spiffworkflow:calledDecisionId")
    found["called process"] = el.get("calledElement")
    found["script"] = _text(el.find(f"{{{BPMN_NS}}}script"))
    for name in ("preScript", "postScript"):
        found[name] = _first_text(el, f"./bpmn:extensionElements/spiffworkflow:{name}")
    found["default flow"] = el.get("default")
    operator = el.xpath("./bpmn:extensionElements/spiffworkflow:serviceTaskOperator", namespaces=NS)
    if operator:
        found["operation"] = operator[0].get("id")
    for name, value in properties_of(el).items():
        found[f"property {name}"] = value
    return {k: v for k, v in found.items() if v not in (None, "")}


def _entry(
    eid: str, attrs: dict[str, str], kind: str, changes: tuple[FieldChange, ...] = ()
) -> ElementChange:
    return ElementChange(eid, attrs.get("name"), attrs.get("type", ""), kind, changes)


def _field_order(name: str) -> tuple[int, str]:
    first = ("type", "name", "lane", "source", "target", "condition")
    return (first.index(name) if name in first else len(first), name)


def _text(el: etree._Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    return el.text.strip() or None


def _first_text(el: etree._Element, path: str) -> str | None:
    found = el.xpath(path, namespaces=NS)
    return _text(found[0]) if found else None


def _squash(value: str | None) -> str | None:
    return " ".join(value.split()) if value else None
