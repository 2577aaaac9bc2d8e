"""The PMO admin's verbs on decision tables, each one unit of work checked for the role.

Only a PMO administrator (``pmo_admin``) may read, test, edit, replay or publish tables
(:class:`~engine.errors.Forbidden` for everyone else).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine import access
from engine.context import EngineContext
from engine.errors import InvalidDiagram, Problem
from engine.rules import replay, versions
from engine.spiff.decisions import table_from_xml
from engine.store.uow import read_only, unit_of_work
from engine.views import DecisionTableView, DecisionVersionView, RuleTestResult, WhatIfResult


def _max_bytes(ctx: EngineContext) -> int:
    return ctx.settings.max_diagram_bytes


def tables(ctx: EngineContext, session: Session, actor: str) -> list[DecisionTableView]:
    """Every decision table, with its versions."""
    with read_only(session):
        access.require_rules_admin(session, actor)
        now = ctx.clock.now()
        return [
            versions.table_view(session, key, now, _max_bytes(ctx))
            for key in versions.keys(session)
        ]


def table(ctx: EngineContext, session: Session, key: str, actor: str) -> DecisionTableView:
    """One decision table with its versions and sources."""
    with read_only(session):
        access.require_rules_admin(session, actor)
        return versions.table_view(session, key, ctx.clock.now(), _max_bytes(ctx))


def check(
    ctx: EngineContext, session: Session, key: str, content: bytes | str, actor: str
) -> list[Problem]:
    """Every problem publishing ``content`` as ``key`` would meet (stores nothing)."""
    with read_only(session):
        access.require_rules_admin(session, actor)
        return versions.readable(content, key, _max_bytes(ctx)).problems


def save_draft(
    ctx: EngineContext, session: Session, key: str, content: bytes | str, actor: str
) -> tuple[DecisionVersionView, list[Problem]]:
    """Keep ``content`` as the draft (with the problems publishing it would meet)."""
    with unit_of_work(session):
        access.require_rules_admin(session, actor)
        return versions.save_draft(
            session, key, content, actor=actor, now=ctx.clock.now(), max_bytes=_max_bytes(ctx)
        )


def publish(
    ctx: EngineContext,
    session: Session,
    key: str,
    actor: str,
    comment: str,
    *,
    effective_from: datetime | None = None,
    content: bytes | str | None = None,
) -> DecisionVersionView:
    """Publish the draft (``content`` first saved as the draft when given); all or
    nothing."""
    with unit_of_work(session):
        access.require_rules_admin(session, actor)
        now = ctx.clock.now()
        if content is not None:
            versions.save_draft(
                session, key, content, actor=actor, now=now, max_bytes=_max_bytes(ctx)
            )
        return versions.publish(
            session,
            key,
            actor=actor,
            now=now,
            comment=comment,
            effective_from=effective_from,
            max_bytes=_max_bytes(ctx),
        )


def test(
    ctx: EngineContext,
    session: Session,
    key: str,
    actor: str,
    inputs: Mapping[str, Any],
    variables: Mapping[str, Any] | None = None,
    content: bytes | str | None = None,
) -> dict[str, RuleTestResult]:
    """The table in effect and the draft (``content``, else the saved draft) run on the
    same inputs: ``{"published": ..., "draft": ...}`` (no draft: only published)."""
    with read_only(session):
        access.require_rules_admin(session, actor)
        view = versions.table_view(session, key, ctx.clock.now(), _max_bytes(ctx))
    published = table_from_xml(
        view.source.encode("utf-8"), f"{key}.dmn", key, max_bytes=_max_bytes(ctx)
    )
    given = {k: replay.plain_value(v) for k, v in (variables or {}).items()}
    found = {
        "published": replay.run_test(
            ctx, published, "published", replay.coerce_inputs(published, inputs), given
        )
    }
    draft_source = content if content is not None else view.draft_source
    if draft_source is not None:
        draft = _draft(ctx, key, draft_source)
        found["draft"] = replay.run_test(
            ctx, draft, "draft", replay.coerce_inputs(draft, inputs), given
        )
    return found


def what_if(
    ctx: EngineContext, session: Session, key: str, actor: str, content: bytes | str | None = None
) -> WhatIfResult:
    """Replay a draft (``content``, else the saved draft) over every past instance."""
    with read_only(session):
        access.require_rules_admin(session, actor)
        if content is None:
            view = versions.table_view(session, key, ctx.clock.now(), _max_bytes(ctx))
            if view.draft_source is None:
                raise InvalidDiagram([Problem(f"{key}.dmn", "there is no draft to replay")])
            content = view.draft_source
        draft = _draft(ctx, key, content)
        return replay.what_if(ctx, session, key, draft)


def _draft(ctx: EngineContext, key: str, content: bytes | str):
    """A readable, problem-free draft as the library's engine (else InvalidDiagram)."""
    checked = versions.readable(content, key, _max_bytes(ctx))
    if checked.problems:
        raise InvalidDiagram(checked.problems)
    return table_from_xml(checked.content, f"{key}.dmn", key, max_bytes=_max_bytes(ctx))
