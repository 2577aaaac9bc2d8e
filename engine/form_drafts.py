"""Task forms as the form designer sees them: saved drafts, and the copies frozen with
deployed process versions (never changed in place; a saved draft goes into the next
version deployed from the modeler)."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import form_schema
from engine.errors import NotFound
from engine.store.models import AuditEvent, FormDraft, ProcessDefinition
from engine.views import FormView


def _deployed(session: Session) -> dict[str, tuple[dict[str, Any], list[str]]]:
    """Form name -> (newest deployed copy, the versions that froze one)."""
    out: dict[str, tuple[dict[str, Any], list[str]]] = {}
    rows = session.execute(
        select(ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.forms).order_by(
            ProcessDefinition.id
        )
    )
    for key, version, forms in rows:
        for name, schema in (forms or {}).items():
            used = out.get(name, ({}, []))[1]
            out[name] = (schema, [*used, f"{key} v{version}"])
    return out


def _view(name: str, schema: dict[str, Any], used: list[str], row: FormDraft | None) -> FormView:
    return FormView(
        name,
        str(schema.get("title") or name),
        copy.deepcopy(schema),
        row is not None,
        tuple(used),
        row.updated_by if row else None,
        row.updated_at if row else None,
    )


def listing(session: Session) -> list[FormView]:
    """Every form, by name: drafts and deployed ones."""
    deployed = _deployed(session)
    drafts = {r.name: r for r in session.scalars(select(FormDraft))}
    out = []
    for name in sorted(set(deployed) | set(drafts)):
        row = drafts.get(name)
        schema, used = deployed.get(name, ({}, []))
        out.append(_view(name, row.schema if row else schema, used, row))
    return out


def get(session: Session, name: str) -> FormView:
    """One form: its draft, else its newest deployed copy (:class:`NotFound`)."""
    row = session.scalar(select(FormDraft).where(FormDraft.name == name))
    schema, used = _deployed(session).get(name, ({}, []))
    if row is None and not used:
        raise NotFound(f"no form {name!r}", code="form_schema.not_found", name=name)
    return _view(name, row.schema if row else schema, used, row)


def save(session: Session, actor: str, name: str, text: str, now: datetime) -> FormView:
    """Check and keep a form draft (audited); :class:`InvalidData` names every problem by
    JSON pointer, and nothing is saved then."""
    form_schema.check_name(name)
    schema = form_schema.parse(text)
    row = session.scalar(select(FormDraft).where(FormDraft.name == name))
    if row is None:
        row = FormDraft(name=name, created_at=now)
        session.add(row)
    row.schema = schema
    row.updated_by = actor
    row.updated_at = now
    session.add(
        AuditEvent(at=now, actor=actor, kind="form_saved", element_id=name, detail={"form": name})
    )
    session.flush()
    return get(session, name)


def drafts(session: Session) -> dict[str, dict[str, Any]]:
    """Every saved form draft, name -> schema (what the next deployment takes along)."""
    return {r.name: copy.deepcopy(r.schema) for r in session.scalars(select(FormDraft))}
