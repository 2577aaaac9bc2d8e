"""Fields a process's conditions read that no form asks for: a note for the modeler when
a gateway right after a person's step tests a name that no form of the process has and no
script of it sets (``verdict == "ok"`` after a step whose form has no ``verdict``).

Only gateways whose incoming steps are all user tasks are looked at (after a decision or a
service, the names come from their outputs); the notes do not block a deployment.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from engine.errors import Problem
from engine.spiff.bpmn_markup import (
    BPMN_NS,
    SPIFF_NS,
    bpmn_children,
    flow_nodes,
    local,
    properties_of,
    text_of,
)
from engine.spiff.script_helpers import make_helpers
from engine.spiff.xmlsafe import parse_xml

#: Names the engine puts into every instance, the script helpers (``parse_amount``...)
#: and Python's own.
_GIVEN = frozenset(
    {
        "initiator",
        "project_id",
        "title",
        *make_helpers(lambda: datetime.now(UTC)),
        *dir(builtins),
    }
)


def _read(expression: str) -> set[str]:
    """Top-level names an expression reads (names bound inside it left out)."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return set()
    bound = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    return {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in bound
    }


def _set_by_scripts(process: etree._Element) -> set[str]:
    """Names any script of the process assigns (script tasks, pre- and post-scripts)."""
    names: set[str] = set()
    scripts = [*process.iter(f"{{{BPMN_NS}}}script"), *process.iter(f"{{{SPIFF_NS}}}preScript")]
    scripts += list(process.iter(f"{{{SPIFF_NS}}}postScript"))
    for node in scripts:
        try:
            tree = ast.parse(text_of(node) or "")
        except SyntaxError:
            continue
        names |= {
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
    return names


def _set_by_steps(process: etree._Element, decisions: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Names other steps put into the data: service results, multi-instance outputs and the
    output columns of every decision table the process calls."""
    names: set[str] = set()
    for node in process.iter(f"{{{SPIFF_NS}}}serviceTaskOperator"):
        if node.get("resultVariable"):
            names.add(str(node.get("resultVariable")))
    for tag in ("loopDataOutputRef", "outputDataItem", "loopDataInputRef", "inputDataItem"):
        for node in process.iter(f"{{{BPMN_NS}}}{tag}"):
            names.add(str(node.get("id") or text_of(node) or "").strip())
    for key in _called_decisions(process).values():
        for column in (decisions.get(key) or {}).get("outputs") or ():
            names.add(str(column.get("name") or "").split(".")[0])
    return names - {""}


def _called_decisions(process: etree._Element) -> dict[str, str]:
    """Business rule task id -> the decision table it calls."""
    found: dict[str, str] = {}
    for task in process.iter(f"{{{BPMN_NS}}}businessRuleTask"):
        called = task.find(f".//{{{SPIFF_NS}}}calledDecisionId")
        key = (text_of(called) or "").strip() if called is not None else ""
        if key and task.get("id"):
            found[str(task.get("id"))] = key
    return found


def _asked(process: etree._Element, forms: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Top-level fields of every form the process's steps and start events use."""
    names: set[str] = set()
    for node in process.iter():
        if not isinstance(node.tag, str):
            continue
        form = forms.get(properties_of(node).get("formJsonSchemaFilename", "")) or {}
        names |= set(form.get("properties") or {})
    return names


def _gaps(
    file_name: str,
    process: etree._Element,
    forms: Mapping[str, Any],
    decisions: Mapping[str, Mapping[str, Any]],
) -> Iterator[Problem]:
    nodes = {n.get("id"): n for n in flow_nodes(process)}
    flows = bpmn_children(process, "sequenceFlow")
    known = _asked(process, forms) | _set_by_scripts(process) | _GIVEN
    known |= _set_by_steps(process, decisions)
    yield from _decision_gaps(file_name, process, nodes, decisions, known)
    for flow in flows:
        gateway = nodes.get(flow.get("sourceRef"))
        condition = text_of(flow.find(f"{{{BPMN_NS}}}conditionExpression"))
        if gateway is None or condition is None or local(gateway) != "exclusiveGateway":
            continue
        before = [
            nodes.get(f.get("sourceRef")) for f in flows if f.get("targetRef") == gateway.get("id")
        ]
        if not before or any(n is None or local(n) != "userTask" for n in before):
            continue
        for name in sorted(_read(condition) - known):
            yield Problem(
                file_name,
                f"the condition reads '{name}', which no form of this process asks for",
                element_id=flow.get("id"),
                element_name=flow.get("name"),
                code="diagram.unasked_field",
                params={"name": name},
            )


def _decision_gaps(
    file_name: str,
    process: etree._Element,
    nodes: Mapping[Any, etree._Element],
    decisions: Mapping[str, Mapping[str, Any]],
    known: set[str],
) -> Iterator[Problem]:
    """Names a called decision table's input columns read that nothing in the process
    provides (no form asks for them, no script, service, multi-instance or other table
    sets them). Skipped when the process calls other processes, whose outputs are not
    known here."""
    if next(process.iter(f"{{{BPMN_NS}}}callActivity"), None) is not None:
        return
    for task_id, key in sorted(_called_decisions(process).items()):
        task = nodes.get(task_id)
        for column in (decisions.get(key) or {}).get("inputs") or ():
            for name in sorted(_read(str(column.get("expression") or "")) - known):
                yield Problem(
                    file_name,
                    f"the decision table '{key}' (input '{column.get('label') or name}') "
                    f"reads '{name}', which no form of this process asks for",
                    element_id=task_id,
                    element_name=task.get("name") if task is not None else None,
                    code="diagram.unasked_field",
                    params={"name": name, "decision": key},
                )


def unasked_fields(
    xml: bytes,
    file_name: str,
    forms: Mapping[str, Mapping[str, Any]],
    max_bytes: int,
    decisions: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Problem]:
    """Notes (not blocking) for names that conditions after a person's step, or the
    decision tables the process calls (``decisions``: key -> inputs and outputs), read
    but that no form asks for."""
    root = parse_xml(xml, file_name, max_bytes=max_bytes).getroot()
    found: list[Problem] = []
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        found.extend(_gaps(file_name, process, forms, decisions or {}))
    return found
