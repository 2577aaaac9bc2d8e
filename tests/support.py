"""Reads tests use to look inside instances (not part of the engine's public surface)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.api import Engine


def instance_data(engine: Engine, session: Session, instance_id: int, *,
                  task_id: int | None = None) -> dict[str, Any]:
    """The instance's current data, or (with ``task_id``) as that task sees it."""
    views = engine.instance_and_task_data(session, instance_id, task_id)
    return views.data if views.task_data is None else views.task_data


def visited_elements(engine: Engine, session: Session, instance_id: int) -> dict[str, int]:
    """Element id -> how many times it completed."""
    return engine.instance_and_task_data(session, instance_id, None).visited


def task_counts(engine: Engine, session: Session, username: str) -> dict[str, int]:
    """{"mine": n, "claimable": m} for ``username``."""
    counts = engine.nav_counts(session, username)
    return {"mine": counts["mine"], "claimable": counts["claimable"]}
