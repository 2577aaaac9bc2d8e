"""The authorization matrix: every route of the app x every demo user and anonymous.

Each row of :data:`MATRIX` names an endpoint and who may use it; each request is made with
object ids that belong to somebody else (a project pm2 holds no role in, pm1's request and
its review task, pm1's upload, sponsor1's notification and mail, pm1's API token, an
unpublished lesson and a risk of pm1's project).  Outcomes:

- ``login``: anonymous callers are sent to the sign-in page (pages) or get 401 (the API);
- ``deny``: 403, the one answer of a refused read or action (docs/access.md);
- ``allow``: anything else (200, a redirect, 400/422 for the empty form sent, 404 for an id
  that names nothing, 409): the gate let the caller through.

A 500 fails every cell.  A route missing from the table fails the test, so a new route
cannot ship without saying who may use it.  State-changing requests carry a valid CSRF
token and an empty body (nothing valid to do), so they test the gate, not the action;
:func:`test_every_state_changing_route_refuses_a_request_without_csrf` sends them without.

Every identity gets its own fresh copy of the demo database, so one user's requests
cannot change another's answers.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.clock import ManualClock
from engine.store.models import DecisionDefinition, Notification, OutboxMessage, ProcessDefinition
from engine.store.uow import unit_of_work
from pmoflow import seed
from pmoflow.app import create_app
from pmoflow.config import Config
from pmoflow.wiring import build
from tests.webui.conftest import START, copy_database, csrf_token, login, make_app
from tests.webui.pg_apps import dispose, pg_schema, require_postgres
from tests.workflows.factories import escalation_data, proposal
from webui.extensions import db
from workflows import records
from workflows.roles import DEMO_USERS

ANON = "anonymous"
USERS = tuple(sorted(DEMO_USERS))
EVERYONE = frozenset(USERS)
ADMIN = frozenset({"admin"})
OWNERS = frozenset({"owner1", "admin"})
PMO = frozenset({"reviewer1", "pmohead", "admin"})
SEES_ALL = PMO | {"steer1", "steer2", "steer3"}
HEAD_ADMIN = frozenset({"pmohead", "admin"})
PUBLIC = "public"
#: Who may see pm1's project 1 (its PM, its sponsor and team hold roles in it).
PROJECT_1 = SEES_ALL | {"pm1", "sponsor1", "team1", "team2", "team3"}
#: Who may see pm1's proposal (started by pm1; sponsor1 is its sponsor and was told; the
#: completeness check waits on the PMO reviewers).
REQUEST = SEES_ALL | {"pm1", "sponsor1"}
#: Who may see the completeness check's page: whoever may see the request, except its
#: sponsor (they see the request's page; a task page is for those who work on it).
TASK = REQUEST - {"sponsor1"}
#: Who may work on (claim, complete) the completeness check of pm1's proposal.
CHECK = frozenset({"reviewer1"})
#: Who may start a project approval (the start event's lane: pm).
PMS = frozenset({"pm1", "pm2"})
NONE: frozenset[str] = frozenset()

#: endpoint -> who may use it (PUBLIC: also anonymous).  Keep in the app's order by URL.
MATRIX: dict[str, object] = {
    "static": PUBLIC,
    "health.healthz": PUBLIC,
    "health.livez": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": PUBLIC,
    "oidc.start": PUBLIC,  # single sign-on (404 while no provider is configured)
    "oidc.callback": PUBLIC,
    "i18n.switch": PUBLIC,
    "api_pages.docs": PUBLIC,
    "api-docs.openapi_json": PUBLIC,
    "api_pages.problem_types": PUBLIC,
    "api_pages.problem_type": PUBLIC,
    "home.index": EVERYONE,
    # own account
    "mail.account": EVERYONE,
    "mail.set_away": EVERYONE,
    "mail.back": EVERYONE,
    "mail.set_mode": EVERYONE,
    "account.tokens": EVERYONE,
    "account.create_token": EVERYONE,
    "account.revoke_token": frozenset({"pm1", "admin"}),  # the owner and an admin
    "account.sign_out_everywhere": EVERYONE,
    "notifications.index": EVERYONE,
    "notifications.open_one": frozenset({"sponsor1"}),
    "notifications.read_all": EVERYONE,
    # administration
    "admin.index": ADMIN,
    "admin.set_sla": ADMIN,
    "admin.remove_sla": ADMIN,
    "admin.create_user": ADMIN,
    "admin.user": ADMIN,
    "admin.update_user": ADMIN,
    "admin.set_active": ADMIN,
    "admin.reset_password": ADMIN,
    "admin.grant_role": ADMIN,
    "admin.revoke_role": ADMIN,
    "admin.unlock": ADMIN,
    "admin.sign_out_everywhere": ADMIN | {"pm1"},  # pm1 is the user named: themself
    "sso_admin.index": ADMIN,
    "sso_admin.add": ADMIN,
    "sso_admin.remove": ADMIN,
    "mail.outbox": ADMIN,
    "mail.message": ADMIN,
    "mail.retry": ADMIN,
    "time_admin.index": ADMIN,
    "time_admin.save_calendar": ADMIN,
    "time_admin.advance_clock": ADMIN,
    "time_admin.reset_clock": ADMIN,
    "time_admin.save_hours": ADMIN,
    "rules.index": ADMIN,
    "rules.show": ADMIN,
    "rules.check": ADMIN,
    "rules.save_draft": ADMIN,
    "rules.publish": ADMIN,
    "rules.test": ADMIN,
    "rules.what_if": ADMIN,
    "ops.index": ADMIN,
    "ops.instance": ADMIN,
    "ops.cancel": ADMIN,
    "ops.move_token": ADMIN,
    "ops.resume": ADMIN,
    "ops.retry": ADMIN,
    "ops.suspend": ADMIN,
    "ops.migrate": ADMIN,
    "dashboard.index": HEAD_ADMIN,
    "dashboard.download": HEAD_ADMIN,
    "dashboard.heatmap": HEAD_ADMIN,
    "dashboard.heatmap_diagram": HEAD_ADMIN,
    # process owners
    "modeler.index": OWNERS,
    "modeler.deploy": OWNERS,
    "modeler.save_draft": OWNERS,
    "modeler.draft_xml": OWNERS,
    "modeler.delete_draft": OWNERS,
    "modeler.validate": OWNERS,
    "camunda.upload_form": OWNERS,
    "camunda.upload": OWNERS,
    "camunda.report": OWNERS,
    "camunda.original": OWNERS,
    "camunda.convert_again": OWNERS,
    "formdesigner.index": OWNERS,
    "formdesigner.design": OWNERS,
    "formdesigner.save": OWNERS,
    "formdesigner.preview": OWNERS,
    "library.move": OWNERS,
    "library.index": OWNERS,
    "library.process": OWNERS,
    "library.diagram": OWNERS,
    "library.diff": OWNERS,
    # processes and requests
    "processes.index": EVERYONE,
    "processes.diagram": EVERYONE,
    "processes.start_form": PMS,
    "processes.start": PMS,
    "requests.index": EVERYONE,
    "requests.withdraw": frozenset({"pm1"}),
    "requests.close_wait": frozenset({"pm1", "pmohead", "admin"}),  # starter, PMO head, admin
    "instances.show": REQUEST,
    "pmo.running": PMO,
    "pmo.reassign": ADMIN,
    "inbox.index": EVERYONE,
    "inbox.claim": CHECK,
    "inbox.unclaim": CHECK,
    "inbox.delegate": CHECK,
    "tasks.show": TASK,
    "tasks.submit": CHECK,
    "tasks.attachment": REQUEST,
    # PMO records (need-to-know)
    "portfolio.index": EVERYONE,
    "portfolio.show": PROJECT_1,
    "risks.index": EVERYONE,
    "risks.show": PROJECT_1,
    "escalations.index": EVERYONE,
    "escalations.show": PROJECT_1,
    "lessons.index": EVERYONE,
    "lessons.show": PROJECT_1,
    # the API
    "api-me.me": EVERYONE,
    "api-tokens.list_tokens": EVERYONE,
    "api-tokens.create_token": EVERYONE,
    "api-tokens.revoke_token": frozenset({"pm1", "admin"}),
    "api-users.list_users": ADMIN,
    "api-users.create_user": ADMIN,
    "api-users.update_user": ADMIN,
    "api-users.set_active": ADMIN,
    "api-users.grant_role": ADMIN,
    "api-users.revoke_role": ADMIN,
    "api-time.get_calendar": ADMIN,
    "api-time.put_calendar_days": ADMIN,
    "api-time.put_working_hours": ADMIN,
    "api-time.get_clock": EVERYONE,  # what time the site thinks it is
    "api-time.advance_clock": ADMIN,
    "api-time.reset_clock": ADMIN,
    "api-time.close_wait": NONE,
    "api-dashboard.get_dashboard": HEAD_ADMIN,
    "api-dashboard.get_figure": HEAD_ADMIN,
    "api-decisions.index": ADMIN,
    "api-decisions.show": ADMIN,
    "api-decisions.publish": ADMIN,
    "api-decisions.test": ADMIN,
    "api-decisions.what_if": ADMIN,
    "api-deployments.deploy": OWNERS,
    "api-deployments.validate": OWNERS,
    "api-camunda7.import_camunda7": OWNERS,
    "api-forms.list_forms": OWNERS,
    "api-forms.get_form": OWNERS,
    "api-forms.put_form": OWNERS,
    "api-forms.preview_form": OWNERS,
    "api-versions.diff": EVERYONE,
    "api-versions.validate_draft": OWNERS,
    "api-versions.list_versions": EVERYONE,
    "api-versions.version_xml": EVERYONE,
    "api-ops.list_incidents": ADMIN,
    "api-ops.get_incident": ADMIN,
    "api-ops.retry_incident": ADMIN,
    "api-ops.list_instances": ADMIN,
    "api-ops.cancel": ADMIN,
    "api-ops.move_token": ADMIN,
    "api-ops.resume": ADMIN,
    "api-ops.retry": ADMIN,
    "api-ops.suspend": ADMIN,
    "api-ops.migrate": ADMIN,
    "api-instances.list_instances": EVERYONE,
    "api-instances.get_instance": REQUEST,
    "api-instances.withdraw": frozenset({"pm1"}),
    "api-processes.list_processes": EVERYONE,
    "api-processes.get_process": PMS,  # its start form: for those who may start it
    "api-processes.start": PMS,
    "api-tasks.list_tasks": EVERYONE,
    "api-tasks.get_task": TASK,
    "api-tasks.claim": CHECK,
    "api-tasks.unclaim": CHECK,
    "api-tasks.complete": CHECK,
    "api-tasks.delegate": CHECK,
    "api-tasks.reassign": ADMIN,
    "api-pmo.list_projects": EVERYONE,
    "api-pmo.get_project": PROJECT_1,
    "api-pmo.list_risks": EVERYONE,
    "api-pmo.get_risk": PROJECT_1,
    "api-pmo.list_escalations": EVERYONE,
    "api-pmo.get_escalation": PROJECT_1,
    "api-pmo.list_lessons": EVERYONE,
    "api-pmo.get_lesson": PROJECT_1,
}


@dataclass(frozen=True)
class Objects:
    """Ids of objects that belong to someone (made once in the template database)."""

    project: int
    risk: int
    escalation: int
    lesson: int
    instance: int
    task: int
    attachment: int
    notification: int
    mail: int
    token: int
    definition: int
    rule: str


def _make_objects(app: Flask) -> Objects:
    """pm1's proposal (with a charter) waiting on the completeness check, sponsor1's
    notification and mail of it, pm1's token, an escalation and an unpublished lesson on
    pm1's project 1, the demo risk of project 1."""
    eng = app.extensions["pmoflow"].engine
    with app.app_context():
        s = db.session
        charter = eng.add_attachment(s, "pm1", "charter.txt", b"Charter of the proposal\n")
        inst = eng.start(s, "project_approval", "pm1",
                         proposal(expected_roi_pct=18.5,
                                  charter={"attachment_id": charter.id, "name": "charter.txt"}))
        now = eng.clock.now()
        with unit_of_work(s):
            esc = records.raise_escalation(s, 1, escalation_data(), actor="pm1", now=now)
            lesson = records.add_lesson(s, 1, {"title": "Draft", "category": "technical",
                                               "tags": "x", "what_went_well": "Kept scope"},
                                        author="team1", now=now)
        risk = records.list_risks(s, project_id=1)[0][0].id
        task = eng.tasks(s, None, _open_of(inst.id))[0][0].id
        note = s.scalar(select(Notification.id).where(Notification.username == "sponsor1",
                                                      Notification.instance_id == inst.id))
        mail = s.scalar(select(OutboxMessage.id).where(OutboxMessage.username == "sponsor1"))
        token = eng.create_token(s, "pm1", name="matrix").token.id
        definition = s.scalar(select(ProcessDefinition.id)
                              .where(ProcessDefinition.key == "project_approval"))
        rule = s.scalar(select(DecisionDefinition.key).limit(1))
        db.session.remove()
        return Objects(1, risk, esc.id, lesson.id, inst.id, task, charter.id, note, mail,
                       token, definition, rule)


