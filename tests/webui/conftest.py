"""Web app fixtures: an app on a temporary SQLite database, a signed-in client.

The demo users (password "demo") and two processes (``approval3`` from the engine tests
and ``widgets``, a proposal form with every widget) are set up once per run in a template
database that each test gets a fresh copy of: hashing fourteen passwords per test would
cost more than most tests.  ``pmo_app`` / ``pmo_client`` do the same for what
``pmoflow init --demo`` makes: the shipped processes of ``bpmn/`` and the demo projects.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.datastructures import MultiDict

from engine import identity
from engine.api import Engine, EngineSettings
from engine.clock import ManualClock
from engine.spiff.bundle import SourceFile
from engine.store.uow import unit_of_work
from engine.tasks import TaskQuery
from engine.views import InstanceView, TaskView
from pmoflow import seed
from pmoflow.app import create_app
from pmoflow.config import Config
from pmoflow.wiring import build
from tests.conftest import Database
from tests.engine.driver import files as engine_files
from tests.workflows.conftest import with_pmo_records
from webui.extensions import db
from workflows.catalog import build_registry
from workflows.records.schema import upgrade_all
from workflows.roles import DEMO_USERS, ROLES, demo_email

START = "2026-03-02T09:00:00+00:00"
HERE = Path(__file__).parent / "processes"


def webui_files() -> list[SourceFile]:
    """The web tests' own process (every widget) and its forms."""
    out = [SourceFile("widgets.bpmn", (HERE / "widgets.bpmn").read_bytes())]
    return out + [SourceFile(f"forms/{p.name}", p.read_bytes())
                  for p in sorted((HERE / "forms").glob("*.json"))]


@pytest.fixture(name="db")
def database_with_pmo_records(db: Database) -> Database:
    """The engine tests' database fixture, with the PMO record tables too."""
    return with_pmo_records(db)


@pytest.fixture(name="engine")
def catalog_engine(clock: ManualClock, settings: EngineSettings) -> Engine:
    """An engine with the PMO catalog's glue registered."""
    return Engine(clock=clock, settings=settings, services=build_registry())


def app_config(path: Path, **overrides: object) -> Config:
    """The configuration of a test app on the SQLite file at ``path``: rate limits off
    (tests sign in and call the API far more often than people do; the security tests
    turn them on with small limits)."""
    values: dict[str, object] = {"rate_limits": False, **overrides}
    return Config.from_env(
        {}, database_url=f"sqlite:///{path}", instance_dir=path.parent,
        secret_key="test-secret", testing=True, run_worker_in_server=False, **values,
    )


def make_app(path: Path, clock: ManualClock) -> Flask:
    """The web app on the SQLite file at ``path``."""
    return create_app(app_config(path), clock=clock)


def build_database(path: Path, clock: ManualClock) -> None:
    """Schema, roles, demo users, approval3 and widgets deployed."""
    application = make_app(path, clock)
    with application.app_context():
        upgrade_all(db.engine)
        with unit_of_work(db.session):
            identity.ensure_roles(db.session, ROLES)
            for username, (name, roles) in DEMO_USERS.items():
                identity.create_user(db.session, username, now=clock.now(),
                                     password="demo", display_name=name, roles=roles,
                                     email=demo_email(username))
        eng = application.extensions["pmoflow"].engine
        eng.deploy(db.session, engine_files("approval3.bpmn"), "owner1")
        eng.deploy(db.session, webui_files(), "owner1")
        db.session.remove()
        with db.engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.engine.dispose()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("web-template") / "web.db"
    build_database(path, ManualClock(START))
    return path


def build_pmo_database(path: Path, clock: ManualClock) -> None:
    """What ``pmoflow init --demo`` does, into the SQLite file at ``path``: schema, roles,
    demo users, everything in ``bpmn/`` deployed (the real catalog's glue), demo records."""
    rt = build(app_config(path), clock)
    seed.upgrade_schema(rt)
    with rt.sessions() as session:
        seed.seed_demo(rt, session, log=lambda _line: None)
    with rt.db.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    rt.db.dispose()


