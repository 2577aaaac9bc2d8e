"""Convert one Camunda 7 DMN file: one file per decision table, FEEL cells -> Python.

The engine reads one decision table per DMN file, in DMN 1.1-1.3 with Python cells
(``> 5``, ``"high"``, ``1 < ? <= 10``).  A Camunda DMN file with several decisions (a
DRD) becomes ``<stem>.<decision id>.dmn`` per decision; a decision that uses another's
result is reported (the process must call the required table first).  Cells in the FEEL
subset Camunda's simple tables use are translated; the rest is reported.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from lxml import etree

from engine.camunda7.common import DMN13_NS, FileReport, is_camunda, label, local
from engine.camunda7.juel import OutsideSubset, is_expression, translate

_DMN_NS = re.compile(r"^https?://www\.omg\.org/spec/DMN/")
_HIT_POLICIES = {"UNIQUE": "UNIQUE", "FIRST": "FIRST", "COLLECT": "COLLECT", "ANY": "FIRST",
                 "RULE ORDER": "COLLECT"}  # fmt: skip
_NUMBER = r"-?\d+(?:\.\d+)?"
_RANGE = re.compile(rf"^([\[\]\(])\s*({_NUMBER})\s*\.\.\s*({_NUMBER})\s*([\[\]\)])$")
_COMPARE = re.compile(rf"^(<=|>=|<|>|=|!=)\s*({_NUMBER}|\"[^\"]*\"|[A-Za-z_][\w.]*)$")
_LITERAL = re.compile(rf"^(?:{_NUMBER}|\"(?:[^\"\\]|\\.)*\"|true|false|null)$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")


class _Untranslated(ValueError):
    pass


@dataclass
class DmnResult:
    """The converted files (name -> bytes) and each decision's output names."""

    files: dict[str, bytes] = field(default_factory=dict)
    outputs: dict[str, list[str]] = field(default_factory=dict)
    requires: dict[str, list[str]] = field(default_factory=dict)


def convert_dmn(tree: etree._ElementTree, report: FileReport) -> DmnResult:
    """Split and translate a DMN tree; every decision it holds is reported."""
    root = _as_dmn13(tree.getroot())
    result = DmnResult()
    decisions = [d for d in root if local(d) == "decision"]
    if not decisions:
        report.add(None, "dmn:definitions", "cannot_run", "the file holds no decision")
        return result
    stem = report.file.rsplit(".", 1)[0] if report.file.lower().endswith(".dmn") else report.file
    for decision in decisions:
        converted = _decision(decision, report, result)
        if converted is None:
            continue
        name = report.file if len(decisions) == 1 else f"{stem}.{decision.get('id')}.dmn"
        if len(decisions) > 1:
            report.say(
                decision, "dmn:decision", "converted", "camunda.drd_decision",
                element=label(decision), file=name,
            )  # fmt: skip
        result.files[name] = _single(root, converted)
    return result


def _as_dmn13(root: etree._Element) -> etree._Element:
    """A copy of the tree with every DMN 1.x element in the DMN 1.3 namespace, default prefix."""
    old = etree.QName(root).namespace or ""
    nsmap = {k: v for k, v in root.nsmap.items() if v != old and not _DMN_NS.match(v or "")}
    nsmap.pop(None, None)
    nsmap[None] = DMN13_NS
    new = etree.Element(f"{{{DMN13_NS}}}definitions", nsmap=nsmap)
    for key, value in root.attrib.items():
        if not is_camunda(key):
            new.set(key, value)
    for child in root:
        new.append(copy.deepcopy(child))
    for element in new.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            ns = element.tag[1:].split("}", 1)[0]
            if ns == old or (_DMN_NS.match(ns) and "DMNDI" not in ns and "DI/" not in ns
                             and "DC/" not in ns):  # fmt: skip
                element.tag = f"{{{DMN13_NS}}}{local(element)}"
        for attr in [a for a in element.attrib if is_camunda(a)]:
            del element.attrib[attr]
    return new