def _open_of(instance_id: int):
    from engine.tasks import TaskQuery

    return TaskQuery(scope="all", instance_id=instance_id, status="open")


@pytest.fixture(scope="module")
def matrix_db(pmo_template_db: Path, tmp_path_factory) -> tuple[Path, Objects]:
    """The demo database with the objects above, as a template each identity copies."""
    path = tmp_path_factory.mktemp("matrix") / "matrix.db"
    copy_database(pmo_template_db, path)
    app = make_app(path, ManualClock(START))
    objects = _make_objects(app)
    with app.app_context():
        db.engine.dispose()
    return path, objects


def _values(o: Objects) -> dict[str, object]:
    """What each URL variable is filled with (somebody else's objects)."""
    return {
        "project_id": o.project, "risk_id": o.risk, "escalation_id": o.escalation,
        "lesson_id": o.lesson, "instance_id": o.instance, "task_id": o.task,
        "attachment_id": o.attachment, "notification_id": o.notification,
        "mail_id": o.mail, "token_id": o.token, "definition_id": o.definition,
        "version": o.definition, "key": "project_approval", "username": "pm1",
        "role": "pm", "figure": "cycle_time", "kind": "not-found", "draft_id": 999999,
        "incident_id": 999999, "filename": "css/app.css", "import_id": 999999,
        "mapping_id": 999999,
    }


