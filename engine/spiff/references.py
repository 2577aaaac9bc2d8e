"""Cross-file references of a process: the forms, decisions, processes and operations it uses.

:func:`gather_references` lists them; :func:`check_references` reports those that are
neither in the deployment nor already deployed (or configured).
"""

from __future__ import annotations

from lxml import etree

from engine.errors import Problem
from engine.spiff.bpmn_markup import (
    FLOW_NODE_TYPES,
    extensions,
    label,
    local,
    problem,
    properties_of,
)

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
            message = (
                f"uses unknown operation '{target}'; known operations: "
                f"{', '.join(sorted(known)) or 'none'}"
            )
        else:
            message = f"calls {kind} '{target}', which is neither in this deployment nor deployed"
            if target in not_executable:
                message += " (a process with that id is in the deployment but is not executable)"
        found.append(
            problem(
                file,
                node,
                f"{label(node)} {message}" if kind != "form" else f"{label(node)}: {message}",
            )
        )
    return found


def _decision_ref(node: etree._Element) -> str | None:
    refs = extensions(node, "calledDecisionId")
    if not refs:
        return None
    return (refs[-1].text or "").strip() or None
