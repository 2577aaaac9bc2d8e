"""Web app fixtures: an app on a temporary SQLite database, a signed-in client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import identity
from engine.clock import ManualClock
from engine.store.schema import upgrade
from engine.store.uow import unit_of_work
from pmoflow.config import Config
from webui.app import create_app
from webui.extensions import db
from workflows.roles import DEMO_USERS, ROLES


@pytest.fixture
def web_clock() -> ManualClock:
    return ManualClock("2026-03-02T09:00:00+00:00")


@pytest.fixture
def app(tmp_path, web_clock) -> Iterator[Flask]:
    config = Config.from_env(
        {}, database_url=f"sqlite:///{tmp_path / 'web.db'}", instance_dir=tmp_path,
        secret_key="test-secret", testing=True, run_worker_in_server=False,
    )
    application = create_app(config, clock=web_clock)
    with application.app_context():
        upgrade(db.engine)
        with unit_of_work(db.session):
            identity.ensure_roles(db.session, ROLES)
            for username, (name, roles) in DEMO_USERS.items():
                identity.create_user(db.session, username, now=web_clock.now(),
                                     password="demo", display_name=name, roles=roles)
        db.session.remove()
    yield application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """Fetch a page and pull the CSRF token out of its form."""
    html = client.get(path).get_data(as_text=True)
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


def login(client: FlaskClient, username: str, password: str = "demo"):
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})
