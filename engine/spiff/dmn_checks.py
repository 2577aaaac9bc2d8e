"""The checks a decision table must pass before a PMO admin may publish it.

Pure: bytes in, problems out.  Every problem about a cell names the rule's row number
(1-based, as the editor shows it) and its column (the input or output label), so the admin
can find it in the table: overlapping rows under UNIQUE (and under ANY when they give
different outputs), outputs outside the output's allowed values (``outputValues``), and
cells or expressions that do not compile in the sandbox.  The file is read with the safe
parser and its size limit; what cannot be read at all is one clear problem.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from lxml import etree

from engine.errors import InvalidDiagram, Problem
from engine.spiff.bpmn_markup import DMN_NAMESPACES, DecisionDef, compile_check, text_of
from engine.spiff.dmn import cell_problem, find_overlaps, read_decision
from engine.spiff.xmlsafe import DEFAULT_MAX_BYTES, parse_xml, to_utf8

_NO_VALUE = object()


@dataclass(frozen=True)
class CheckedTable:
    """A table that was read (``decision`` None when it could not be) and its problems."""

    decision: DecisionDef | None
    problems: list[Problem]
    content: bytes


def check_table(
    content: bytes | str,
    filename: str,
    *,
    key: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> CheckedTable:
    """Every problem publishing this DMN file would meet (empty list: publishable).

    ``key``: the decision id the file must keep (processes call the table by it).
    """
    try:
        data = to_utf8(content, filename, max_bytes)
        root = parse_xml(data, filename, max_bytes=max_bytes).getroot()
    except InvalidDiagram as exc:
        return CheckedTable(None, list(exc.problems), b"")
    qname = etree.QName(root)
    if qname.localname != "definitions" or qname.namespace not in DMN_NAMESPACES:
        return CheckedTable(
            None,
            [
                Problem(
                    filename,
                    f"this is not a DMN 1.3 decision table (root element <{qname.localname}>)",
                    line=1,
                )
            ],
            data,
        )
    decision, found = read_decision(root, filename, data)
    if decision is None:
        return CheckedTable(None, found, data)
    rule_ids = {r["id"] for r in decision.rules}
    problems = [p for p in found if p.element_id not in rule_ids]  # rows: said again below
    if key is not None and decision.key != key:
        problems.append(
            Problem(
                filename,
                f"the decision id must stay '{key}' (processes call "
                f"the table by it), not '{decision.key}'",
                decision.key,
                code="dmn.key_changed",
                params={"key": key, "found": decision.key},
            )
        )
    problems += _row_problems(filename, decision, _allowed_outputs(root))
    problems += _overlap_problems(filename, decision)
    return CheckedTable(decision, problems, data)


def column_name(column: dict) -> str:
    """How the editor names a column: its label, else its output name, else its id."""
    return column.get("label") or column.get("name") or column.get("id") or "?"


def _allowed_outputs(root: etree._Element) -> dict[str, list[object]]:
    """Allowed values per output column id, from each output's ``outputValues`` list."""
    allowed: dict[str, list[object]] = {}
    for output in root.iter(f"{{{etree.QName(root).namespace}}}output"):
        values = output.find(
            f"{{{etree.QName(root).namespace}}}outputValues/{{{etree.QName(root).namespace}}}text"
        )
        text = text_of(values)
        if text:
            parsed = _literal(f"[{text}]")
            if isinstance(parsed, list):
                allowed[output.get("id", "")] = parsed
    return allowed


def _literal(text: str) -> object:
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _NO_VALUE


def _row_problems(
    file: str, decision: DecisionDef, allowed: dict[str, list[object]]
) -> list[Problem]:
    found: list[Problem] = []
    for number, rule in enumerate(decision.rules, start=1):

        def add(message: str, rule: dict = rule, number: int = number) -> None:
            found.append(Problem(file, f"row {number}, {message}", rule["id"], None, rule["line"]))

        for kind, columns in (("input", decision.inputs), ("output", decision.outputs)):
            cells = rule[f"{kind}s"]
            if len(cells) != len(columns):
                add(f"{len(cells)} {kind} cells for {len(columns)} {kind} columns")
        for column, cell in zip(decision.inputs, rule["inputs"], strict=False):
            message = cell_problem(column["expression"] or "", cell)
            if message:
                add(f"input '{column_name(column)}': {message}")
        for column, cell in zip(decision.outputs, rule["outputs"], strict=False):
            message = _output_problem(cell, allowed.get(column["id"] or ""))
            if message:
                add(f"output '{column_name(column)}': {message}")
    return found


def _output_problem(cell: str | None, allowed: list[object] | None) -> str | None:
    if cell is None or not cell.strip():
        return None
    compiled = compile_check(cell.strip(), "eval")
    if compiled is not None:
        return f"'{cell.strip()}' does not compile: {compiled[1]}"
    value = _literal(cell)
    if allowed and value is not _NO_VALUE and value not in allowed:
        listed = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in allowed)
        return f"{cell.strip()} is not one of the allowed values ({listed})"
    return None


def _overlap_problems(file: str, decision: DecisionDef) -> list[Problem]:
    if decision.hit_policy not in ("UNIQUE", "ANY", "COLLECT"):
        return []
    rows = {r["id"]: n for n, r in enumerate(decision.rules, start=1)}
    by_id = {r["id"]: r for r in decision.rules}
    inputs = ", ".join(column_name(c) for c in decision.inputs)
    found = []
    for first, second in find_overlaps(decision):
        a, b = by_id[first], by_id[second]
        message = None
        if decision.hit_policy == "UNIQUE":
            message = (
                f"rows {rows[first]} and {rows[second]} overlap: both match the same "
                f"inputs ({inputs}), but hit policy UNIQUE allows one matching row"
            )
        else:
            differs = _first_difference(decision, a, b, same=decision.hit_policy == "COLLECT")
            if differs is not None and decision.hit_policy == "ANY":
                message = (
                    f"rows {rows[first]} and {rows[second]} overlap and give different "
                    f"values in output '{differs}': hit policy ANY needs them equal"
                )
            elif differs is not None:
                message = (
                    f"rows {rows[first]} and {rows[second]} can match the same inputs "
                    f"and both give output '{differs}' the same value: the collected "
                    "list would hold it twice"
                )
        if message:
            found.append(Problem(file, message, second, None, b["line"]))
    return found


def _first_difference(decision: DecisionDef, a: dict, b: dict, *, same: bool) -> str | None:
    """ANY: the first output column where two rows differ.  COLLECT (``same``): the first
    output column, when both rows give it the same value."""
    for index, column in enumerate(decision.outputs):
        left = (a["outputs"][index : index + 1] or [None])[0]
        right = (b["outputs"][index : index + 1] or [None])[0]
        equal = (left or "").strip() == (right or "").strip()
        if same:
            return column_name(column) if equal and left and left.strip() else None
        if not equal:
            return column_name(column)
    return None
