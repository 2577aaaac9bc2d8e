"""DMN decision tables: reading, checking and the overlap analysis of their rules.

:func:`read_decision` turns the single decision table of a DMN file into a
:class:`~engine.spiff.bpmn_markup.DecisionDef` and reports what the engine cannot run (hit
policy, aggregation, columns, cells).  Input cells are compiled exactly as SpiffWorkflow's
DMNEngine does (:func:`cell_problem`); :func:`find_overlaps` finds rules of a UNIQUE table
that can match the same input.
"""

from __future__ import annotations

import ast
import math
import re
from typing import TypeGuard

from lxml import etree

from engine.errors import Problem
from engine.spiff.bpmn_markup import (
    DecisionDef,
    check_expression,
    compile_check,
    local,
    text_of,
)
from engine.spiff.bpmn_markup import problem as _problem

#: Hit policies the engine honours: UNIQUE and FIRST return the first matching rule,
#: COLLECT returns lists of every match (no aggregation).
SUPPORTED_HIT_POLICIES = frozenset({"UNIQUE", "FIRST", "COLLECT"})
_QMARK = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")  # DMNEngine's own pattern
_INPUT = "dmninputexpr"


def problem(file: str, element: etree._Element, message: str, line: int | None = None) -> Problem:
    """A problem of a decision table located at ``element`` (code ``dmn.problem``)."""
    return _problem(file, element, message, line, code="dmn.problem")


def read_decision(
    root: etree._Element, file: str, source: bytes
) -> tuple[DecisionDef | None, list[Problem]]:
    """Read and check the single decision table of a DMN file."""
    ns = etree.QName(root).namespace
    nsmap = dict(root.nsmap)
    if nsmap.get("dmn", nsmap.get(None)) != ns:
        message = "the DMN namespace must be the default one or use the prefix 'dmn'"
        return None, [
            Problem(
                file, message + " (SpiffWorkflow reads it that way)", line=1, code="dmn.problem"
            )
        ]
    decisions = list(root.iter(f"{{{ns}}}decision"))
    if len(decisions) != 1:
        return None, [
            Problem(
                file,
                f"this DMN file holds {len(decisions)} decisions; the engine reads one "
                "decision table per file: save each decision in a file of its own"
                if decisions
                else "this DMN file holds no decision",
                line=root.sourceline,
                code="dmn.problem",
            )
        ]
    decision = decisions[0]
    table = decision.find(f"{{{ns}}}decisionTable")
    if table is None:
        return None, [
            problem(
                file,
                decision,
                f"decision '{decision.get('id')}' has no decision "
                "table (literal expressions are not supported)",
            )
        ]
    found: list[Problem] = []
    hit = (table.get("hitPolicy") or "UNIQUE").upper()
    if hit not in SUPPORTED_HIT_POLICIES:
        found.append(
            problem(file, table, f"hit policy {hit} is not supported; use UNIQUE, FIRST or COLLECT")
        )
    if table.get("aggregation"):
        found.append(
            problem(
                file,
                table,
                "COLLECT aggregations (SUM, COUNT, ...) are not "
                "supported: the engine returns the list of matches",
            )
        )
    inputs = [_dmn_input(file, i, ns, found) for i in table.findall(f"{{{ns}}}input")]
    outputs = [_dmn_output(file, o, found) for o in table.findall(f"{{{ns}}}output")]
    columns = (inputs, outputs)
    rules = [_dmn_rule(file, r, ns, columns, found) for r in table.findall(f"{{{ns}}}rule")]
    result = DecisionDef(
        key=decision.get("id", ""),
        name=decision.get("name") or decision.get("id") or "",
        file=file,
        source=source,
        hit_policy=hit,
        inputs=inputs,
        outputs=outputs,
        rules=rules,
    )
    if hit == "UNIQUE":
        lines = {r["id"]: r["line"] for r in rules}
        for first, second in find_overlaps(result):
            message = (
                f"rules {first} and {second} can match the same inputs, but hit policy "
                "UNIQUE allows one match: make them exclusive or use FIRST or COLLECT"
            )
            found.append(
                Problem(
                    file,
                    message,
                    second,
                    None,
                    lines[second],
                    code="dmn.problem",
                    params={"rule": second, "other_rule": first},
                )
            )
    elif hit == "COLLECT":
        found += _collect_duplicates(file, result)
    return result, found


