"""Deploying process and decision definitions, and building their specs (cached).

A deployment is validated as a whole (every problem reported at once) and then stored as
immutable versions: identical content is a no-op, changed content a new version.
Instances bind to the process version and the decision versions current at their start.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from engine.errors import InvalidDiagram, NotFound, Problem, sort_problems
from engine.spiff.bpmn_markup import translated_names
from engine.spiff.bundle import Bundle, CheckContext, ProcessDef, SourceFile, analyze, build_spec
from engine.store.models import AuditEvent, DecisionDefinition, ProcessDefinition
from engine.views import DecisionView, DefinitionView, DeployResult

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def sha256(*parts: bytes) -> str:
    """Hex digest of the parts, separated so that ("ab","c") != ("a","bc")."""
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def check_context(
    session: Session,
    *,
    operations: frozenset[str] | None,
    roles: frozenset[str] | None,
    max_bytes: int,
) -> CheckContext:
    """What a new bundle may refer to: deployed processes and decisions, known names."""
    return CheckContext(
        known_processes=frozenset(session.scalars(select(ProcessDefinition.key).distinct())),
        known_decisions=frozenset(session.scalars(select(DecisionDefinition.key).distinct())),
        known_forms=frozenset(),
        known_operations=operations,
        known_roles=roles,
        max_bytes=max_bytes,
    )


def validate(files: Sequence[SourceFile], ctx: CheckContext) -> list[Problem]:
    """Every problem deploying ``files`` would report; stores nothing."""
    bundle = analyze(files, ctx)
    return sort_problems(list(bundle.problems) + _process_property_problems(bundle, ctx))


def deploy(
    session: Session,
    files: Sequence[SourceFile],
    *,
    actor: str,
    now: datetime,
    ctx: CheckContext,
    cache: SpecCache,
    comment: str | None = None,
    effective_from: datetime | None = None,
) -> DeployResult:
    """Validate and store new versions. Raises :class:`InvalidDiagram`; does not commit.

    ``comment`` (why) and ``effective_from`` (new instances start on the new versions
    from then; None: now) are kept with every new process version and in the audit.
    """
    bundle = analyze(files, ctx)
    problems = list(bundle.problems) + _process_property_problems(bundle, ctx)
    if problems:
        raise InvalidDiagram(problems)  # the same list validate() gives
    if not bundle.processes and not bundle.decisions:
        raise InvalidDiagram(
            [
                Problem(f.name, "nothing to deploy in this file", code="deploy.nothing")
                for f in files
            ]
        )
    result = DeployResult()
    for dec in bundle.decisions:
        dec_row = _store_decision(session, dec, actor, now)
        if dec_row is None:
            result.unchanged.append(dec.key)
        else:
            result.decisions.append(decision_view(dec_row))
    for proc in bundle.processes:
        row = _store_process(session, proc, bundle, actor, now)
        if row is not None:
            row.comment = comment
            row.effective_from = effective_from
            session.flush()
        if row is None:
            result.unchanged.append(proc.key)
            continue
        # Prove the new version builds with what it binds to today (e.g. a decision
        # deployed earlier), so a broken reference fails here, in front of its author.
        cache.for_bindings(session, row.id, current_bindings(session, row, now))
        result.processes.append(definition_view(row))
    session.add(
        AuditEvent(
            instance_id=None,
            at=now,
            actor=actor,
            kind="deployed",
            reason=comment,
            detail={
                "effective_from": effective_from.isoformat() if effective_from else None,
                "files": [f.name for f in files],
                "processes": [f"{p.key} v{p.version}" for p in result.processes],
                "decisions": [f"{d.key} v{d.version}" for d in result.decisions],
                "unchanged": result.unchanged,
            },
        )
    )
    session.flush()
    return result


def _process_property_problems(bundle: Bundle, ctx: CheckContext) -> list[Problem]:
    """Process-level properties the engine reads: onCancel must name a known operation."""
    problems = []
    for proc in bundle.processes:
        op = _process_property(proc, "onCancel")
        if op is not None and ctx.known_operations is not None and op not in ctx.known_operations:
            problems.append(
                Problem(
                    proc.file,
                    f"process property onCancel names the unknown operation {op!r}",
                    element_id=proc.key,
                    element_name=proc.name,
                )
            )
    return problems


def _store_decision(session: Session, dec, actor: str, now: datetime) -> DecisionDefinition | None:
    digest = sha256(dec.source)
    latest = latest_decision(session, dec.key)
    if latest is not None and latest.content_hash == digest:
        return None
    row = DecisionDefinition(
        key=dec.key,
        version=next_decision_version(session, dec.key),
        name=dec.name,
        file_name=dec.file,
        content_hash=digest,
        source=dec.source.decode("utf-8"),
        meta=decision_meta(dec),
        deployed_by=actor,
        deployed_at=now,
    )
    publish_row(
        session, row, actor=actor, now=now, effective_from=now, comment="deployed from a file"
    )
    session.add(row)
    session.flush()
    return row


def decision_meta(dec: Any) -> dict[str, Any]:
    """What the engine and UI read of a decision table without parsing it again."""
    return {"hit_policy": dec.hit_policy, "inputs": dec.inputs, "outputs": dec.outputs}


def next_decision_version(session: Session, key: str) -> int:
    """The version number the next published version of ``key`` gets."""
    found = session.scalar(
        select(func.max(DecisionDefinition.version)).where(DecisionDefinition.key == key)
    )
    return (found or 0) + 1


def publish_row(
    session: Session,
    row: DecisionDefinition,
    *,
    actor: str,
    now: datetime,
    effective_from: datetime,
    comment: str,
) -> None:
    """Mark ``row`` published from ``effective_from``; the versions published before it
    are retired from then (instances started earlier keep the version they bound)."""
    for previous in session.scalars(
        select(DecisionDefinition)
        .where(
            DecisionDefinition.key == row.key,
            DecisionDefinition.status == "published",
            DecisionDefinition.id != row.id,
        )
        .with_for_update()
    ):
        previous.status, previous.retired_by = "retired", actor
        previous.retired_at = max(effective_from, previous.effective_from or effective_from)
    row.status, row.published_by, row.published_at = "published", actor, now
    row.effective_from, row.comment = effective_from, comment


def _store_process(
    session: Session, proc: ProcessDef, bundle: Bundle, actor: str, now: datetime
) -> ProcessDefinition | None:
    forms = {name: bundle.forms[name] for name in sorted(proc.forms) if name in bundle.forms}
    digest = sha256(proc.source, json.dumps(forms, sort_keys=True).encode())
    latest = latest_process(session, proc.key, active_only=False)
    if latest is not None and latest.content_hash == digest:
        return None
    session.execute(
        update(ProcessDefinition).where(ProcessDefinition.key == proc.key).values(active=False)
    )
    row = ProcessDefinition(
        key=proc.key,
        version=(latest.version + 1) if latest else 1,
        name=proc.name,
        file_name=proc.file,
        content_hash=digest,
        source=proc.source.decode("utf-8"),
        runtime_xml=proc.runtime_xml.decode("utf-8"),
        meta=process_meta(proc),
        forms=forms,
        deployed_by=actor,
        deployed_at=now,
        active=True,
    )
    session.add(row)
    session.flush()
    return row


def process_meta(proc: ProcessDef) -> dict[str, Any]:
    """What the engine and UI need at run time, as JSON."""
    elements = {k: dataclasses.asdict(v) for k, v in proc.elements.items()}
    start_role = None
    for info in proc.elements.values():
        if info.type == "startEvent" and info.process_id == proc.key:
            start_role = info.role or info.lane
            break
    return {
        "elements": elements,
        "start_form": proc.start_form,
        "start_role": start_role,
        "id_map": dict(proc.id_map),
        "called_processes": sorted(proc.called_processes),
        "decisions": sorted(proc.decisions),
        "forms": sorted(proc.forms),
        "operations": sorted(proc.operations),
        "max_element_visits": _process_property(proc, "maxElementVisits"),
        # Glue operation run when an instance is cancelled or withdrawn (process property).
        "on_cancel": _process_property(proc, "onCancel"),
        # Lets the engine skip the timer-job sync for processes that cannot wait on time.
        "has_timers": b"timerEventDefinition" in proc.runtime_xml or bool(proc.called_processes),
        # The names the diagram gives in other languages (``pmoflow:name-zh``).
        "names": _translated_names(proc),
    }


def _translated_names(proc: ProcessDef) -> dict[str, dict[str, str]]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return translated_names(etree.fromstring(proc.source, parser))


def _process_property(proc: ProcessDef, name: str) -> str | None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(proc.runtime_xml, parser)
    found = root.xpath(
        "//bpmn:process[@id=$pid]/bpmn:extensionElements/spiffworkflow:properties"
        "/spiffworkflow:property[@name=$name]/@value",
        namespaces={"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS},
        pid=proc.key,
        name=name,
    )
    return str(found[0]) if found else None


# --------------------------------------------------------------------------- lookups

_NAMES_LOCK = threading.Lock()
_NAMES: dict[str, Any] = {"stamp": None, "names": {}}


def name_translations(session: Session) -> dict[str, dict[str, str]]:
    """Language -> {English name -> translated name} over every deployed process version
    (newer versions win). Definitions never change once deployed, so the result is cached
    until a new version appears (one small query per call), per database."""
    newest, count = session.execute(
        select(func.max(ProcessDefinition.id), func.count(ProcessDefinition.id))
    ).one()
    stamp = (str(session.get_bind().engine.url), newest, count)
    with _NAMES_LOCK:
        if _NAMES["stamp"] == stamp:
            cached: dict[str, dict[str, str]] = _NAMES["names"]
            return cached
    merged: dict[str, dict[str, str]] = {}
    rows = session.execute(select(ProcessDefinition.meta).order_by(ProcessDefinition.id))
    for (meta,) in rows:
        for lang, found in ((meta or {}).get("names") or {}).items():
            merged.setdefault(lang, {}).update(found)
    with _NAMES_LOCK:
        _NAMES["stamp"], _NAMES["names"] = stamp, merged
    return merged


def latest_process(
    session: Session, key: str, *, active_only: bool = True
) -> ProcessDefinition | None:
    """The newest (active) version of a process, or None."""
    q = select(ProcessDefinition).where(ProcessDefinition.key == key)
    if active_only:
        q = q.where(ProcessDefinition.active.is_(True))
    return session.scalar(q.order_by(ProcessDefinition.version.desc()).limit(1))


def latest_decision(session: Session, key: str) -> DecisionDefinition | None:
    """The newest published (or retired) version of a decision, or None; drafts are not
    versions yet."""
    return session.scalar(
        select(DecisionDefinition)
        .where(DecisionDefinition.key == key, DecisionDefinition.status != "draft")
        .order_by(DecisionDefinition.version.desc())
        .limit(1)
    )


def decision_columns(session: Session, now: datetime) -> dict[str, dict[str, Any]]:
    """Each decision table's inputs and outputs (``meta``) as in effect at ``now``."""
    keys = session.scalars(select(DecisionDefinition.key).distinct()).all()
    found = {key: decision_in_effect(session, key, now) for key in keys}
    return {key: dict(row.meta or {}) for key, row in found.items() if row is not None}