def _single(root: etree._Element, decision: etree._Element) -> bytes:
    """A DMN file with ``root``'s attributes and only ``decision`` (no DI of others)."""
    new = etree.Element(root.tag, attrib=dict(root.attrib), nsmap=root.nsmap)
    for child in root:
        if local(child) in ("decision", "inputData", "knowledgeSource", "businessKnowledgeModel"):
            continue
        if local(child) == "DMNDI":
            continue
    new.append(decision)
    etree.cleanup_namespaces(new)
    return etree.tostring(new, xml_declaration=True, encoding="UTF-8")


def _decision(
    decision: etree._Element, report: FileReport, result: DmnResult
) -> etree._Element | None:
    decision = copy.deepcopy(decision)
    ns = f"{{{DMN13_NS}}}"
    requires = [(r.get("href") or "").lstrip("#") for r in decision.iter(f"{ns}requiredDecision")]
    for requirement in (
        decision.findall(f"{ns}informationRequirement")
        + decision.findall(f"{ns}authorityRequirement")
        + decision.findall(f"{ns}knowledgeRequirement")
    ):
        decision.remove(requirement)
    if requires:
        result.requires[decision.get("id", "")] = requires
        report.add(
            decision, "dmn:requiredDecision", "needs_decision",
            f"decision {label(decision)} uses the result of {', '.join(requires)}: PMOflow "
            "calls one table per business rule task, so call those first (the importer adds "
            "the calls where a process uses this table)",
        )  # fmt: skip
    table = decision.find(f"{ns}decisionTable")
    if table is None:
        report.say(
            decision, "dmn:literalExpression", "cannot_run", "camunda.literal_expression",
            element=label(decision),
        )  # fmt: skip
        return None
    hit = (table.get("hitPolicy") or "UNIQUE").upper()
    bad = 0
    if hit not in _HIT_POLICIES or table.get("aggregation"):
        bad += 1
        what = f"hitPolicy={hit}" + (f" aggregation={table.get('aggregation')}"
                                     if table.get("aggregation") else "")  # fmt: skip
        report.add(
            table, "hitPolicy", "cannot_run",
            f"{what} on decision {label(decision)}: the engine has UNIQUE, FIRST and COLLECT "
            "(no aggregation)",
            table,
        )  # fmt: skip
    elif _HIT_POLICIES[hit] != hit:
        table.set("hitPolicy", _HIT_POLICIES[hit])
        report.add(
            decision, "hitPolicy", "needs_decision" if hit == "RULE ORDER" else "converted",
            f"hitPolicy={hit} on decision {label(decision)}: {_HIT_POLICIES[hit]}",
            table,
        )  # fmt: skip
    inputs = table.findall(f"{ns}input")
    expressions = []
    for column in inputs:
        text = column.find(f"{ns}inputExpression/{ns}text")
        expressions.append(_input_expression(decision, text, report))
    outputs = [o.get("name") or o.get("id") or "" for o in table.findall(f"{ns}output")]
    result.outputs[decision.get("id", "")] = outputs
    bad += sum(1 for e in expressions if e is None)
    cells = 0
    for rule in table.findall(f"{ns}rule"):
        for entry in rule.findall(f"{ns}inputEntry") + rule.findall(f"{ns}outputEntry"):
            text = entry.find(f"{ns}text")
            if text is None:
                continue
            source = (text.text or "").strip()
            try:
                if local(entry) == "inputEntry":
                    text.text = unary_test(source)
                else:
                    text.text = output_value(source)
            except _Untranslated as exc:
                cells += 1
                if cells <= 5:
                    report.add(
                        rule, f"dmn:{local(entry)}", "cannot_run",
                        f"cell {source!r} in rule {rule.get('id')} of decision "
                        f"{label(decision)}: {exc}",
                        entry,
                    )  # fmt: skip
            for attr in list(entry.attrib):
                if attr == "expressionLanguage":
                    del entry.attrib[attr]
    if cells > 5:
        report.add(
            decision, "dmn:inputEntry", "cannot_run",
            f"{cells - 5} more cells of decision {label(decision)} are not translated",
        )  # fmt: skip
    if not bad and not cells:
        report.say(
            decision, "dmn:decisionTable", "converted", "camunda.decision_table", table,
            element=label(decision), count=len(table.findall(f"{ns}rule")),
        )  # fmt: skip
    return decision


