"""Deployment bundles: read, check and prepare BPMN, DMN and form files together.

:func:`analyze` is the one entry point for deploy-time validation: it never raises for
bad input and reports every problem it finds at once.  :func:`build_spec` hands one
checked process to SpiffWorkflow and turns every library error into problems that name
the element and its line.  Both are pure: no database, no global state.
"""

from __future__ import annotations

import copy
import json
import posixpath
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.errors import InvalidDiagram, Problem, sort_problems
from engine.spiff.bpmn_markup import (
    BPMN_NS,
    DMN_NAMESPACES,
    SPIFF_NS,
    CheckContext,
    DecisionDef,
    ElementInfo,
    ProcessDef,
    SourceFile,
    bpmn_children,
    collect_elements,
    is_executable,
    label,
    local,
    problem,
    properties_of,
    read_decision,
)
from engine.spiff.dialects import tool_problems
from engine.spiff.fixes import wire_multi_instance_merges
from engine.spiff.flow_checks import (
    ProcessChecker,
    check_references,
    file_problems,
    gather_references,
)
from engine.spiff.xmlsafe import (
    DEFAULT_MAX_BYTES,
    element_at_line,
    find_by_id,
    parse_xml,
    rename_reserved,
    serialize,
    to_utf8,
)

__all__ = [
    "Bundle",
    "CheckContext",
    "DecisionDef",
    "ElementInfo",
    "ProcessDef",
    "SourceFile",
    "analyze",
    "build_spec",
]

_XML_SUFFIXES = (".bpmn", ".xml", ".dmn")
_LIBRARY_LOCK = threading.Lock()
_SHORT_NS = {BPMN_NS: "bpmn:", SPIFF_NS: "spiffworkflow:", **dict.fromkeys(DMN_NAMESPACES, "dmn:")}


