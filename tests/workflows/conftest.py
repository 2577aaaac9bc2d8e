"""Fixtures for the PMO catalog's tests: its tables, its glue and its roles on top of
the engine's fixtures (``tests/conftest.py``)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from engine import identity
from engine.api import Engine, EngineSettings
from engine.clock import ManualClock
from engine.store.uow import unit_of_work
from tests.conftest import Database
from workflows.catalog import build_registry
from workflows.records.models import Base as RecordsBase
from workflows.records.schema import upgrade as upgrade_records
from workflows.roles import ROLES


def with_pmo_records(database: Database) -> Database:
    """The PMO record tables on ``database`` (migrated once per run, wiped per test)."""
    if RecordsBase.metadata not in database.metadatas:
        upgrade_records(database.engine)
        database.metadatas.append(RecordsBase.metadata)
    return database


@pytest.fixture
def db(db: Database) -> Database:
    """The engine's database fixture, with the PMO record tables too."""
    return with_pmo_records(db)


@pytest.fixture
def engine(clock: ManualClock, settings: EngineSettings) -> Engine:
    """An engine with the PMO catalog's glue registered."""
    return Engine(clock=clock, settings=settings, services=build_registry())


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