def _input_expression(
    decision: etree._Element, text: etree._Element | None, report: FileReport
) -> str | None:
    """The input column's expression translated (None, reported, when it cannot be)."""
    if text is None:
        return ""
    source = (text.text or "").strip()
    owner = text.getparent()
    if owner is not None:
        owner.attrib.pop("expressionLanguage", None)
    try:
        if is_expression(source):
            text.text = translate(source)
        elif _NAME.match(source):
            parts = source.split(".")
            text.text = parts[0] + "".join(f"[{p!r}]" for p in parts[1:])
        else:
            raise OutsideSubset("only a variable or a ${...} in the JUEL subset is translated")
    except OutsideSubset as exc:
        holder = text.getparent()
        column = holder.getparent() if holder is not None else None
        report.add(
            column if column is not None else decision, "dmn:inputExpression", "cannot_run",
            f"input expression {source!r} of decision {label(decision)}: {exc}",
            text,
        )  # fmt: skip
        return None
    return text.text or ""


def unary_test(cell: str) -> str:
    """A FEEL simple unary test as the engine's Python cell (``?`` is the input).

    A single value stays alone (the engine compares it with the input); inside ``not(...)``
    or a list of tests every part names ``?``.
    """
    cell = cell.strip()
    if _LITERAL.match(cell):
        return _literal(cell)
    return _explicit(cell)


def _explicit(cell: str) -> str:
    """The test with ``?`` spelled out."""
    cell = cell.strip()
    if cell in ("", "-"):
        return ""
    if is_expression(cell):
        try:
            return f"? == ({translate(cell)})"
        except OutsideSubset as exc:
            raise _Untranslated(str(exc)) from exc
    negated = re.match(r"^not\s*\((.*)\)$", cell, re.S)
    if negated:
        return f"not ({_explicit(negated.group(1))})"
    parts = _split(cell)
    if len(parts) > 1:
        if all(_LITERAL.match(p) for p in parts):
            return f"? in [{', '.join(_literal(p) for p in parts)}]"
        return " or ".join(f"({_explicit(p)})" for p in parts)
    if _LITERAL.match(cell):
        return f"? == {_literal(cell)}"
    match = _RANGE.match(cell)
    if match:
        low_open, low, high, high_open = match.groups()
        left = "<" if low_open in "](" else "<="
        right = "<" if high_open in "[)" else "<="
        return f"{low} {left} ? {right} {high}"
    match = _COMPARE.match(cell)
    if match:
        op, value = match.groups()
        operand = _literal(value) if _LITERAL.match(value) else _path(value)
        return f"? {'==' if op == '=' else op} {operand}"
    if _NAME.match(cell):
        return f"? == {_path(cell)}"
    raise _Untranslated("FEEL outside the simple unary tests the importer translates")


def output_value(cell: str) -> str:
    """A FEEL (or JUEL) output entry as a Python expression."""
    cell = cell.strip()
    if not cell:
        return cell
    if is_expression(cell):
        try:
            return translate(cell)
        except OutsideSubset as exc:
            raise _Untranslated(str(exc)) from exc
    if _LITERAL.match(cell):
        return _literal(cell)
    if _NAME.match(cell):
        return _path(cell)
    raise _Untranslated("FEEL outside literals and variable names is not translated")


def _literal(text: str) -> str:
    if text.startswith('"'):
        return repr(re.sub(r"\\(.)", r"\1", text[1:-1]))
    return {"true": "True", "false": "False", "null": "None"}.get(text, text)


def _path(text: str) -> str:
    parts = text.split(".")
    return parts[0] + "".join(f"[{p!r}]" for p in parts[1:])


def _split(cell: str) -> list[str]:
    """Split on commas outside strings and brackets."""
    parts, depth, quote, start = [], 0, False, 0
    for i, ch in enumerate(cell):
        if ch == '"' and (i == 0 or cell[i - 1] != "\\"):
            quote = not quote
        elif not quote and ch in "[(":
            depth += 1
        elif not quote and ch in "])":
            depth -= 1
        elif not quote and depth <= 0 and ch == ",":
            parts.append(cell[start:i].strip())
            start = i + 1
    parts.append(cell[start:].strip())
    return parts