#: Endpoints whose ``key``/``name`` means something else than a process / user.
NAMES = {"rules": "rule", "api-decisions": "rule", "formdesigner": "form",
         "api-forms": "form", "dashboard.download": "figure", "admin": "user"}


def _url(app: Flask, endpoint: str, o: Objects) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {k: v for k, v in _values(o).items() if k in rule.arguments}
    kind = NAMES.get(endpoint) or NAMES.get(endpoint.split(".")[0])
    if "key" in rule.arguments and kind == "rule":
        values["key"] = o.rule
    if "name" in rule.arguments:
        values["name"] = {"form": "project_approval-start.schema.json",
                          "figure": "cycle_time", "user": "pm1"}.get(kind or "", "pm1")
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


def _methods(app: Flask, endpoint: str) -> list[str]:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def _outcome(response, api: bool, method: str) -> str:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code == 401:
        return "login"
    if response.status_code in (301, 302, 303) and "/login" in response.headers.get(
            "Location", "") and not api:
        return "login"
    if response.status_code == 403:
        return "deny"
    if method != "GET" and response.status_code in (400, 412, 415, 422, 428):
        return "invalid"
    return "allow"


#: Form routes that check their input before the caller (an empty form is refused with a
#: message before anyone asks who sends it): a valid-looking form, so the gate is reached.
BODIES = {
    "inbox.delegate": lambda o: {"to_user": "reviewer1", "reason": "matrix"},
    "requests.close_wait": lambda o: {"reason": "matrix"},
    "ops.migrate": lambda o: {"instance_ids": str(o.instance),
                              "definition_id": str(o.definition), "reason": "matrix"},
    "library.move": lambda o: {"instance": str(o.instance), "definition_id": str(o.definition),
                               "reason": "matrix"},
}


