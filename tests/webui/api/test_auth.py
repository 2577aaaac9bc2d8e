"""Who may call the API: tokens (valid, unknown, expired, revoked, inactive user), the
browser session with and without its CSRF header, and what anonymous callers get."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.store.models import ApiToken, User
from engine.store.uow import unit_of_work
from tests.webui.api.conftest import assert_problem, make_token
from tests.webui.conftest import csrf_token, login
from webui.extensions import db


def test_no_credentials_is_401_problem_with_bearer_challenge_not_a_redirect(client):
    response = client.get("/api/v1/tasks")
    body = assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert body["code"] == "auth.required"
    assert client.post("/api/v1/tasks/1/claim").status_code == 401


def test_a_token_authenticates_as_its_owner(app, client):
    token = make_token(app, "pm1")
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    me = response.get_json()
    assert me["username"] == "pm1" and me["auth"] == "token" and "pm" in me["roles"]


def test_unknown_malformed_and_non_bearer_credentials_are_401(app, client):
    token = make_token(app, "pm1")
    for header in (f"Bearer {token[:-1]}x", "Bearer pmo_short", "Bearer", f"Basic {token}",
                   f"Token {token}", "Bearer " + "pmo_" + "a" * 300):
        response = client.get("/api/v1/me", headers={"Authorization": header})
        body = assert_problem(response, 401, "unauthorized")
        assert body["code"] == "token.invalid"
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_expired_token_is_401(app, client, web_clock):
    token = make_token(app, "pm1", expires_in=timedelta(days=1))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    web_clock.advance(timedelta(days=1, seconds=1))
    assert_problem(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_revoked_token_is_401(app, client):
    token = make_token(app, "pm1")
    headers = {"Authorization": f"Bearer {token}"}
    mine = client.get("/api/v1/tokens", headers=headers).get_json()["items"]
    assert [t["status"] for t in mine] == ["active"] and token.startswith(mine[0]["prefix"])
    revoked = client.delete(f"/api/v1/tokens/{mine[0]['id']}", headers=headers)
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    assert_problem(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_token_of_a_deactivated_user_is_401(app, client):
    token = make_token(app, "pm1")
    with app.app_context(), unit_of_work(db.session):
        db.session.scalar(select(User).where(User.username == "pm1")).active = False
    assert_problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}),
                   401, "unauthorized")


def test_last_used_is_written_at_most_once_a_minute(app, client, web_clock):
    token = make_token(app, "pm1")
    headers = {"Authorization": f"Bearer {token}"}

    def last_used():
        with app.app_context():
            return db.session.scalar(select(ApiToken.last_used_at))

    client.get("/api/v1/me", headers=headers)
    first = last_used()
    assert first == web_clock.now()
    web_clock.advance(timedelta(seconds=30))
    client.get("/api/v1/me", headers=headers)
    assert last_used() == first
    web_clock.advance(timedelta(seconds=31))
    client.get("/api/v1/me", headers=headers)
    assert last_used() == web_clock.now()


def test_only_the_hash_and_a_short_prefix_are_stored(app):
    token = make_token(app, "pm1")
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert token not in (row.token_hash, row.prefix, row.name)
        assert len(row.prefix) == 12 and token.startswith(row.prefix)
        assert len(row.token_hash) == 64


def test_browser_session_reads_without_csrf_but_writes_only_with_it(client, arrange):
    inst = arrange.start()
    task = arrange.task(inst.id)
    login(client, "reviewer1")
    me = client.get("/api/v1/me").get_json()
    assert me["username"] == "reviewer1" and me["auth"] == "session"
    refused = client.post(f"/api/v1/tasks/{task.id}/claim")
    assert_problem(refused, 403, "csrf")
    assert arrange.task(inst.id).assignee is None
    bad = client.post(f"/api/v1/tasks/{task.id}/claim", headers={"X-CSRFToken": "nope"})
    assert_problem(bad, 403, "csrf")
    token = csrf_token(client, "/tasks")
    claimed = client.post(f"/api/v1/tasks/{task.id}/claim", headers={"X-CSRFToken": token})
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "reviewer1"


def test_a_bearer_token_needs_no_csrf_even_with_a_session_cookie(app, client, arrange):
    inst = arrange.start()
    task = arrange.task(inst.id)
    login(client, "pm1")
    token = make_token(app, "reviewer1")
    response = client.post(f"/api/v1/tasks/{task.id}/claim",
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.get_json()["assignee"] == "reviewer1"


def test_html_pages_keep_their_login_redirect_and_html_errors(client):
    assert client.get("/tasks").status_code == 302
    login(client, "pm1")
    response = client.get("/no/such/page")
    assert response.status_code == 404 and response.mimetype == "text/html"
