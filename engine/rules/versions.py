"""Versions of a decision table: list them, keep one draft, publish it.

A draft is a ``decision_definitions`` row with status ``draft`` and version 0, editable
until published.  Publishing checks it (every problem at once, nothing written on any),
gives it the next version number and an effective date (now or later), and retires the
version published before it from that date; new instances bind to the version in effect
when they start (:func:`engine.definitions.decision_in_effect`).  Every save and publish
is an audit event with who, when and why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.definitions import (
    decision_in_effect,
    decision_meta,
    next_decision_version,
    publish_row,
    sha256,
)
from engine.errors import FieldError, InvalidData, InvalidDiagram, NotFound, Problem
from engine.spiff.decisions import output_variables, table_from_xml
from engine.spiff.dmn_checks import CheckedTable, check_table
from engine.store import rows
from engine.store.models import DecisionDefinition, DecisionEvaluation
from engine.views import DecisionColumn, DecisionTableView, DecisionVersionView

#: Longest publish comment kept.
MAX_COMMENT = 2000


def keys(session: Session) -> list[str]:
    """Every decision key that has a published version."""
    return list(
        session.scalars(
            select(DecisionDefinition.key)
            .where(DecisionDefinition.status != "draft")
            .distinct()
            .order_by(DecisionDefinition.key)
        )
    )


def table_view(session: Session, key: str, now: datetime, max_bytes: int) -> DecisionTableView:
    """A table with its columns (of the version in effect), draft and versions."""
    found = list(
        session.scalars(
            select(DecisionDefinition)
            .where(DecisionDefinition.key == key)
            .order_by(DecisionDefinition.version.desc())
        )
    )
    if not [r for r in found if r.status != "draft"]:
        raise NotFound(f"no decision table {key!r}", code="decision.not_found", key=key)
    current = decision_in_effect(session, key, now) or next(r for r in found if r.status != "draft")
    counts = dict(
        session.execute(
            select(
                DecisionEvaluation.definition_id,
                func.count(DecisionEvaluation.instance_id.distinct()),
            )
            .where(DecisionEvaluation.decision_key == key)
            .group_by(DecisionEvaluation.definition_id)
        ).all()
    )
    versions = [version_view(r, now, current.id, counts.get(r.id, 0)) for r in found]
    draft = next((v for v in versions if v.status == "draft"), None)
    draft_row = next((r for r in found if r.status == "draft"), None)
    engine = table_from_xml(
        current.source.encode("utf-8"), current.file_name, key, max_bytes=max_bytes
    )
    table = engine.decision_table
    return DecisionTableView(
        key=key,
        name=current.name,
        hit_policy=current.meta.get("hit_policy", "UNIQUE"),
        inputs=[
            DecisionColumn(i.id, i.label or i.id, expression=i.expression, type=i.typeRef)
            for i in table.inputs
        ],
        outputs=[
            DecisionColumn(o.id, o.label or o.name or o.id, name=o.name or o.label, type=o.typeRef)
            for o in table.outputs
        ],
        variables=output_variables(engine),
        in_effect=version_view(current, now, current.id, counts.get(current.id, 0)),
        draft=draft,
        versions=[v for v in versions if v.status != "draft"],
        source=current.source,
        draft_source=draft_row.source if draft_row else None,
        draft_problems=readable(draft_row.source, key, max_bytes).problems if draft_row else [],
    )


def version_view(
    row: DecisionDefinition, now: datetime, current_id: int | None, instances: int = 0
) -> DecisionVersionView:
    """Dataclass view of one version."""
    return DecisionVersionView(
        id=row.id,
        key=row.key,
        version=row.version,
        status=row.status,
        name=row.name,
        saved_by=row.deployed_by,
        saved_at=row.deployed_at,
        published_by=row.published_by,
        published_at=row.published_at,
        effective_from=row.effective_from,
        comment=row.comment,
        retired_by=row.retired_by,
        retired_at=row.retired_at,
        in_effect=row.id == current_id,
        instances=instances,
    )


def _published(session: Session, key: str) -> DecisionDefinition:
    row = session.scalar(
        select(DecisionDefinition)
        .where(DecisionDefinition.key == key, DecisionDefinition.status != "draft")
        .limit(1)
    )
    if row is None:
        raise NotFound(f"no decision table {key!r}", code="decision.not_found", key=key)
    return row


def draft_row(session: Session, key: str, *, lock: bool = False) -> DecisionDefinition | None:
    """The draft of ``key``, if there is one."""
    q = select(DecisionDefinition).where(
        DecisionDefinition.key == key, DecisionDefinition.status == "draft"
    )
    return session.scalar(q.with_for_update() if lock else q)


def readable(content: bytes | str, key: str, max_bytes: int) -> CheckedTable:
    """Check a DMN file for ``key``; refuse (:class:`InvalidDiagram`) one that cannot be
    read as a decision table at all, or that names another decision."""
    checked = check_table(content, f"{key}.dmn", key=key, max_bytes=max_bytes)
    wrong_key = [p for p in checked.problems if p.code == "dmn.key_changed"]
    if checked.decision is None or wrong_key:
        raise InvalidDiagram(checked.problems or [Problem(f"{key}.dmn", "no decision table")])
    return checked


def save_draft(
    session: Session, key: str, content: bytes | str, *, actor: str, now: datetime, max_bytes: int
) -> tuple[DecisionVersionView, list[Problem]]:
    """Keep ``content`` as the draft of ``key`` (problems are reported, not refused: a
    draft may be unfinished; only unreadable files are refused)."""
    published = _published(session, key)
    checked = readable(content, key, max_bytes)
    row = draft_row(session, key, lock=True)
    if row is None:
        row = DecisionDefinition(key=key, version=0, status="draft", meta={})
        session.add(row)
    assert checked.decision is not None  # readable() refuses a file without one
    row.name, row.file_name = checked.decision.name, published.file_name
    row.source = checked.content.decode("utf-8")
    row.content_hash = sha256(checked.content)
    row.meta = decision_meta(checked.decision)
    row.deployed_by, row.deployed_at = actor, now
    session.flush()
    rows.audit(
        session,
        instance_id=None,
        at=now,
        actor=actor,
        kind="rule_draft_saved",
        element_id=key,
        element_name=row.name,
        detail={"decision": key, "problems": len(checked.problems)},
    )
    return version_view(row, now, None), checked.problems


def publish(
    session: Session,
    key: str,
    *,
    actor: str,
    now: datetime,
    comment: str,
    effective_from: datetime | None,
    max_bytes: int,
) -> DecisionVersionView:
    """Publish the draft of ``key``: checked, numbered, in effect from ``effective_from``
    (default now); the previous version retires then."""
    comment = (comment or "").strip()
    errors = {}
    if not comment:
        errors["comment"] = FieldError(
            "Say why the rule changes (a comment is required).",
            "rule.comment_required",
            field="comment",
        )
    elif len(comment) > MAX_COMMENT:
        errors["comment"] = FieldError(
            f"Keep the comment under {MAX_COMMENT} characters.",
            "rule.comment_too_long",
            field="comment",
            limit=MAX_COMMENT,
        )
    if effective_from is not None and effective_from < now.replace(second=0, microsecond=0):
        errors["effective_from"] = FieldError(
            "Choose now or a later date.", "rule.effective_in_past", field="effective_from"
        )
    if errors:
        raise InvalidData(errors)
    row = draft_row(session, key, lock=True)
    if row is None:
        raise InvalidData(
            {
                "draft": FieldError(
                    f"there is no draft of {key!r} to publish; save one first",
                    "rule.no_draft",
                    field="draft",
                    key=key,
                )
            }
        )
    checked = readable(row.source, key, max_bytes)
    if checked.problems:
        raise InvalidDiagram(checked.problems)
    table_from_xml(checked.content, row.file_name, key, max_bytes=max_bytes)  # library reads it
    row.version = next_decision_version(session, key)
    publish_row(
        session, row, actor=actor, now=now, effective_from=effective_from or now, comment=comment
    )
    session.flush()
    rows.audit(
        session,
        instance_id=None,
        at=now,
        actor=actor,
        kind="rule_published",
        element_id=key,
        element_name=row.name,
        reason=comment,
        detail={
            "decision": key,
            "version": row.version,
            "definition_id": row.id,
            "effective_from": (row.effective_from or now).isoformat(),
        },
    )
    return version_view(row, now, None)