def _request(client: FlaskClient, method: str, url: str, token: str | None,
             body: dict[str, str] | None = None):
    api = url.startswith("/api/")
    if method == "GET":
        return client.get(url)
    if api:
        headers = {"X-CSRFToken": token} if token else {}
        return client.open(url, method=method, json={}, headers=headers)
    data = dict(body or {})
    if token:
        data["csrf_token"] = token
    return client.open(url, method=method, data=data)


def _expected(endpoint: str, who: str) -> set[str]:
    """The outcomes that agree with the table.  ``invalid`` (the empty body refused before
    anyone is asked who the caller is: nothing was done) agrees with allow and deny alike;
    the routes' own tests check the role with valid input."""
    allowed = MATRIX[endpoint]
    if allowed == PUBLIC:
        return {"allow", "invalid", "login"}  # e.g. a failed sign-in shows the form again
    if who == ANON:
        return {"login"}
    assert isinstance(allowed, frozenset)
    if who not in allowed:
        return {"deny", "invalid"}
    if endpoint in SESSION_ENDERS:  # done: the caller is signed out (or already was)
        return {"allow", "invalid", "login"}
    return {"allow", "invalid"}


def _app_for(path: Path, tmp: Path) -> Flask:
    copy_database(path, tmp / "m.db")
    return make_app(tmp / "m.db", ManualClock(START))


#: Endpoints that end the caller's session: asked last, in this order.
SESSION_ENDERS = ("admin.sign_out_everywhere", "account.sign_out_everywhere", "auth.logout")


