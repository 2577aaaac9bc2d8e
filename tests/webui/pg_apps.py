"""The web app on PostgreSQL: a fresh schema in the test database, migrated, with a few
demo users and the engine tests' ``approval3`` deployed (the SQLite web tests copy a
template file instead; see ``conftest.py``)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from engine import identity
from engine.clock import ManualClock
from engine.store.db import make_db_engine
from engine.store.uow import unit_of_work
from pmoflow.app import create_app
from pmoflow.config import Config
from tests.conftest import PG_BASE, _pg_reachable, not_run
from tests.engine.driver import files as engine_files
from webui.extensions import db
from workflows.records.schema import upgrade_all
from workflows.roles import DEMO_USERS, ROLES

#: The users these apps have (password "demo").
USERS = ("pm1", "pm2", "reviewer1", "pmohead", "admin")


def require_postgres() -> None:
    """Skip (or, under CI, fail) when the PostgreSQL server does not answer."""
    reason = _pg_reachable()
    if reason is None:
        return
    message = f"PostgreSQL at {PG_BASE} is not reachable ({reason})"
    if os.environ.get("CI"):
        pytest.fail(message + " and CI is set: the PostgreSQL half must run", pytrace=False)
    not_run(message + ": PostgreSQL web tests skipped.")


@contextlib.contextmanager
def pg_schema(base: str = PG_BASE) -> Iterator[str]:
    """A new schema in the test database; yields the URL that uses it, drops it after."""
    schema = f"pmoflow_w_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_db_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in base else "?"
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def pg_app(url: str, instance_dir: Path, clock: ManualClock, **overrides: object) -> Flask:
    """The web app on ``url``, set up with :data:`USERS` and approval3 (rate limits off
    unless ``overrides`` say otherwise)."""
    values: dict[str, object] = {"rate_limits": False, **overrides}
    config = Config.from_env({}, database_url=url, instance_dir=instance_dir,
                             secret_key="test-secret", testing=True,
                             run_worker_in_server=False, **values)
    app = create_app(config, clock=clock)
    with app.app_context():
        upgrade_all(db.engine)
        with unit_of_work(db.session):
            identity.ensure_roles(db.session, ROLES)
            for username in USERS:
                name, roles = DEMO_USERS[username]
                identity.create_user(db.session, username, now=clock.now(), password="demo",
                                     display_name=name, roles=roles)
        app.extensions["pmoflow"].engine.deploy(db.session, engine_files("approval3.bpmn"),
                                                "admin")
        db.session.remove()
    return app


def dispose(app: Flask) -> None:
    """Close the app's database connections."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