def decision_in_effect(session: Session, key: str, now: datetime) -> DecisionDefinition | None:
    """The version of ``key`` new instances bind to at ``now``: of the versions published
    with an effective date not after ``now``, the one that took effect last."""
    return session.scalar(
        select(DecisionDefinition)
        .where(
            DecisionDefinition.key == key,
            DecisionDefinition.status != "draft",
            DecisionDefinition.effective_from <= now,
        )
        .order_by(DecisionDefinition.effective_from.desc(), DecisionDefinition.version.desc())
        .limit(1)
    )


def get_process(session: Session, key: str, now: datetime | None = None) -> ProcessDefinition:
    """The version new instances of ``key`` start on, or :class:`NotFound`.

    With ``now``: the newest version already in effect then (a version deployed to take
    effect later leaves new instances on the one before).
    """
    if now is None:
        row = latest_process(session, key)
    else:
        row = session.scalar(
            select(ProcessDefinition)
            .where(ProcessDefinition.key == key, in_effect(now))
            .order_by(ProcessDefinition.version.desc())
            .limit(1)
        )
    if row is None:
        raise NotFound(f"no deployed process with key {key!r}", code="process.not_found", key=key)
    return row


def in_effect(now: datetime) -> Any:
    """SQL condition: the process version has taken effect by ``now``."""
    return or_(ProcessDefinition.effective_from.is_(None), ProcessDefinition.effective_from <= now)


