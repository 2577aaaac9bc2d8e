"""Every BPMN MIWG reference model through deploy-time validation (no crash, clear answers).

Each file, alone, must give either deployable processes (whose spec builds) or problems
that name an element of the file (id and line); problems without an element are only
allowed for file-level reasons.  The per-file results are listed in ``docs/modeling.md``
("Conformance results"); ``test_docs_table_is_current`` keeps that table honest
(``python -m tests.engine.test_conformance`` prints a fresh one).
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

import pytest

from engine.errors import InvalidDiagram
from engine.spiff.bundle import Bundle, CheckContext, SourceFile, analyze, build_spec
from engine.spiff.xmlsafe import find_by_id, parse_xml

MIWG = Path(__file__).resolve().parents[1] / "conformance" / "miwg-reference"
FILES = sorted(MIWG.glob("*.bpmn"))
DOCS = Path(__file__).resolve().parents[2] / "docs" / "modeling.md"
CTX = CheckContext(known_operations=None)
FILE_LEVEL = ("not well-formed", "encoding", "too large", "is empty", "DOCTYPE",
              "too many elements", "nested too deeply", "contains no process",
              "root element", "binary", "this diagram was drawn")
KINDS = [
    ("this diagram was drawn", "another tool's extensions"),
    ("not executable", "not executable"),
    ("has no role", "task without lane/role"),
    ("does not compile", "expression not Python"),
    ("JUEL expression", "expression not Python"),
    ("is written in", "expression not Python"),
    ("without conditions", "gateway without conditions/default"),
    ("not bound to an operation", "service task without operation"),
    ("data store", "data store"),
    ("data object", "data association"),
    ("not supported", "unsupported element/event"),
    ("timer", "timer"),
    ("decision table it calls", "rule task without decision"),
    ("calls process", "call target missing"),
    ("start event", "sub-process structure"),
    ("end event", "sub-process structure"),
    ("loop", "loop/multi-instance"),
    ("multi-instance", "loop/multi-instance"),
    ("used by more than one", "duplicate id"),
    ("flow", "flow structure"),
]


def kind(message: str) -> str:
    """A short category of a problem message, for the summary table."""
    return next((k for fragment, k in KINDS if fragment in message), "other")


def analyze_file(path: Path) -> Bundle:
    return analyze([SourceFile(path.name, path.read_bytes())], CTX)


def test_the_corpus_is_there() -> None:
    assert len(FILES) == 21


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_reference_file_gives_a_deployment_or_located_problems(path: Path) -> None:
    bundle = analyze_file(path)
    if bundle.ok:
        assert bundle.processes
        for process in bundle.processes:
            build_spec(process)
        return
    root = parse_xml(path.read_bytes(), path.name).getroot()
    last_line = path.read_bytes().count(b"\n") + 1
    for problem in bundle.problems:
        assert problem.file == path.name
        if problem.element_id is None:
            assert any(reason in problem.message for reason in FILE_LEVEL), problem
            continue
        element = find_by_id(root, problem.element_id)
        assert element is not None, problem
        # the element's own line, or a line inside it (a condition, a property...)
        assert problem.line is not None and element.sourceline <= problem.line <= last_line


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_library_errors_on_reference_files_are_wrapped(path: Path) -> None:
    """Even past our checks, SpiffWorkflow's own errors come back as located problems."""
    for process in analyze_file(path).processes:
        try:
            build_spec(process)
        except InvalidDiagram as exc:
            assert exc.problems and all(p.element_id and p.line for p in exc.problems)


def test_lanes_and_names_of_a_file_with_lanes() -> None:
    [process] = analyze_file(MIWG / "C.1.0.bpmn").processes
    approve, assign, archive = (process.elements[i] for i in
                                ("approveInvoice", "assignApprover", "archiveInvoice"))
    assert (approve.type, approve.name, approve.lane, approve.role) == (
        "userTask", "Approve Invoice", "Approver", "Approver")
    assert (assign.lane, archive.lane, archive.type) == ("Team Assistant", "Accountant",
                                                         "serviceTask")
    assert process.elements["StartEvent_1"].line == 525
    assert {e.lane for e in process.elements.values()} == {"Approver", "Team Assistant",
                                                            "Accountant"}


def summary_rows() -> list[str]:
    """One markdown table row per reference file."""
    rows = []
    for path in FILES:
        bundle = analyze_file(path)
        if bundle.ok:
            rows.append(f"| {path.name} | deployable ({len(bundle.processes)}) | 0 | |")
            continue
        kinds = collections.Counter(kind(p.message) for p in bundle.problems)
        top = ", ".join(f"{k} ({n})" for k, n in kinds.most_common(3))
        rows.append(f"| {path.name} | not deployable | {len(bundle.problems)} | {top} |")
    return rows


def test_docs_table_is_current() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = [line for line in text.splitlines() if re.match(r"\| [ABC]\.\d\.\d\.bpmn ", line)]
    assert documented == summary_rows()


if __name__ == "__main__":  # pragma: no cover - regenerates the docs table
    print("| file | result | problems | top kinds |\n|---|---|---|---|")
    print("\n".join(summary_rows()))
