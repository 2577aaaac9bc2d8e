"""Running a decision table: which rows matched, what they gave, and what the engine saw.

The engine evaluates a table with SpiffWorkflow's own ``DMNEngine`` (so the test panel and
the what-if answer exactly as a running instance would).  :func:`evaluate` gives the
matched rows and the outputs column by column; a business rule task records that with its
input values on the workflow (:func:`record`, :func:`take_evaluations`), and the engine
stores it after the action.  :func:`table_from_xml` builds a table from untrusted DMN
bytes (safe parser, size limit) and :func:`evaluate_values` runs it on input values typed
into a form or recorded from an earlier run.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.specs.model import HitPolicy
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.errors import InvalidDiagram, Problem
from engine.spiff.xmlsafe import DEFAULT_MAX_BYTES, parse_xml

_LOG_ATTRIBUTE = "pmoflow_decisions"
_VALUE_PREFIX = "dmn_input_"
_CONSTANTS = frozenset({"True", "False", "None"})


@dataclass
class Evaluation:
    """One run of a table: matched row numbers (1-based), the library's result, the
    outputs per column (a value per matched row) and the input values by column id."""

    decision: str
    rows: list[int]
    result: dict[str, Any]
    columns: dict[str, list[Any]]
    inputs: dict[str, Any] = field(default_factory=dict)
    #: Task data the output cells read (see :func:`output_context`).
    context: dict[str, Any] = field(default_factory=dict)
    element_id: str | None = None


def evaluate(engine: DMNEngine, task: Any) -> Evaluation:
    """Run ``engine``'s table against ``task.data`` as SpiffWorkflow's ``result`` does."""
    table = engine.decision_table
    matched = engine.decide(task)
    collect = table.hit_policy == HitPolicy.COLLECT.value
    deciding = matched if collect else matched[:1]  # FIRST: the first match decides
    result: dict[str, Any] = {}
    columns: dict[str, list[Any]] = {_output_name(o): [] for o in table.outputs}
    outputs = [rule.output_as_dict(task) for rule in deciding]
    if collect:
        for output in outputs:
            for key, value in output.items():
                result.setdefault(key, []).append(value)
    elif outputs:
        result = outputs[0]
    for rule in deciding:
        for entry in rule.outputEntries:
            value = task.workflow.script_engine.evaluate(task, entry.text) if entry.text else ""
            columns.setdefault(_output_name(entry.output), []).append(value)
    rows = [table.rules.index(rule) + 1 for rule in matched]
    return Evaluation(getattr(engine, "decision_ref", table.id), rows, result, columns)


def _output_name(output: Any) -> str:
    return output.name or output.label or output.id


def input_values(engine: DMNEngine, task: Any) -> dict[str, Any]:
    """The value of every input column for ``task`` (what the rows were tested against)."""
    script_engine = task.workflow.script_engine
    return {
        i.id: script_engine.evaluate(task, i.expression) if i.expression else None
        for i in engine.decision_table.inputs
    }


def output_variables(engine: DMNEngine) -> list[str]:
    """Task-data names the output cells read (e.g. ``probability`` in ``probability *
    impact``): recorded with each run, asked for by the test panel."""
    names: dict[str, None] = {}
    for rule in engine.decision_table.rules:
        for entry in rule.outputEntries:
            try:
                tree = ast.parse((entry.text or "").strip() or "None", mode="eval")
            except (SyntaxError, ValueError, MemoryError, RecursionError):
                continue
            names.update(dict.fromkeys(n.id for n in ast.walk(tree) if isinstance(n, ast.Name)))
    return [n for n in names if n not in _CONSTANTS]


def output_context(engine: DMNEngine, data: Mapping[str, Any]) -> dict[str, Any]:
    """The task data the output cells read, as it was."""
    return {n: copy.deepcopy(data[n]) for n in output_variables(engine) if n in data}


def record(task: Any, evaluation: Evaluation) -> None:
    """Keep an evaluation on the task's top workflow until the engine stores it."""
    top = getattr(task.workflow, "top_workflow", task.workflow)
    evaluation.element_id = task.task_spec.bpmn_id
    log = getattr(top, _LOG_ATTRIBUTE, None)
    if log is None:
        log = []
        setattr(top, _LOG_ATTRIBUTE, log)
    log.append(evaluation)


def take_evaluations(workflow: Any) -> list[Evaluation]:
    """The evaluations recorded since the last call (and forget them)."""
    log = getattr(workflow, _LOG_ATTRIBUTE, None) or []
    found = list(log)
    log.clear()
    return found


# --------------------------------------------------------------------------- tables


def table_from_xml(
    content: bytes, filename: str, key: str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> DMNEngine:
    """The decision table ``key`` of a DMN file, parsed safely by the library.

    Raises :class:`InvalidDiagram` naming the file (and line) for anything it cannot read.
    """
    root = parse_xml(content, filename, max_bytes=max_bytes).getroot()
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_dmn_xml(root, filename=filename)
        engine = parser.get_engine(key, None)
    except SpiffWorkflowException as exc:
        raise InvalidDiagram(
            [
                Problem(
                    filename,
                    str(exc).splitlines()[0],
                    line=getattr(exc, "line_number", None) or None,
                )
            ]
        ) from exc
    except (ValueError, KeyError, AttributeError, IndexError, TypeError) as exc:
        raise InvalidDiagram([Problem(filename, f"cannot read the decision table: {exc}")]) from exc
    engine.decision_ref = key
    return engine


def evaluate_values(
    engine: DMNEngine,
    values: Mapping[str, Any],
    script_engine: Any,
    context: Mapping[str, Any] | None = None,
) -> Evaluation:
    """Run a table on input values given per input column id (missing ones are None),
    with ``context`` as the task data its output cells may read.

    The table is copied and each input expression replaced by its value, so the rows are
    tested exactly as the engine tests them, in the sandbox.
    """
    table = copy.deepcopy(engine.decision_table)
    data: dict[str, Any] = dict(context or {})
    for index, column in enumerate(table.inputs):
        name = f"{_VALUE_PREFIX}{index}"
        data[name] = values.get(column.id)
        column.expression = name
    copied = DMNEngine(table)
    copied.decision_ref = getattr(engine, "decision_ref", table.id)
    spec = SimpleNamespace(
        bpmn_id=copied.decision_ref, bpmn_name=table.name, name=copied.decision_ref
    )
    task = SimpleNamespace(
        data=data, task_spec=spec, workflow=SimpleNamespace(script_engine=script_engine)
    )
    found = evaluate(copied, task)
    found.inputs = {c.id: values.get(c.id) for c in engine.decision_table.inputs}
    found.context = dict(context or {})
    return found