def current_bindings(
    session: Session, definition: ProcessDefinition, now: datetime
) -> dict[str, dict[str, int]]:
    """Decision and called-process versions a new instance of ``definition`` binds to at
    ``now`` (the decision versions in effect then).

    Follows call activities transitively; missing targets raise :class:`NotFound`.
    """
    decisions: dict[str, int] = {}
    processes: dict[str, int] = {}
    pending = [definition]
    while pending:
        current = pending.pop()
        for key in current.meta.get("decisions", []):
            if key in decisions:
                continue
            # (an engine whose clock lags the deploy still finds the version it deployed)
            dec = decision_in_effect(session, key, now) or latest_decision(session, key)
            if dec is None:
                raise NotFound(
                    f"process {current.key!r} needs decision {key!r}, which is not deployed",
                    code="definition.decision_missing",
                    process=current.key,
                    key=key,
                )
            decisions[key] = dec.id
        for key in current.meta.get("called_processes", []):
            if key in processes or key == definition.key:
                continue
            called = latest_process(session, key)
            if called is None:
                raise NotFound(
                    f"process {current.key!r} calls {key!r}, which is not deployed",
                    code="definition.called_missing",
                    process=current.key,
                    key=key,
                )
            processes[key] = called.id
            pending.append(called)
    return {"decisions": decisions, "processes": processes}