def _collect_duplicates(file: str, decision: DecisionDef) -> list[Problem]:
    """COLLECT rules that can match together and give the same first output (e.g. the same
    approver twice): the collected list would name it twice, with two SLAs."""
    by_id = {r["id"]: r for r in decision.rules}
    label = (
        decision.outputs[0].get("label") or decision.outputs[0].get("name")
        if decision.outputs
        else "output"
    )
    found = []
    for first, second in find_overlaps(decision):
        a, b = by_id[first]["outputs"][:1], by_id[second]["outputs"][:1]
        if a and b and a[0] and b[0] and a[0].strip() == b[0].strip():
            found.append(
                Problem(
                    file,
                    f"rules {first} and {second} can match the same inputs and both give "
                    f"{label} {a[0].strip()}: the collected list would hold it twice; make the "
                    "rules exclusive",
                    second,
                    None,
                    by_id[second]["line"],
                    code="dmn.problem",
                    params={"rule": second, "other_rule": first},
                )
            )
    return found


def _dmn_input(file: str, element: etree._Element, ns: str | None, found: list[Problem]) -> dict:
    text = element.find(f"{{{ns}}}inputExpression/{{{ns}}}text")
    expression = text_of(text)
    name = element.get("label") or element.get("id")
    if expression is None or text is None:  # no text element: no expression either
        found.append(problem(file, element, f"input column '{name}' has no expression"))
    else:
        found += check_expression(
            file, element, expression, "eval", "its expression", text.sourceline
        )
    return {"id": element.get("id"), "label": element.get("label") or "", "expression": expression}


def _dmn_output(file: str, element: etree._Element, found: list[Problem]) -> dict:
    if not (element.get("name") or element.get("label")):
        found.append(
            problem(
                file,
                element,
                "output column has no name: its value would have no variable to go to",
            )
        )
    return {
        "id": element.get("id"),
        "label": element.get("label") or "",
        "name": element.get("name") or element.get("label") or "",
    }


def _dmn_rule(
    file: str,
    rule: etree._Element,
    ns: str | None,
    columns: tuple[list[dict], list[dict]],
    found: list[Problem],
) -> dict:
    inputs, outputs = columns
    cells: dict[str, list[str | None]] = {"inputs": [], "outputs": []}
    for entry in rule:
        kind = {"inputEntry": "inputs", "outputEntry": "outputs"}.get(local(entry))
        if kind is None:
            continue
        text_el = entry.find(f"{{{ns}}}text")
        text = None if text_el is None else text_el.text
        index = len(cells[kind])
        cells[kind].append(text)
        line = entry.sourceline if text_el is None else text_el.sourceline
        if kind == "inputs" and index < len(inputs):
            message = cell_problem(inputs[index]["expression"] or "", text)
            if message:
                column = inputs[index]["label"] or inputs[index]["id"]
                message = f"rule {rule.get('id')}, input '{column}': {message}"
                found.append(
                    Problem(
                        file,
                        message,
                        rule.get("id"),
                        None,
                        line,
                        code="dmn.problem",
                        params={"rule": rule.get("id"), "column": column},
                    )
                )
        elif kind == "outputs" and text and text.strip():
            found += check_expression(file, rule, text, "eval", f"output cell {index + 1}", line)
    for kind, expected in (("inputs", len(inputs)), ("outputs", len(outputs))):
        if len(cells[kind]) != expected:
            found.append(
                problem(
                    file,
                    rule,
                    f"rule {rule.get('id')} has {len(cells[kind])} "
                    f"{kind[:-1]} cells for {expected} {kind[:-1]} columns",
                )
            )
    return {
        "id": rule.get("id"),
        "line": rule.sourceline,
        **cells,
        "description": text_of(rule.find(f"{{{ns}}}description")),
    }


def cell_problem(input_expression: str, cell: str | None) -> str | None:
    """What is wrong with an input cell, compiled exactly as SpiffWorkflow's DMNEngine does.

    ``None`` and ``-`` match anything; a cell with ``?`` is a test of its own (``? > 5``);
    a cell that parses alone is compared with ``==``; otherwise it is appended to the input
    expression (``> 5`` gives ``budget > 5``).
    """
    if cell is None or cell == "-":
        return None
    if not cell.strip():
        return "the cell contains only spaces: leave it empty or write '-'"
    replaced = _QMARK.sub(_INPUT, cell)
    if _INPUT in replaced:
        expression = replaced
    elif _parses(replaced):
        if isinstance(_parse_eval(replaced), ast.Tuple):
            return (
                f"'{cell}' compares the input with a tuple; to match one of several "
                f"values write '? in [{cell}]'"
            )
        expression = f"({input_expression}) == ({replaced})"
    elif _parses(f"v {replaced}"):
        if re.match(r"\w", replaced):
            return (
                f"'{cell}' would be glued to the input expression "
                f"('{input_expression}{replaced}'); write '? {cell}'"
            )
        expression = input_expression + replaced
    else:
        return f"'{cell}' is not a valid Python test (e.g. > 5, \"high\", 1 < ? <= 10)"
    found = compile_check(expression, "eval")
    return None if found is None else f"'{cell}' does not compile: {found[1]}"


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True