def copy_database(template: Path, target: Path) -> None:
    """A fresh copy of a template SQLite database (and its WAL files, if any)."""
    for suffix in ("", "-wal", "-shm"):
        source = Path(str(template) + suffix)
        if source.exists():
            shutil.copy(source, Path(str(target) + suffix))


@pytest.fixture(scope="session")
def pmo_template_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pmo-template") / "pmo.db"
    build_pmo_database(path, ManualClock(START))
    return path


@pytest.fixture
def pmo_clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def pmo_app(tmp_path, pmo_clock, pmo_template_db) -> Iterator[Flask]:
    """The web app on a copy of the demo database (the shipped processes, demo projects)."""
    copy_database(pmo_template_db, tmp_path / "pmo.db")
    application = make_app(tmp_path / "pmo.db", pmo_clock)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def pmo_client(pmo_app: Flask) -> FlaskClient:
    return pmo_app.test_client()


@pytest.fixture
def web_clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def app(tmp_path, web_clock, template_db) -> Iterator[Flask]:
    copy_database(template_db, tmp_path / "web.db")
    application = make_app(tmp_path / "web.db", web_clock)
    yield application
    with application.app_context():
        db.engine.dispose()


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


def post(client: FlaskClient, path: str, data: dict[str, Any] | list | None = None,
         token_from: str = "/tasks"):
    """POST a form with a valid CSRF token (taken from ``token_from``)."""
    token = csrf_token(client, token_from)
    items = list(data.items()) if isinstance(data, dict) else list(data or [])
    return client.post(path, data=MultiDict([*items, ("csrf_token", token)]))


class Arrange:
    """Set up instances and tasks through the engine (not the pages under test)."""

    def __init__(self, app: Flask):
        self.app = app

    @property
    def engine(self) -> Engine:
        return self.app.extensions["pmoflow"].engine

    def start(self, key: str = "approval3", actor: str = "pm1", data: dict | None = None,
              **kw) -> InstanceView:
        data = data if data is not None else {"title": "Tower upgrade", "budget": 1200}
        with self.app.app_context():
            return self.engine.start(db.session, key, actor, data, **kw)

    def tasks(self, instance_id: int, status: str = "any") -> list[TaskView]:
        with self.app.app_context():
            found, _ = self.engine.tasks(db.session, None, TaskQuery(
                scope="all", instance_id=instance_id, status=status, sort="created",
                limit=500))
            return found

    def task(self, instance_id: int, element_id: str | None = None) -> TaskView:
        """The one open task of an instance (at ``element_id``)."""
        found = [t for t in self.tasks(instance_id, "open")
                 if element_id in (None, t.element_id)]
        assert len(found) == 1, found
        return found[0]

    def complete(self, task_id: int, actor: str, data: dict | None = None) -> InstanceView:
        with self.app.app_context():
            return self.engine.complete(db.session, task_id, actor, data or {})

    def claim(self, task_id: int, actor: str) -> TaskView:
        with self.app.app_context():
            return self.engine.claim(db.session, task_id, actor)

    def add_user(self, username: str, *roles: str, name: str = "") -> None:
        with self.app.app_context(), unit_of_work(db.session):
            identity.create_user(db.session, username, now=self.engine.clock.now(),
                                 password="demo", display_name=name or username,
                                 roles=roles)


@pytest.fixture
def arrange(app: Flask) -> Arrange:
    return Arrange(app)


def parse_html(html: str | bytes):
    """An lxml document of a page, for XPath assertions."""
    from lxml import html as lxml_html

    return lxml_html.fromstring(html)


def one(doc, xpath: str):
    """The single element ``xpath`` finds (fails if none or several)."""
    found = doc.xpath(xpath)
    assert len(found) == 1, (xpath, len(found))
    return found[0]