def definition_view(row: ProcessDefinition) -> DefinitionView:
    """Dataclass view of a process definition row."""
    return DefinitionView(
        id=row.id,
        key=row.key,
        version=row.version,
        name=row.name,
        file_name=row.file_name,
        content_hash=row.content_hash,
        deployed_by=row.deployed_by,
        deployed_at=row.deployed_at,
        active=row.active,
        start_form=row.meta.get("start_form"),
        start_role=row.meta.get("start_role"),
        comment=row.comment,
        effective_from=row.effective_from,
    )


def decision_view(row: DecisionDefinition) -> DecisionView:
    """Dataclass view of a decision definition row."""
    return DecisionView(
        id=row.id,
        key=row.key,
        version=row.version,
        name=row.name,
        file_name=row.file_name,
        deployed_by=row.deployed_by,
        deployed_at=row.deployed_at,
    )


# --------------------------------------------------------------------------- spec cache


def _as_process_def(row: ProcessDefinition) -> ProcessDef:
    meta = row.meta
    return ProcessDef(
        key=row.key,
        name=row.name,
        file=row.file_name,
        source=row.source.encode("utf-8"),
        runtime_xml=row.runtime_xml.encode("utf-8"),
        id_map=dict(meta.get("id_map", {})),
        elements={},
        start_form=meta.get("start_form"),
        called_processes=frozenset(meta.get("called_processes", [])),
        decisions=frozenset(meta.get("decisions", [])),
        forms=frozenset(meta.get("forms", [])),
        operations=frozenset(meta.get("operations", [])),
    )


@dataclass(frozen=True)
class DefinitionSnapshot:
    """The immutable part of a deployed process version, cached between actions."""

    id: int
    key: str
    version: int
    name: str
    meta: dict[str, Any]
    forms: dict[str, Any]


class SpecCache:
    """Parsed specs and definition snapshots; everything cached here is immutable once
    stored, so the cache never needs invalidating (``active`` is not part of it)."""

    def __init__(self, size: int = 128):
        self._size = size
        self._items: OrderedDict[tuple, tuple[Any, dict]] = OrderedDict()
        self._definitions: OrderedDict[int, DefinitionSnapshot] = OrderedDict()
        self._lock = threading.Lock()

    def definition(self, session: Session, definition_id: int) -> DefinitionSnapshot:
        """The snapshot of a process version (one query the first time)."""
        with self._lock:
            hit = self._definitions.get(definition_id)
            if hit is not None:
                return hit
        row = session.get(ProcessDefinition, definition_id)
        if row is None:
            raise NotFound(
                f"no process definition {definition_id}",
                code="definition.not_found",
                definition_id=definition_id,
            )
        snap = DefinitionSnapshot(row.id, row.key, row.version, row.name, row.meta, row.forms)
        with self._lock:
            self._definitions[definition_id] = snap
            while len(self._definitions) > self._size * 4:
                self._definitions.popitem(last=False)
        return snap

    def for_bindings(
        self, session: Session, definition_id: int, bindings: dict[str, dict[str, int]]
    ) -> tuple[Any, dict]:
        """(spec, subprocess specs) for a definition and its bound versions."""
        decisions = tuple(sorted(bindings.get("decisions", {}).items()))
        processes = tuple(sorted(bindings.get("processes", {}).items()))
        key = (definition_id, decisions, processes)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        built = self._build(
            session, session.get_one(ProcessDefinition, definition_id), decisions, processes
        )
        with self._lock:
            self._items[key] = built
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return built

    @staticmethod
    def _build(session: Session, definition: ProcessDefinition, decisions, processes):
        dmn = []
        for _key, dec_id in decisions:
            dec = session.get_one(DecisionDefinition, dec_id)
            dmn.append((dec.file_name, dec.source.encode("utf-8")))
        called = []
        for _key, proc_id in processes:
            proc = session.get_one(ProcessDefinition, proc_id)
            called.append((proc.file_name, proc.runtime_xml.encode("utf-8")))
        return build_spec(_as_process_def(definition), decisions=dmn, called=called)

    def clear(self) -> None:
        """Forget everything cached."""
        with self._lock:
            self._items.clear()
            self._definitions.clear()
