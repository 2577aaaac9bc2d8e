"""The importer as an engine action: against what the install has, optionally kept as drafts.

:func:`import_for_owner` looks up the roles, registered operations and deployed processes
and decision tables, converts, and (when asked) keeps each converted process as the
owner's modeler draft and each generated form as a form draft, so the owner reviews them
in the browser before deploying.  One unit of work; process owners only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime

from lxml import etree
from sqlalchemy.orm import Session

from engine import access, drafts, form_drafts
from engine.camunda7 import import_camunda
from engine.camunda7.common import BPMN_NS
from engine.camunda7.report import ImportResult
from engine.spiff.bpmn_markup import CheckContext
from engine.store.uow import read_only, unit_of_work

Progress = Callable[[int, int, str], None]


def import_for_owner(
    session: Session,
    ctx: CheckContext,
    actor: str | None,
    files: Mapping[str, bytes],
    *,
    now: datetime,
    group_roles: Mapping[str, str] | None = None,
    operations: Mapping[str, str] | None = None,
    save_drafts: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Convert ``files`` against ``ctx`` (what is deployed and registered).

    With ``actor``, only a process owner may import.  With ``save_drafts`` (needs an
    actor), converted processes become the actor's drafts and generated forms form drafts;
    ``ImportResult.drafts`` lists the process keys saved.  Nothing is deployed.
    """
    with read_only(session):
        if actor is not None:
            access.require_process_owner(session, actor)
    result = import_camunda(
        files,
        group_roles=group_roles,
        operations=operations,
        known_operations=ctx.known_operations,
        known_roles=ctx.known_roles,
        known_processes=ctx.known_processes,
        known_decisions=ctx.known_decisions,
        max_bytes=ctx.max_bytes,
        progress=progress,
    )
    if not save_drafts or actor is None:
        return result
    saved: list[str] = []
    with unit_of_work(session):
        for name, content in result.files.items():
            if name.startswith("forms/"):
                form_drafts.save(session, actor, name[6:], content.decode("utf-8"), now)
            elif name.lower().endswith(".bpmn"):
                for key, title in _processes(content):
                    drafts.save(session, actor, key, title, content.decode("utf-8"), None, now)
                    saved.append(key)
    return dataclasses.replace(result, drafts=tuple(saved))


def _processes(content: bytes) -> list[tuple[str, str]]:
    """(id, name) of the executable processes of a converted file."""
    root = etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False))
    return [
        (str(p.get("id", "")), str(p.get("name") or p.get("id", "")))
        for p in root.iterfind(f"{{{BPMN_NS}}}process")
        if p.get("isExecutable") == "true"
    ]