def _endpoints(app: Flask) -> list[str]:
    """Every endpoint, those that end the session the others need last."""
    found = sorted({r.endpoint for r in app.url_map.iter_rules()})
    return sorted(found, key=lambda e: SESSION_ENDERS.index(e) + 1 if e in SESSION_ENDERS
                  else 0)


def test_every_route_is_in_the_table(pmo_app: Flask):
    """A new route must say who may use it (add it to MATRIX)."""
    routes = {r.endpoint for r in pmo_app.url_map.iter_rules()}
    assert routes - set(MATRIX) == set(), "routes missing from MATRIX"
    assert set(MATRIX) - routes == set(), "MATRIX names routes that no longer exist"


def _check(app: Flask, objects: Objects, who: str) -> None:
    """Ask every route as ``who``; fail with every cell that disagrees with the table."""
    client = app.test_client()
    token = csrf_token(client, "/login")
    if who != ANON:
        assert login(client, who).status_code == 302
        token = csrf_token(client, "/tasks")
    wrong = []
    for endpoint in _endpoints(app):
        url = _url(app, endpoint, objects)
        for method in _methods(app, endpoint):
            body = BODIES[endpoint](objects) if endpoint in BODIES else None
            response = _request(client, method, url, token, body)
            got = _outcome(response, url.startswith("/api/"), method)
            response.close()
            want = _expected(endpoint, who)
            if got not in want:
                wrong.append(f"{who}: {method} {url} ({endpoint}): {got} "
                             f"({response.status_code}), expected {sorted(want)}")
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("who", [ANON, *USERS])
def test_authorization_matrix(who: str, matrix_db, tmp_path: Path):
    """Every route x this identity answers as the table says (with others' object ids)."""
    path, objects = matrix_db
    app = _app_for(path, tmp_path)
    try:
        _check(app, objects, who)
    finally:
        with app.app_context():
            db.engine.dispose()


def _pg_matrix_app(url: str, tmp: Path) -> tuple[Flask, Objects]:
    """What ``pmoflow init --demo`` makes, in the PostgreSQL schema of ``url``, with the
    matrix's objects: the same steps as the SQLite template, so the same ids."""
    config = Config.from_env({}, database_url=url, instance_dir=tmp, secret_key="test-secret",
                             testing=True, run_worker_in_server=False, rate_limits=False)
    runtime = build(config, ManualClock(START))
    seed.upgrade_schema(runtime)
    with runtime.sessions() as session:
        seed.seed_demo(runtime, session, log=lambda _line: None)
    runtime.db.dispose()
    app = create_app(config, clock=ManualClock(START))
    objects = _make_objects(app)
    assert None not in astuple(objects), objects
    return app, objects


@pytest.mark.parametrize("who", [ANON, *USERS])
def test_authorization_matrix_on_postgres(who: str, matrix_db, tmp_path: Path):
    """The same table on PostgreSQL: a fresh schema per identity (a state-changing request
    of one identity, e.g. reviewer1 claiming the check, cannot change another's answers)."""
    require_postgres()
    with pg_schema() as url:
        app, objects = _pg_matrix_app(url, tmp_path)
        try:
            assert objects == matrix_db[1]  # the same objects as on SQLite
            _check(app, objects, who)
        finally:
            dispose(app)


def test_every_state_changing_route_refuses_a_request_without_csrf(matrix_db, tmp_path):
    """POST/PUT/PATCH/DELETE without the CSRF token: 400 for a form, a 403 ``csrf``
    problem for the API called with the browser's session; nothing is done."""
    path, objects = matrix_db
    app = _app_for(path, tmp_path)
    try:
        client = app.test_client()
        login(client, "admin")
        checked = 0
        for endpoint in _endpoints(app):
            url = _url(app, endpoint, objects)
            for method in _methods(app, endpoint):
                if method == "GET":
                    continue
                response = _request(client, method, url, None)
                response.close()
                if url.startswith("/api/"):
                    assert response.status_code == 403, (method, url)
                    assert response.get_json()["type"].endswith("csrf"), (method, url)
                else:
                    assert response.status_code == 400, (method, url, response.status_code)
                checked += 1
        assert checked > 80
        with app.app_context():  # nothing happened: e.g. pm1's token is still there
            assert app.extensions["pmoflow"].engine.authenticate_token is not None
            from engine.store.models import ApiToken

            assert db.session.get(ApiToken, objects.token).revoked_at is None
    finally:
        with app.app_context():
            db.engine.dispose()
