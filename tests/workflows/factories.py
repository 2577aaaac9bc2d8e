"""Small factories for PMO record tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from engine import identity
from engine.api import Engine
from engine.clock import ManualClock
from engine.spiff.bundle import SourceFile
from engine.store.uow import unit_of_work
from tests.engine.driver import Driver
from workflows import records


def proposal(**overrides: Any) -> dict[str, Any]:
    """A valid proposal as task data, with ``overrides`` applied (None removes a key)."""
    data: dict[str, Any] = {
        "title": "CRM replacement",
        "business_case": "The old CRM is out of support.",
        "strategic_objective": "Customer retention",
        "category": "it",
        "budget": {"amount": "250000.00", "currency": "CNY"},
        "planned_start": "2026-04-01",
        "planned_end": "2026-12-31",
        "sponsor": "sponsor1",
        "expected_roi_pct": "18.5",
        "risk_rating": "medium",
        "departments": ["IT", "Sales"],
        "headcount": 12,
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def approved_project(session: Session, clock: ManualClock, *, pm: str = "pm1",
                     **overrides: Any) -> records.ProjectView:
    """A proposal approved by the PMO head (stage Initiation, with a code)."""
    project = records.propose_project(session, proposal(**overrides), pm=pm, now=clock.now())
    return records.approve_project(session, project.id, actor="pmohead", now=clock.now())


def risk_data(**overrides: Any) -> dict[str, Any]:
    """Valid risk data."""
    data: dict[str, Any] = {
        "title": "Geological surprise on site",
        "description": "Karst cave found under tower 7.",
        "category": "technical",
        "probability": 4,
        "impact": 5,
        "response": "mitigate",
        "contingency": "Move the tower 30 m east.",
        "owner": "pm1",
        "urgent": True,
    }
    data.update(overrides)
    return data


def escalation_data(**overrides: Any) -> dict[str, Any]:
    """Valid escalation data."""
    data: dict[str, Any] = {
        "title": "Tower supplier serves three projects at once",
        "description": "The supplier cannot deliver to all three sites in March.",
        "kind": "resource_conflict",
        "severity": "high",
        "tried": "Asked the supplier for a second crew; refused.",
        "needed_by": "2026-03-10",
        "affected_project_ids": [],
    }
    data.update(overrides)
    return data


def process_driver(engine: Engine, session: Session, clock: ManualClock, *,
                   users: Mapping[str, str | list[str]],
                   operations: Iterable[tuple[str, Callable[..., Any]]],
                   files: list[SourceFile]) -> Driver:
    """A driver for one shipped process: extra users (username -> role or roles), the
    process module's service operations registered once, its files deployed."""
    with unit_of_work(session):
        for username, roles in users.items():
            identity.create_user(session, username, now=clock.now(),
                                 roles=[roles] if isinstance(roles, str) else roles)
    for name, op in operations:
        (name in engine.services.names()) or engine.services.register(name, op)
    engine.deploy(session, files, "owner1")
    return Driver(engine, session, clock)
