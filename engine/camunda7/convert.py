"""The importer's driver: read every file, convert it, then check the result as deploy would.

Bad input never raises: a file that cannot be read is reported (``cannot_run``, with the
parser's message and line); an importer bug on one file marks that file ``crashed`` and
the others still convert.  After conversion each diagram is checked with the engine's own
deploy-time analysis (with the tables and processes of the upload it uses), and whatever
that analysis still finds becomes a ``cannot_run`` entry, so a file without one deploys.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from lxml import etree

from engine.camunda7.bpmn import BpmnConverter, Settings
from engine.camunda7.common import BPMN_NS, FileReport, local
from engine.camunda7.dmn import convert_dmn
from engine.camunda7.report import (
    CRASHED,
    ImportResult,
    ReportEntry,
    ServiceBinding,
    worst,
)
from engine.errors import InvalidDiagram
from engine.spiff.bpmn_markup import CheckContext
from engine.spiff.bundle import SourceFile, analyze
from engine.spiff.xmlsafe import parse_xml


@dataclass
class _File:
    name: str
    kind: str  # bpmn, dmn
    tree: etree._ElementTree
    report: FileReport
    lines: dict[str, int | None] = field(default_factory=dict)
    outputs: dict[str, bytes] = field(default_factory=dict)
    processes: set[str] = field(default_factory=set)
    decisions: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)
    crashed: bool = False


def run(
    files: Mapping[str, bytes],
    *,
    group_roles: dict[str, str],
    operations: dict[str, str],
    known_operations: frozenset[str] | None,
    known_roles: frozenset[str] | None,
    known_processes: frozenset[str] = frozenset(),
    known_decisions: frozenset[str] = frozenset(),
    max_bytes: int,
    progress: Callable[[int, int, str], None] | None = None,
) -> ImportResult:
    """See :func:`engine.camunda7.import_camunda`."""
    settings = Settings(group_roles, operations, known_operations, known_roles)
    read: list[_File] = []
    status: dict[str, str] = {}
    failed: list[ReportEntry] = []
    for name, content in files.items():
        item = _read(name, content, max_bytes, failed)
        if item is None:
            status[name] = "cannot_run"
        else:
            read.append(item)
    outputs: dict[str, list[str]] = {}
    requires: dict[str, list[str]] = {}
    groups: dict[str, str | None] = {}
    services: list[ServiceBinding] = []
    forms: dict[str, bytes] = {}
    total, done = 2 * len(read), 0
    for item in sorted(read, key=lambda f: f.kind != "dmn"):  # tables first: outputs known
        if progress is not None:
            progress(done, total, item.name)
        done += 1
        try:
            if item.kind == "dmn":
                tables = convert_dmn(item.tree, item.report)
                item.outputs = tables.files
                outputs.update(tables.outputs)
                requires.update(tables.requires)
                item.decisions = set(tables.outputs)
            else:
                result = BpmnConverter(item.tree, item.report, settings, outputs, requires).run()
                item.outputs = {item.name: result.content}
                forms.update({f"forms/{k}": v for k, v in result.forms.items()})
                item.outputs.update({f"forms/{k}": v for k, v in result.forms.items()})
                groups.update(result.groups)
                services += result.services
                _references(item, result.content)
        except Exception as exc:  # an importer bug must not take the other files down
            item.crashed = True
            item.outputs = {}
            item.report.add(
                None, "importer", "cannot_run",
                f"the importer failed on this file ({type(exc).__name__}: {exc}); please "
                "report it",
            )  # fmt: skip
    ctx = CheckContext(
        known_processes=known_processes,
        known_decisions=known_decisions,
        known_operations=known_operations,
        known_roles=known_roles,
        max_bytes=max_bytes,
    )
    for item in read:
        if progress is not None:
            progress(done, total, item.name)
        done += 1
        if not item.crashed:
            try:
                _check(item, read, ctx)
            except Exception as exc:  # the deploy analysis never raises; keep it that way
                item.crashed = True
                item.report.add(
                    None, "importer", "cannot_run",
                    f"checking the converted file failed ({type(exc).__name__}: {exc})",
                )  # fmt: skip
    if progress is not None:
        progress(total, total, "")
    report = list(failed)
    for item in read:
        report += item.report.entries
        status[item.name] = (
            CRASHED if item.crashed else worst([e.outcome for e in item.report.entries])
        )
    report.sort(key=lambda e: (e.file, e.line or 0, e.element_id or ""))
    converted: dict[str, bytes] = {}
    for item in read:
        converted.update(item.outputs)
    unknown = tuple(sorted(g for g, r in groups.items() if r is None))
    return ImportResult(
        files=converted,
        originals=dict(files),
        report=tuple(report),
        status={name: status[name] for name in files},
        groups=groups,
        unknown_groups=unknown,
        services=tuple(services),
    )


def _read(name: str, content: bytes, max_bytes: int, failed: list[ReportEntry]) -> _File | None:
    """Parse one upload safely; None (and an entry saying why) when it cannot be read."""
    try:
        tree = parse_xml(content, name, max_bytes=max_bytes)
    except InvalidDiagram as exc:
        for problem in exc.problems:
            failed.append(
                ReportEntry(
                    name,
                    problem.line,
                    None,
                    None,
                    "file",
                    "cannot_run",
                    problem.message,
                    problem.code,
                    MappingProxyType(dict(problem.params)),
                )
            )
        return None
    root = tree.getroot()
    qname = etree.QName(root)
    if qname.localname == "definitions" and qname.namespace == BPMN_NS:
        kind = "bpmn"
    elif qname.localname == "definitions" and "DMN" in (qname.namespace or ""):
        kind = "dmn"
    else:
        failed.append(
            ReportEntry(
                name, root.sourceline, None, None, "file", "cannot_run",
                f"the root element is <{qname.localname}>: not a BPMN or DMN file",
            )
        )  # fmt: skip
        return None
    lines = {i: e.sourceline for e in root.iter() if isinstance(e.tag, str) and (i := e.get("id"))}
    return _File(name, kind, tree, FileReport(name), lines)


def _references(item: _File, content: bytes) -> None:
    """Which processes the converted file defines, and which processes/decisions it calls."""
    root = etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False))
    ns = {"bpmn": BPMN_NS, "s": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
    item.processes = {p.get("id", "") for p in root.iterfind("bpmn:process", ns)}
    item.calls = {
        (c.get("calledElement") or "").strip() for c in root.iterfind(".//bpmn:callActivity", ns)
    }
    item.decisions = {(d.text or "").strip() for d in root.iterfind(".//s:calledDecisionId", ns)}


def _check(item: _File, everything: list[_File], ctx: CheckContext) -> None:
    """Analyze the converted file as deploy would; leftovers become cannot_run entries."""
    if item.kind == "dmn":
        for name, content in item.outputs.items():
            bundle = analyze([SourceFile(name, content)], ctx)
            _fold(item, bundle.problems)
        return
    mine = [SourceFile(n, c) for n, c in item.outputs.items()]
    bpmn_files = [f for f in everything if f.kind == "bpmn" and f is not item and not f.crashed]
    wanted_processes, wanted_decisions, seen = set(item.calls), set(item.decisions), {item.name}
    extra: list[SourceFile] = []
    changed = True
    while changed:
        changed = False
        for other in bpmn_files:
            if other.name not in seen and other.processes & wanted_processes:
                seen.add(other.name)
                extra += [SourceFile(n, c) for n, c in other.outputs.items() if n == other.name]
                extra += [SourceFile(n, c) for n, c in other.outputs.items() if n != other.name]
                wanted_processes |= other.calls
                wanted_decisions |= other.decisions
                changed = True
    for other in everything:
        if other.kind == "dmn" and not other.crashed:
            for name, content in other.outputs.items():
                key = _decision_key(content)
                if key in wanted_decisions:
                    extra.append(SourceFile(name, content))
                    wanted_decisions.discard(key)
    bundle = analyze(mine + extra, ctx)
    names = {s.name for s in mine}
    _fold(item, [p for p in bundle.problems if p.file in names])


def _decision_key(content: bytes) -> str:
    root = etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False))
    for element in root:
        if local(element) == "decision":
            return element.get("id", "")
    return ""


def _fold(item: _File, problems: list) -> None:
    """Add the analysis' problems to the report, except for elements already cannot_run."""
    blocked = {e.element_id for e in item.report.entries if e.outcome == "cannot_run"}
    for problem in problems:
        if problem.element_id and problem.element_id in blocked:
            continue
        line = item.lines.get(problem.element_id or "") if problem.element_id else None
        where = posixpath.basename(problem.file)
        message = problem.message if problem.file == item.name else f"{where}: {problem.message}"
        item.report.entries.append(
            ReportEntry(
                item.name, line or problem.line if problem.file == item.name else line,
                problem.element_id, problem.element_name, "PMOflow check", "cannot_run", message,
                *((problem.code, MappingProxyType(dict(problem.params)))
                  if problem.file == item.name else ()),
            )
        )  # fmt: skip