@dataclass
class Bundle:
    """Everything read from a set of files, and every problem found in them."""

    processes: list[ProcessDef] = field(default_factory=list)
    decisions: list[DecisionDef] = field(default_factory=list)
    forms: dict[str, dict] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong: the bundle may be deployed."""
        return not self.problems


def analyze(files: Sequence[SourceFile], ctx: CheckContext = CheckContext()) -> Bundle:  # noqa: B008
    """Read and check a set of BPMN, DMN and form files; report every problem at once.

    Files are told apart by extension and root element: ``.bpmn``/``.xml``/``.dmn`` with
    a BPMN or DMN ``definitions`` root, ``.json`` for form JSON Schemas (keyed by base
    name).  Processes whose own checks pass are also parsed by SpiffWorkflow, so library
    errors are reported too; decisions known only from ``ctx`` are replaced by a
    placeholder table for that parse.
    """
    run = _Analysis(ctx)
    for source in files:
        run.add(source)
    run.cross_check()
    run.library_check()
    run.name_tools()
    run.bundle.problems = sort_problems(run.bundle.problems)
    return run.bundle


def build_spec(
    process: ProcessDef,
    decisions: Sequence[tuple[str, bytes]] = (),
    called: Sequence[tuple[str, bytes]] = (),
) -> tuple[BpmnProcessSpec, dict]:
    """Parse a process with SpiffBpmnParser (and VALIDATOR); return (spec, subprocess specs).

    ``decisions`` and ``called`` are ``(file name, content)`` pairs: DMN files, and the
    runtime XML of files with called processes.  Every library error is raised as
    :class:`InvalidDiagram` with problems naming the element (original id) and its line.
    """
    spec, subprocess_specs = _parse_with_library(
        process, decisions, [(n, c, {}, c) for n, c in called], True
    )
    wire_multi_instance_merges(spec, subprocess_specs)
    return spec, subprocess_specs


# -- the analysis -------------------------------------------------------------------------
@dataclass
class _ProcessRecord:
    definition: ProcessDef
    process: etree._Element
    references: list[tuple[str, str, etree._Element]]


class _Analysis:
    """State of one :func:`analyze` run."""

    def __init__(self, ctx: CheckContext):
        self.ctx = ctx
        self.bundle = Bundle()
        self.records: list[_ProcessRecord] = []
        self.not_executable: set[str] = set()
        self.names: set[str] = set()
        self.bad_files: set[str] = set()
        self.roots: dict[str, etree._Element] = {}
        self.unexecutable: list[tuple[str, str, list[tuple[str, str, etree._Element]]]] = []

    def report(self, problems: Sequence[Problem]) -> None:
        """Record problems (and remember which files have any)."""
        self.bundle.problems.extend(problems)
        self.bad_files.update(p.file for p in problems)

    def add(self, source: SourceFile) -> None:
        """Read one file of the bundle."""
        name = source.name
        if name in self.names:
            self.report(
                [
                    Problem(
                        name,
                        "two files of the deployment have this name",
                        code="deploy.duplicate_file",
                    )
                ]
            )
            return
        self.names.add(name)
        suffix = posixpath.splitext(name.lower())[1]
        if suffix == ".json":
            self._form(source)
        elif suffix in _XML_SUFFIXES:
            self._xml(source)
        else:
            self.report(
                [
                    Problem(
                        name,
                        "unknown kind of file: expected a .bpmn diagram, a .dmn "
                        "decision table or a .json form schema",
                        code="deploy.unknown_file_kind",
                    )
                ]
            )

    def _xml(self, upload: SourceFile) -> None:
        try:
            source = SourceFile(
                upload.name, to_utf8(upload.content, upload.name, self.ctx.max_bytes)
            )
            tree = parse_xml(source.content, source.name, max_bytes=self.ctx.max_bytes)
        except InvalidDiagram as exc:
            self.report(exc.problems)
            return
        root = tree.getroot()
        self.roots[source.name] = root
        qname = etree.QName(root)
        if qname.localname == "definitions" and qname.namespace == BPMN_NS:
            self._bpmn(source, tree)
        elif qname.localname == "definitions" and qname.namespace in DMN_NAMESPACES:
            decision, problems = read_decision(root, source.name, source.content)
            self.report(problems)
            if decision is not None:
                self.bundle.decisions.append(decision)
        elif qname.localname == "definitions" and "DMN" in (qname.namespace or ""):
            self.report(
                [
                    Problem(
                        source.name,
                        _dmn_version_message(qname.namespace or ""),
                        line=1,
                        code="dmn.unsupported_version",
                        params={"namespace": qname.namespace},
                    )
                ]
            )
        else:
            self.report(
                [
                    Problem(
                        source.name,
                        f"the root element is <{qname.localname}>: not a BPMN or DMN file",
                        line=root.sourceline,
                        code="deploy.unknown_file_kind",
                    )
                ]
            )

    def _bpmn(self, source: SourceFile, tree: etree._ElementTree) -> None:
        root = tree.getroot()
        self.report(file_problems(root, source.name))
        processes = bpmn_children(root, "process")
        executable = [p for p in processes if is_executable(p)]
        self.not_executable.update(p.get("id", "") for p in processes if not is_executable(p))
        if not processes:
            self.report(
                [
                    Problem(
                        source.name,
                        "the file contains no process",
                        line=1,
                        code="deploy.no_process",
                    )
                ]
            )
        elif not executable:
            # Nothing to deploy, but the owner still learns what else to fix first.
            for process in processes:
                self.report([_not_executable(source.name, process)])
                self.report(
                    ProcessChecker(source.name, process, collect_elements(process), self.ctx).run()
                )
                self.unexecutable.append(
                    (source.name, process.get("id", ""), gather_references(process))
                )
        runtime = copy.deepcopy(tree)
        id_map = rename_reserved(runtime.getroot())
        runtime_xml = serialize(runtime) if id_map else source.content
        for process in executable:
            self._process(source, process, runtime_xml, id_map)

    def _process(
        self,
        source: SourceFile,
        process: etree._Element,
        runtime_xml: bytes,
        id_map: dict[str, str],
    ) -> None:
        elements = collect_elements(process)
        self.report(ProcessChecker(source.name, process, elements, self.ctx).run())
        references = gather_references(process)
        targets = {
            kind: frozenset(t for k, t, _ in references if k == kind)
            for kind in ("process", "decision", "form", "operation")
        }
        definition = ProcessDef(
            key=process.get("id", ""),
            name=process.get("name") or process.get("id") or "",
            file=source.name,
            source=source.content,
            runtime_xml=runtime_xml,
            id_map=id_map,
            elements=elements,
            start_form=_start_form(process),
            called_processes=targets["process"],
            decisions=targets["decision"],
            forms=targets["form"],
            operations=targets["operation"],
        )
        self.bundle.processes.append(definition)
        self.records.append(_ProcessRecord(definition, process, references))

    def _form(self, source: SourceFile) -> None:
        key = posixpath.basename(source.name.replace("\\", "/"))
        schema, problems = read_form(source, self.ctx.max_bytes)
        if key in self.bundle.forms:
            problems.append(
                Problem(
                    source.name,
                    f"another form file is also named '{key}'",
                    code="deploy.duplicate_file",
                    params={"key": key},
                )
            )
        self.report(problems)
        if schema is not None and not problems:
            self.bundle.forms[key] = schema

    def cross_check(self) -> None:
        """Duplicate keys across files, and references to forms/decisions/processes."""
        seen: dict[str, str] = {}
        for record in self.records:
            key, file = record.definition.key, record.definition.file
            if key in seen:
                self.report(
                    [
                        problem(
                            file,
                            record.process,
                            f"process id '{key}' is also used in {seen[key]}",
                            code="deploy.duplicate_id",
                            key=key,
                        )
                    ]
                )
            seen.setdefault(key, file)
        decisions: dict[str, str] = {}
        for decision in self.bundle.decisions:
            if decision.key in decisions:
                self.report(
                    [
                        Problem(
                            decision.file,
                            f"decision id '{decision.key}' is also used"
                            f" in {decisions[decision.key]}",
                            decision.key,
                            code="deploy.duplicate_id",
                            params={"key": decision.key},
                        )
                    ]
                )
            decisions.setdefault(decision.key, decision.file)
        available = {
            "form": frozenset(self.bundle.forms) | self.ctx.known_forms,
            "decision": frozenset(decisions) | self.ctx.known_decisions,
            "process": frozenset(seen) | self.ctx.known_processes,
            "operation": self.ctx.known_operations,
        }
        for record in self.records:
            self.report(
                check_references(
                    record.definition.file,
                    record.references,
                    available,
                    frozenset(self.not_executable),
                )
            )
        for file, _key, references in self.unexecutable:
            self.report(
                check_references(file, references, available, frozenset(self.not_executable))
            )

    def name_tools(self) -> None:
        """Name the other tools a file was drawn for (see :mod:`engine.spiff.dialects`)."""
        for name, root in self.roots.items():
            self.report(tool_problems(name, root, name in self.bad_files))

    def library_check(self) -> None:
        """Let SpiffWorkflow parse every process whose own checks found nothing."""
        by_key = {r.definition.key: r.definition for r in reversed(self.records)}
        dmn = {d.key: d for d in reversed(self.bundle.decisions)}
        for record in self.records:
            process = record.definition
            closure = _callees(process, by_key)
            files = {p.file for p in closure} | {
                dmn[k].file for p in closure for k in p.decisions if k in dmn
            }
            if files & self.bad_files:
                continue
            needed = {k for p in closure for k in p.decisions}
            decisions = [(dmn[k].file, dmn[k].source) for k in sorted(needed) if k in dmn]
            decisions += [
                (f"{k}.placeholder.dmn", _placeholder_dmn(k))
                for k in sorted(needed)
                if k not in dmn
            ]
            called = {
                p.file: (p.file, p.runtime_xml, p.id_map, p.source)
                for p in closure
                if p.file != process.file
            }
            try:
                _parse_with_library(process, decisions, list(called.values()), False)
            except InvalidDiagram as exc:  # once per file, not once per process in it
                self.report([p for p in exc.problems if p not in self.bundle.problems])


def read_form(source: SourceFile, max_bytes: int) -> tuple[dict | None, list[Problem]]:
    """Parse a form file: it must be a JSON object that is a valid JSON Schema."""
    name = source.name
    if len(source.content) > max_bytes:
        return None, [
            Problem(
                name,
                f"the file is too large ({len(source.content):,} bytes)",
                code="form_file.invalid",
            )
        ]
    try:
        schema = json.loads(source.content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return None, [Problem(name, "the form file is not UTF-8 text", code="form_file.invalid")]
    except json.JSONDecodeError as exc:
        return None, [
            Problem(
                name,
                f"the form file is not valid JSON: {exc.msg} (line "
                f"{exc.lineno}, column {exc.colno})",
                line=exc.lineno,
                code="form_file.invalid",
            )
        ]
    except RecursionError:
        return None, [Problem(name, "the form file nests too deeply", code="form_file.invalid")]
    if not isinstance(schema, dict):
        return None, [
            Problem(
                name,
                "a form file must hold a JSON object (a JSON Schema)",
                code="form_file.invalid",
            )
        ]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = exc.json_path if exc.path else "the top level"
        return None, [
            Problem(
                name,
                f"not a valid JSON Schema at {where}: {exc.message[:200]}",
                code="form_file.invalid",
                params={"where": where},
            )
        ]
    except RecursionError:
        return None, [Problem(name, "the form schema nests too deeply", code="form_file.invalid")]
    return schema, []


def _dmn_version_message(namespace: str) -> str:
    """Which DMN version a table is saved in, and what to do (Camunda Modeler wrote DMN
    1.1 as ``.../20151101/dmn11.xsd``)."""
    if namespace.endswith("20151101/dmn11.xsd"):
        return (
            f"this decision table is saved as DMN 1.1 as Camunda Modeler writes it "
            f"({namespace}); the engine reads DMN 1.3: use Import from Camunda 7, or save "
            "the table as DMN 1.3"
        )
    return f"DMN version {namespace} is not supported; save the table as DMN 1.3"


def _not_executable(file: str, process: etree._Element) -> Problem:
    name = process.get("name") or process.get("id")
    return problem(
        file,
        process,
        f"process '{name}' is marked as not executable (a description, not a process to "
        "run): nothing to deploy; tick 'Executable' in its properties to deploy it",
        code="deploy.not_executable",
        process=name,
    )


def _start_form(process: etree._Element) -> str | None:
    for start in bpmn_children(process, "startEvent"):
        if not any(local(c).endswith("EventDefinition") for c in start):
            form = (properties_of(start).get("formJsonSchemaFilename") or "").strip()
            if form:
                return form
    return None


def _callees(process: ProcessDef, by_key: dict[str, ProcessDef]) -> list[ProcessDef]:
    """The process and every bundle process it calls, directly or not."""
    found, todo = {process.key: process}, list(process.called_processes)
    while todo:
        key = todo.pop()
        if key in by_key and key not in found:
            found[key] = by_key[key]
            todo.extend(by_key[key].called_processes)
    return list(found.values())


def _placeholder_dmn(decision_id: str) -> bytes:
    """A minimal DMN table standing in for a decision deployed earlier (for checking only)."""
    ns = "https://www.omg.org/spec/DMN/20191111/MODEL/"
    root = etree.Element(
        f"{{{ns}}}definitions",
        nsmap={None: ns},
        id="placeholder",
        name="placeholder",
        namespace="https://pmoflow/placeholder",
    )
    decision = etree.SubElement(root, f"{{{ns}}}decision", id=decision_id, name=decision_id)
    table = etree.SubElement(decision, f"{{{ns}}}decisionTable", id="placeholder_table")
    etree.SubElement(table, f"{{{ns}}}output", id="placeholder_output", name="placeholder")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# -- SpiffWorkflow and its errors -----------------------------------------------------------
@dataclass
class _Loaded:
    runtime: etree._Element
    source: etree._Element
    id_map: dict[str, str]


def _parse_with_library(
    process: ProcessDef,
    decisions: Sequence[tuple[str, bytes]],
    called: Sequence[tuple[str, bytes, dict[str, str], bytes]],
    require_called: bool,
) -> tuple[BpmnProcessSpec, dict]:
    loaded: dict[str, _Loaded] = {}
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        with _LIBRARY_LOCK:  # VALIDATOR (an lxml XMLSchema and its error log) is shared
            runtime = _stored_xml(process.runtime_xml, process.file)
            loaded[process.file] = _Loaded(
                runtime, _stored_xml(process.source, process.file), process.id_map
            )
            parser.add_bpmn_xml(runtime, filename=process.file)
            for name, content in decisions:
                root = _stored_xml(content, name)
                loaded[name] = _Loaded(root, root, {})
                parser.add_dmn_xml(root, filename=name)
            for name, content, id_map, source in called:
                root = _stored_xml(content, name)
                if _drop_known_processes(root, parser):
                    original = root if source is content else _stored_xml(source, name)
                    loaded[name] = _Loaded(root, original, id_map)
                    parser.add_bpmn_xml(root, filename=name)
            spec = parser.get_spec(process.key)
            subprocesses = parser.get_subprocess_specs(
                process.key, require_call_activity_specs=require_called
            )
    except InvalidDiagram:
        raise
    except Exception as exc:  # every library failure becomes a problem
        raise InvalidDiagram([_library_problem(exc, process, loaded)]) from exc
    return spec, subprocesses


def _stored_xml(content: bytes, name: str) -> etree._Element:
    """Parse XML that passed validation before (still safely; size limit already applied)."""
    return parse_xml(content, name, max_bytes=max(DEFAULT_MAX_BYTES, len(content))).getroot()


def _drop_known_processes(root: etree._Element, parser: SpiffBpmnParser) -> bool:
    """Remove processes the parser already has (a file given twice); False if none is left."""
    for process in bpmn_children(root, "process"):
        if process.get("id") in parser.process_parsers:
            root.remove(process)
    return bool(bpmn_children(root, "process"))


def _library_problem(exc: Exception, process: ProcessDef, loaded: dict[str, _Loaded]) -> Problem:
    """Turn a SpiffWorkflow (or lxml, or Python) exception into a located Problem."""
    file = getattr(exc, "file_name", "") or process.file
    runtime_id = getattr(exc, "id", "") or None
    line = getattr(exc, "line_number", "")
    if runtime_id and file == process.file:  # some errors don't say which file: search all
        file = next(
            (
                name
                for name, info in loaded.items()
                if find_by_id(info.runtime, runtime_id) is not None
            ),
            file,
        )
    info = loaded.get(file)
    element = None
    if info is not None and runtime_id:
        element = find_by_id(info.runtime, runtime_id)
    elif info is not None and isinstance(line, int) and line > 0:
        element = element_at_line(info.runtime, line)
    if element is None and process.file in loaded:
        file, info = process.file, loaded[process.file]
        element = find_by_id(info.runtime, process.key)
    if element is None or info is None:
        return Problem(file, _library_message(exc, None), process.key, code="deploy.library")
    element_id = element.get("id")
    original = None if element_id is None else info.id_map.get(element_id, element_id)
    located = None if original is None else find_by_id(info.source, original)
    located = element if located is None else located
    return Problem(
        file,
        _library_message(exc, located),
        original,
        located.get("name"),
        located.sourceline,
        code="deploy.library",
    )


def _library_message(exc: Exception, element: etree._Element | None) -> str:
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    if isinstance(exc, RecursionError) or "RecursionError" in text:
        return (
            "the process is too long for the engine to read (a chain of several hundred "
            "elements): move parts into sub-processes or call activities"
        )
    for namespace, prefix in _SHORT_NS.items():
        text = text.replace(f"{{{namespace}}}", prefix)
    if getattr(exc, "line_number", "") and not getattr(exc, "id", ""):
        return f"the file does not follow the BPMN/DMN schema: {text}"
    subject = label(element) if element is not None else "this process"
    if type(exc).__name__ != "ValidationException":
        text = f"{type(exc).__name__}: {text}"
    return f"the engine cannot use {subject}: {text}"
