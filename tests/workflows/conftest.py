"""Fixtures for the PMO records tests."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from engine import identity
from engine.clock import ManualClock
from engine.store.uow import unit_of_work
from workflows.roles import ROLES

USERS = {
    "pm1": "pm", "pm2": "pm", "sponsor1": "sponsor", "reviewer1": "pmo_reviewer",
    "pmohead": "pmo_head", "finance1": "finance", "steer1": "steering", "team1": "team",
    "team2": "team",
}


@pytest.fixture
def people(session: Session, clock: ManualClock) -> dict[str, str]:
    """Roles and one user per role, committed; no passwords (hashing is slow here)."""
    with unit_of_work(session):
        identity.ensure_roles(session, ROLES)
        for username, role in USERS.items():
            identity.create_user(session, username, now=clock.now(), roles=[role])
    return USERS
