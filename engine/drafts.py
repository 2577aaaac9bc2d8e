"""Process owners' drafts: an undeployed diagram kept on the server, one per owner and
process, saved and reopened from the modeler."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import FieldError, Forbidden, InvalidData, NotFound
from engine.store.models import ProcessDraft
from engine.views import ProcessDraftView

#: Longest draft kept (characters of XML).
MAX_DRAFT_CHARS = 5 * 1024 * 1024


def view(row: ProcessDraft, *, with_xml: bool = False) -> ProcessDraftView:
    """Dataclass view of a draft row (its XML only when asked for)."""
    return ProcessDraftView(
        row.id,
        row.owner,
        row.process_key,
        row.name,
        row.based_on,
        row.created_at,
        row.updated_at,
        row.xml if with_xml else "",
    )


def save(
    session: Session,
    owner: str,
    process_key: str,
    name: str,
    xml: str,
    based_on: int | None,
    now: datetime,
) -> ProcessDraftView:
    """Create or replace ``owner``'s draft of ``process_key``."""
    process_key = (process_key or "").strip()
    if not process_key or len(process_key) > 200:
        raise InvalidData(
            {
                "process_key": FieldError(
                    "Give the process an id (at most 200 characters).",
                    "draft.process_key_invalid",
                    field="process_key",
                    limit=200,
                )
            }
        )
    if not xml.strip():
        raise InvalidData({"xml": FieldError("The diagram is empty.", "draft.empty", field="xml")})
    if len(xml) > MAX_DRAFT_CHARS:
        raise InvalidData(
            {
                "xml": FieldError(
                    "The diagram is larger than 5 MB.", "draft.too_large", field="xml", limit_mb=5
                )
            }
        )
    row = session.scalar(
        select(ProcessDraft).where(
            ProcessDraft.owner == owner, ProcessDraft.process_key == process_key
        )
    )
    if row is None:
        row = ProcessDraft(owner=owner, process_key=process_key, created_at=now)
        session.add(row)
    row.name = (name or "")[:300]
    row.xml = xml
    row.based_on = based_on
    row.updated_at = now
    session.flush()
    return view(row)


def listing(session: Session, owner: str) -> list[ProcessDraftView]:
    """``owner``'s drafts, most recently saved first."""
    return [
        view(r)
        for r in session.scalars(
            select(ProcessDraft)
            .where(ProcessDraft.owner == owner)
            .order_by(ProcessDraft.updated_at.desc(), ProcessDraft.id.desc())
        )
    ]


def get(session: Session, owner: str, draft_id: int) -> ProcessDraft:
    """One of ``owner``'s drafts (:class:`NotFound`; :class:`Forbidden` if another's)."""
    row = session.get(ProcessDraft, draft_id)
    if row is None:
        raise NotFound(f"no draft {draft_id}", code="draft.not_found", draft_id=draft_id)
    if row.owner != owner:
        raise Forbidden("this draft belongs to another process owner", code="access.no_access")
    return row


def delete(session: Session, owner: str, draft_id: int) -> None:
    """Throw one of ``owner``'s drafts away."""
    session.delete(get(session, owner, draft_id))
    session.flush()
