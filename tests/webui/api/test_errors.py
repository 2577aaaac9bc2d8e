"""Errors under /api/v1 are problem+json with a stable type, never a 500 and never an
HTML page: unknown routes, wrong methods, bad JSON, wrong content types, huge bodies, ids
beyond the database's integers, NUL characters.  The last ones on PostgreSQL too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine import identity
from engine.clock import ManualClock
from engine.store.models import HumanTask, ProcessInstance
from engine.store.uow import unit_of_work
from pmoflow.app import create_app
from pmoflow.config import Config
from tests.conftest import Database
from tests.engine.driver import files as engine_files
from tests.webui.api.conftest import Caller, assert_problem, make_token
from tests.webui.conftest import START
from webui.extensions import db as flask_db
from workflows.roles import ROLES

HUGE = "99999999999999999999"


def test_unknown_route_and_wrong_method_are_problems(as_user):
    pm = as_user("pm1")
    assert_problem(pm.get("/api/v1/nothing/here"), 404, "not-found")
    response = pm.client.delete("/api/v1/tasks", headers={"Authorization": f"Bearer {pm.token}"})
    assert_problem(response, 405, "method-not-allowed")
    assert "GET" in response.headers["Allow"]
    assert_problem(pm.client.get("/api/v1/nothing"), 404, "not-found")


def test_problem_types_are_documented_at_their_uri(client):
    kinds = client.get("/api/v1/problems").get_json()
    assert kinds["/api/v1/problems/conflict"]["status"] == 409
    one = client.get("/api/v1/problems/invalid-data").get_json()
    assert one["status"] == 422 and one["title"]
    assert_problem(client.get("/api/v1/problems/nope"), 404, "not-found")


def test_huge_bodies_are_413(as_user, arrange):
    inst = arrange.start()
    task = arrange.task(inst.id)
    big = {"decision": "accept", "comment": "x" * (1024 * 1024 + 10)}
    response = as_user("reviewer1").post(f"/api/v1/tasks/{task.id}/complete", json=big)
    assert_problem(response, 413, "payload-too-large")
    assert arrange.task(inst.id).status == "open"


def test_too_deep_json_is_refused(as_user, arrange):
    inst = arrange.start()
    task = arrange.task(inst.id)
    reviewer = as_user("reviewer1")
    deep = "[" * 50_000 + "]" * 50_000
    response = reviewer.post(f"/api/v1/tasks/{task.id}/complete", data=deep,
                             content_type="application/json")
    assert response.status_code in (400, 422) and response.mimetype.endswith("problem+json")
    nested: dict = {"decision": "accept"}
    for _ in range(40):
        nested = {"a": nested}
    assert_problem(reviewer.post(f"/api/v1/tasks/{task.id}/complete", json=nested), 422,
                   "invalid-data")


def test_html_pages_outside_the_api_keep_html_errors(client):
    response = client.get("/definitely/not/here")
    assert response.status_code == 404 and response.mimetype == "text/html"


# --------------------------------------------------------------------------- both databases


@pytest.fixture
def any_db_app(db: Database, tmp_path: Path) -> Iterator[Flask]:
    """The web app on the ``db`` database (SQLite, then PostgreSQL) with three users and
    approval3 deployed."""
    clock = ManualClock(START)
    config = Config.from_env({}, database_url=db.url, instance_dir=tmp_path,
                             secret_key="test-secret", testing=True,
                             run_worker_in_server=False, rate_limits=False)
    application = create_app(config, clock=clock)
    with application.app_context():
        with unit_of_work(flask_db.session):
            identity.ensure_roles(flask_db.session, ROLES)
            for username, role in (("pm1", "pm"), ("reviewer1", "pmo_reviewer"),
                                   ("owner1", "process_owner")):
                identity.create_user(flask_db.session, username, now=clock.now(),
                                     roles=[role])
        application.extensions["pmoflow"].engine.deploy(
            flask_db.session, engine_files("approval3.bpmn"), "owner1")
    yield application
    with application.app_context():
        flask_db.session.remove()
        flask_db.engine.dispose()


def _caller(app: Flask, username: str) -> Caller:
    return Caller(app.test_client(), make_token(app, username))


def _counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        return (flask_db.session.scalar(select(func.count()).select_from(ProcessInstance)),
                flask_db.session.scalar(select(func.count()).select_from(HumanTask)))


def test_ids_beyond_the_database_integers_are_404(any_db_app):
    pm = _caller(any_db_app, "pm1")
    for path in (f"/api/v1/tasks/{HUGE}", f"/api/v1/instances/{HUGE}",
                 f"/api/v1/projects/{HUGE}", "/api/v1/tasks/2147483648",
                 "/api/v1/tasks/0", "/api/v1/tasks/-1"):
        assert_problem(pm.get(path), 404, "not-found")
    assert_problem(pm.post(f"/api/v1/tasks/{HUGE}/claim"), 404, "not-found")
    assert_problem(pm.delete(f"/api/v1/tokens/{HUGE}"), 404, "not-found")
    assert_problem(pm.get("/api/v1/tasks/2147483647"), 404, "not-found")
    bad = pm.get(f"/api/v1/tasks?project_id={HUGE}")
    assert [e["field"] for e in assert_problem(bad, 422, "invalid-data")["errors"]] == [
        "project_id"]
    start = pm.post("/api/v1/processes/approval3/instances",
                    json={"data": {"title": "T", "budget": 1}, "project_id": int(HUGE)})
    assert_problem(start, 422, "invalid-data")
    assert _counts(any_db_app) == (0, 0)


def test_nul_characters_are_422_and_nothing_is_stored(any_db_app):
    pm = _caller(any_db_app, "pm1")
    start = pm.post("/api/v1/processes/approval3/instances",
                    json={"data": {"title": "Bad\x00title", "budget": 1}})
    body = assert_problem(start, 422, "invalid-data")
    assert body["errors"][0]["field"] == "data.title"
    assert_problem(pm.post("/api/v1/processes/approval3/instances",
                           json={"data": {"title": "T", "budget": 1}, "title": "a\x00"}),
                   422, "invalid-data")
    assert_problem(pm.get("/api/v1/tasks?process=a%00b"), 422, "invalid-data")
    assert_problem(pm.get("/api/v1/lessons?q=%00"), 422, "invalid-data")
    assert_problem(pm.get("/api/v1/processes/a%00b"), 404, "not-found")
    assert _counts(any_db_app) == (0, 0)
    ok = pm.post("/api/v1/processes/approval3/instances",
                 json={"data": {"title": "Fine", "budget": 1}})
    assert ok.status_code == 201
    task_id = ok.get_json()["tasks"][0]["id"]
    reviewer = _caller(any_db_app, "reviewer1")
    bad = reviewer.post(f"/api/v1/tasks/{task_id}/complete",
                        json={"decision": "reject", "comment": "no\x00"})
    assert assert_problem(bad, 422, "invalid-data")["errors"][0]["field"] == "comment"
    bad_key = reviewer.post(f"/api/v1/tasks/{task_id}/delegate",
                            json={"to": "pm1", "reason": "\x00"})
    assert_problem(bad_key, 422, "invalid-data")
    surrogate = reviewer.client.post(
        f"/api/v1/tasks/{task_id}/complete", data='{"decision": "reject", "comment": "\\ud800"}',
        content_type="application/json", headers={"Authorization": f"Bearer {reviewer.token}"})
    assert_problem(surrogate, 422, "invalid-data")
    with any_db_app.app_context():
        assert flask_db.session.get(HumanTask, task_id).status == "open"


def test_odd_numbers_in_task_data_are_not_a_server_error(any_db_app):
    pm = _caller(any_db_app, "pm1")
    for budget in ("1e400", "-1e400", HUGE + HUGE, "1.5e308"):
        response = pm.client.post(
            "/api/v1/processes/approval3/instances",
            data='{"data": {"title": "T", "budget": ' + budget + '}}',
            content_type="application/json", headers={"Authorization": f"Bearer {pm.token}"})
        assert response.status_code in (201, 400, 422), (budget, response.get_data(True))
