"""Process versions as the library shows them: every version with its running work,
the version in effect at an instant, and a diagram deployed from the modeler (which
carries the forms of the version it came from).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from engine import form_drafts
from engine.definitions import definition_view, in_effect
from engine.errors import FieldError, InvalidData, NotFound
from engine.spiff.bpmn_markup import BPMN_NS, SourceFile
from engine.spiff.xmlsafe import parse_xml
from engine.store.models import ProcessDefinition, ProcessInstance
from engine.version_diff import VersionDiff, diff_diagrams
from engine.views import DefinitionView, VersionView

_LIGHT = (defer(ProcessDefinition.source), defer(ProcessDefinition.runtime_xml))


def effective_definitions(session: Session, now: datetime) -> list[DefinitionView]:
    """Per process, the version new instances start on at ``now`` (by key)."""
    newest = (
        select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v"))
        .where(in_effect(now))
        .group_by(ProcessDefinition.key)
        .subquery()
    )
    found = session.scalars(
        select(ProcessDefinition)
        .options(*_LIGHT)
        .join(
            newest,
            (ProcessDefinition.key == newest.c.key) & (ProcessDefinition.version == newest.c.v),
        )
        .order_by(ProcessDefinition.key)
    )
    return [definition_view(r) for r in found]


def versions(session: Session, key: str, now: datetime) -> list[VersionView]:
    """Every version of a process, newest first, with how many instances run on each
    (:class:`NotFound` for an unknown key)."""
    found = session.scalars(
        select(ProcessDefinition)
        .options(*_LIGHT)
        .where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc())
    ).all()
    if not found:
        raise NotFound(f"no deployed process with key {key!r}", code="process.not_found", key=key)
    running = dict(
        session.execute(
            select(ProcessInstance.definition_id, func.count())
            .where(ProcessInstance.process_key == key, ProcessInstance.status == "running")
            .group_by(ProcessInstance.definition_id)
        ).all()
    )
    current = next(
        (r.id for r in found if r.effective_from is None or r.effective_from <= now), None
    )
    return [
        VersionView(definition_view(r), int(running.get(r.id, 0)), r.id == current) for r in found
    ]


def library(session: Session, now: datetime) -> list[VersionView]:
    """Every version of every process (by key, newest version first), with running
    instances and which version new instances start on."""
    out: list[VersionView] = []
    keys = session.scalars(
        select(ProcessDefinition.key).distinct().order_by(ProcessDefinition.key)
    ).all()
    for key in keys:
        out.extend(versions(session, key, now))
    return out


def version_row(session: Session, key: str, version: int) -> ProcessDefinition:
    """One version of a process (:class:`NotFound` if there is none)."""
    row = session.scalar(
        select(ProcessDefinition).where(
            ProcessDefinition.key == key, ProcessDefinition.version == version
        )
    )
    if row is None:
        raise NotFound(
            f"process {key!r} has no version {version}",
            code="process.version_not_found",
            key=key,
            version=version,
        )
    return row


def diff(session: Session, key: str, old: int, new: int) -> VersionDiff:
    """What changed from version ``old`` to version ``new`` of a process."""
    before, after = version_row(session, key, old), version_row(session, key, new)
    return diff_diagrams(
        before.source, after.source, old_name=f"{key} v{old}", new_name=f"{key} v{new}"
    )


def process_keys(xml: bytes, file_name: str, max_bytes: int) -> list[str]:
    """Ids of the processes a BPMN file defines (the file parsed safely)."""
    root = parse_xml(xml, file_name, max_bytes=max_bytes).getroot()
    return [key for p in root.iter(f"{{{BPMN_NS}}}process") if (key := p.get("id"))]


def draft_files(session: Session, xml: bytes, file_name: str, max_bytes: int) -> list[SourceFile]:
    """A diagram drawn in the modeler as a deployment: the file, the forms saved in the
    form designer, and the forms frozen with the newest deployed version of each process
    in it (a saved draft wins), so validating and deploying it check the same thing."""
    if not xml.strip():
        raise InvalidData({"xml": FieldError("The diagram is empty.", "draft.empty", field="xml")})
    files = [SourceFile(file_name, xml)]
    saved = form_drafts.drafts(session)
    seen: set[str] = set(saved)
    files.extend(
        SourceFile(name, json.dumps(schema).encode("utf-8")) for name, schema in saved.items()
    )
    for key in process_keys(xml, file_name, max_bytes):
        row = session.scalar(
            select(ProcessDefinition.forms)
            .where(ProcessDefinition.key == key)
            .order_by(ProcessDefinition.version.desc())
            .limit(1)
        )
        for name, schema in (row or {}).items():
            if name not in seen:
                seen.add(name)
                files.append(SourceFile(name, json.dumps(schema).encode("utf-8")))
    return files