def _parse_eval(source: str) -> ast.AST | None:
    try:
        return ast.parse(source.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def find_overlaps(decision: DecisionDef) -> list[tuple[str, str]]:
    """Pairs of rule ids that can match the same input (in order of the table).

    Understands empty/``-`` cells, constants (``"IT"``, ``5``), ``in [...]`` lists,
    comparisons (``> 5``, ``<= 10``) and ranges (``100 < ? <= 1000``).  Any other cell is
    treated as unknown and never reported as overlapping.
    """
    sets = [[_cell_set(c) for c in rule["inputs"]] for rule in decision.rules]
    pairs = []
    for i, first in enumerate(sets):
        for j in range(i + 1, len(sets)):
            second = sets[j]
            same = len(first) == len(second)
            if same and all(_meet(a, b) is True for a, b in zip(first, second, strict=True)):
                pairs.append((decision.rules[i]["id"], decision.rules[j]["id"]))
    return pairs


_NO = object()
_FLIP = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE, ast.Eq: ast.Eq}
CellSet = tuple | None  # ("any",) | ("values", frozenset) | ("range", lo, lo_inc, hi, hi_inc)


def _cell_set(cell: str | None) -> CellSet:
    if cell is None or cell == "-":
        return ("any",)
    text = _QMARK.sub(_INPUT, cell).strip()
    node = _parse_eval(text) or _parse_eval(f"{_INPUT} {text}")
    constant = _constant(node)
    if constant is not _NO:
        return ("values", frozenset({constant}))
    return _compare_set(node) if isinstance(node, ast.Compare) else None


def _constant(node: ast.AST | None) -> object:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _constant(node.operand)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value
    return _NO


def _is_input(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == _INPUT


def _compare_set(node: ast.Compare) -> CellSet:
    operands = [node.left, *node.comparators]
    if len(node.ops) == 1 and isinstance(node.ops[0], ast.In) and _is_input(node.left):
        items = getattr(node.comparators[0], "elts", None)
        values = [_constant(i) for i in items or []]
        return ("values", frozenset(values)) if items and _NO not in values else None
    bounds = ["range", -math.inf, False, math.inf, False]
    kind: type[ast.cmpop] | None
    for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
        if _is_input(left) and _constant(right) is not _NO:
            kind, value = type(op), _constant(right)
        elif _is_input(right) and _constant(left) is not _NO:
            kind, value = _FLIP.get(type(op)), _constant(left)
        else:
            return None
        if kind is ast.Eq and len(node.ops) == 1:
            return ("values", frozenset({value}))
        if kind not in (ast.Lt, ast.LtE, ast.Gt, ast.GtE) or not _number(value):
            return None
        _tighten(bounds, kind, value)
    return tuple(bounds)


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _tighten(bounds: list, kind: type, value: float) -> None:
    if kind in (ast.Gt, ast.GtE):
        inclusive = kind is ast.GtE
        if value > bounds[1] or (value == bounds[1] and not inclusive):
            bounds[1], bounds[2] = value, inclusive
    else:
        inclusive = kind is ast.LtE
        if value < bounds[3] or (value == bounds[3] and not inclusive):
            bounds[3], bounds[4] = value, inclusive


def _meet(a: CellSet, b: CellSet) -> bool | None:
    """Whether two cells can match the same value (None: cannot tell)."""
    if a is None or b is None:
        return None
    if a[0] == "any" or b[0] == "any":
        return True
    if a[0] == b[0] == "values":
        return bool(a[1] & b[1])
    if a[0] == b[0] == "range":
        lo = max((a[1], a[2]), (b[1], b[2]), key=lambda x: (x[0], not x[1]))
        hi = min((a[3], a[4]), (b[3], b[4]), key=lambda x: (x[0], x[1]))
        return lo[0] < hi[0] or (lo[0] == hi[0] and lo[1] and hi[1])
    values, span = (a, b) if a[0] == "values" else (b, a)
    return any(_within(v, span) for v in values[1] if _number(v))


def _within(value: float, span: tuple) -> bool:
    above = value > span[1] or (value == span[1] and span[2])
    below = value < span[3] or (value == span[3] and span[4])
    return above and below
