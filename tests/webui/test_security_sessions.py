"""Sign-in limits, revocable sessions, cookies and security headers, as a browser (or an
attacker with a captured cookie) meets them."""

from __future__ import annotations

import contextlib
import time as real_time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.clock import ManualClock
from pmoflow.app import create_app
from tests.webui.conftest import START, app_config, copy_database, csrf_token, login, post
from tests.webui.pg_apps import dispose, pg_app, pg_schema, require_postgres
from webui.extensions import db

LIMITED = {"rate_limits": True, "sign_in_limit_account": "5 per minute",
           "sign_in_limit_address": "20 per minute", "token_limit": "2 per hour",
           "api_limit": "3 per minute"}


class LimiterClock:
    """Stands in for the ``time`` module where the rate limits read the time, so a test
    can let the limit window pass without waiting."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return real_time.time() + self.offset

    def __getattr__(self, name: str):
        return getattr(real_time, name)


@pytest.fixture
def limiter_clock(monkeypatch) -> LimiterClock:
    import flask_limiter._extension
    import limits.storage.memory
    import limits.strategies

    import webui.security

    fake = LimiterClock()
    for module in (limits.storage.memory, limits.strategies, flask_limiter._extension,
                   webui.security):
        monkeypatch.setattr(module, "time", fake)
    return fake


def build(tmp_path, template_db, **overrides) -> Flask:
    copy_database(template_db, tmp_path / "web.db")
    config = app_config(tmp_path / "web.db", **overrides)
    return create_app(config, clock=ManualClock(START))


@pytest.fixture(params=["sqlite", "postgres"])
def make(request, tmp_path, template_db) -> Iterator[Callable[..., Flask]]:
    """Builds the web app (with the given config overrides) on SQLite or on PostgreSQL:
    sign-in reads the users and writes the audit in the database under test."""
    made: list[Flask] = []
    with contextlib.ExitStack() as stack:
        if request.param == "postgres":
            require_postgres()
            url = stack.enter_context(pg_schema())

        def factory(**overrides: object) -> Flask:
            assert not made, "one app per test"
            if request.param == "sqlite":
                app = build(tmp_path, template_db, **overrides)
            else:
                app = pg_app(url, tmp_path, ManualClock(START), **overrides)
            made.append(app)
            return app

        try:
            yield factory
        finally:
            for app in made:
                dispose(app)


@pytest.fixture
def limited(make, limiter_clock) -> Flask:
    return make(**LIMITED)


def sign_in(client: FlaskClient, username: str, password: str, remember: bool = False):
    token = csrf_token(client)
    data = {"username": username, "password": password, "csrf_token": token}
    if remember:
        data["remember"] = "1"
    return client.post("/login", data=data)


def audit(app: Flask, username: str) -> list[tuple[str, dict]]:
    with app.app_context():
        changes = app.extensions["pmoflow"].engine.admin_changes(db.session, "admin",
                                                                 target=username)
        return [(c.kind, c.detail["after"]) for c in reversed(changes)]


# --------------------------------------------------------------------- rate limits


def test_fifty_wrong_passwords_are_cut_off_and_the_window_passes(limited, limiter_clock):
    client = limited.test_client()
    answers = [sign_in(client, "pm1", f"guess-{i}") for i in range(50)]
    assert [a.status_code for a in answers] == [401] * 5 + [429] * 45
    refused = answers[-1]
    seconds = int(refused.headers["Retry-After"])
    assert 1 <= seconds <= 60
    page = refused.get_data(as_text=True)
    assert f"Too many attempts. Wait {seconds} seconds, then try again." in page
    assert 'name="username" value="pm1"' in page  # the form is still there
    # The right password inside the window is refused too, and no password was checked
    # for any refused attempt: the audit has the five failures only.
    assert sign_in(client, "pm1", "demo").status_code == 429
    assert [k for k, _d in audit(limited, "pm1")] == ["user.sign_in_failed"] * 5
    limiter_clock.offset += 61
    answer = sign_in(client, "pm1", "demo")
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    assert audit(limited, "pm1")[-1] == ("user.signed_in", {"address": "127.0.0.1"})


def test_the_limit_is_per_account_and_case_does_not_escape_it(limited):
    client = limited.test_client()
    for name in ("pm1", "PM1", " pm1 ", "Pm1", "pM1"):
        assert sign_in(client, name, "wrong").status_code == 401
    assert sign_in(client, "pm1", "wrong").status_code == 429
    assert sign_in(client, "pm2", "demo").status_code == 302  # another account is fine


def test_the_limit_per_address_stops_guessing_across_accounts(limited):
    client = limited.test_client()
    codes = [sign_in(client, f"user{i}", "wrong").status_code for i in range(21)]
    assert codes == [401] * 20 + [429]
    assert sign_in(client, "pm2", "demo").status_code == 429


def test_successful_sign_ins_do_not_count(limited):
    client = limited.test_client()
    for _ in range(8):
        assert sign_in(client, "pm1", "demo").status_code == 302
        assert post(client, "/logout").status_code == 302


def test_unknown_accounts_get_the_same_answer_as_wrong_passwords(limited):
    client = limited.test_client()
    known = sign_in(client, "pm1", "wrong")
    unknown = sign_in(client, "no-such-person", "wrong")
    assert known.status_code == unknown.status_code == 401
    error = '<div class="alert alert-danger" role="alert" data-testid="login-error">'
    assert (known.get_data(as_text=True).split(error)[1].split("</div>")[0]
            == unknown.get_data(as_text=True).split(error)[1].split("</div>")[0]
            == "Wrong username or password.")
    assert audit(limited, "no-such-person") == [
        ("user.sign_in_failed", {"address": "127.0.0.1", "why": "unknown"})]


def test_the_429_is_in_chinese_for_chinese_readers(limited):
    client = limited.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    for _ in range(5):
        sign_in(client, "pm1", "wrong")
    page = sign_in(client, "pm1", "wrong").get_data(as_text=True)
    assert "尝试次数过多" in page


def test_the_api_answers_429_as_problem_json_with_retry_after(limited):
    with limited.app_context():
        token = limited.extensions["pmoflow"].engine.create_token(db.session, "pm1").secret
    client = limited.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    codes = [client.get("/api/v1/me", headers=headers).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    refused = client.get("/api/v1/me", headers=headers)
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    body = refused.get_json()
    seconds = int(refused.headers["Retry-After"])
    assert body["status"] == 429 and body["retry_after"] == seconds
    assert body["type"].endswith("too-many-requests")
    assert f"Wait {seconds} seconds" in body["detail"]
    # Calls without a token are counted per address, apart from the token's.
    assert client.get("/api/v1/me").status_code == 401


def test_token_creation_is_limited_per_user(limited):
    client = limited.test_client()
    login(client, "pm1")
    made = [post(client, "/account/tokens", {"name": f"t{i}", "expires": "30"},
                 token_from="/account/tokens") for i in range(3)]
    assert [m.status_code for m in made[:2]] == [200, 200]
    assert made[2].status_code == 429 and int(made[2].headers["Retry-After"]) > 0
    assert "Too many attempts" in made[2].get_data(as_text=True)
    with limited.app_context():
        names = [t.name for t in limited.extensions["pmoflow"].engine.api_tokens(
            db.session, "pm1")]
    assert sorted(names) == ["t0", "t1"]


def test_token_creation_through_the_api_is_limited_per_user(make, limiter_clock):
    app = make(**{**LIMITED, "api_limit": "100 per minute"})
    with app.app_context():
        engine = app.extensions["pmoflow"].engine
        first = engine.create_token(db.session, "pm1").secret
        other = engine.create_token(db.session, "pm2").secret
    client = app.test_client()
    codes = [client.post("/api/v1/tokens", json={"name": f"api{i}"},
                         headers={"Authorization": f"Bearer {first}"}).status_code
             for i in range(3)]
    assert codes == [201, 201, 429]
    # Per user: someone else still may.
    assert client.post("/api/v1/tokens", json={"name": "x"},
                       headers={"Authorization": f"Bearer {other}"}).status_code == 201
    limiter_clock.offset += 3601
    assert client.post("/api/v1/tokens", json={"name": "later"},
                       headers={"Authorization": f"Bearer {first}"}).status_code == 201


# --------------------------------------------------------------------- lockout


def test_lockout_and_admin_unlock(make):
    app = make(lockout_after=3)
    client = app.test_client()
    for _ in range(3):
        answer = sign_in(client, "pm1", "wrong")
    assert "After 3 failed attempts in a row an account is locked" in answer.get_data(
        as_text=True)
    locked = sign_in(client, "pm1", "demo")
    unknown = sign_in(client, "nobody", "demo")
    assert locked.status_code == unknown.status_code == 401
    assert locked.get_data(as_text=True).count("Wrong username or password.") == 1
    admin = app.test_client()
    login(admin, "admin")
    page = admin.get("/admin/users/pm1").get_data(as_text=True)
    assert 'data-testid="user-locked"' in page and 'data-testid="unlock"' in page
    assert post(admin, "/admin/users/pm1/unlock", token_from="/admin/users/pm1"
                ).status_code == 302
    assert 'data-testid="user-locked"' not in admin.get("/admin/users/pm1").get_data(
        as_text=True)
    assert sign_in(client, "pm1", "demo").status_code == 302
    kinds = [k for k, _d in audit(app, "pm1")]
    assert "user.locked" in kinds and kinds[-2:] == ["user.unlocked", "user.signed_in"]
    # Only an administrator unlocks.
    assert post(client, "/admin/users/pm1/unlock", token_from="/tasks").status_code == 403


# --------------------------------------------------------------------- sessions


@pytest.fixture
def any_app(make) -> Flask:
    """The web app (limits off) on SQLite and on PostgreSQL."""
    return make()


def captured(app: Flask, username: str = "pm1") -> tuple[str, str]:
    """Sign in with "Keep me signed in" and return the session and remember-me cookies."""
    client = app.test_client()
    assert sign_in(client, username, "demo", remember=True).status_code == 302
    return client.get_cookie("session").value, client.get_cookie("remember_token").value


def works(app: Flask, name: str, value: str) -> bool:
    """True if a fresh browser holding only this cookie is signed in."""
    client = app.test_client()
    client.set_cookie(name, value)
    return client.get("/tasks").status_code == 200


def end_sessions(app: Flask, how: str) -> None:
    if how == "sign-out":
        client = app.test_client()
        sign_in(client, "pm1", "demo")
        assert post(client, "/logout").status_code == 302
        return
    if how == "self-everywhere":
        client = app.test_client()
        sign_in(client, "pm1", "demo")
        answer = post(client, "/account/sign-out-everywhere", token_from="/account/tokens")
        assert answer.status_code == 302 and answer.headers["Location"] == "/login"
        return
    admin = app.test_client()
    login(admin, "admin")
    paths = {"password": [("/admin/users/pm1/password", {"password": "new-password-1"})],
             "deactivation": [("/admin/users/pm1/active", {"active": "0"}),
                              ("/admin/users/pm1/active", {"active": "1"})],
             "admin-everywhere": [("/admin/users/pm1/sign-out-everywhere", {})]}[how]
    for path, data in paths:
        assert post(admin, path, data, token_from="/admin/users/pm1").status_code == 302


@pytest.mark.parametrize("how", ["sign-out", "password", "deactivation", "admin-everywhere",
                                 "self-everywhere"])
def test_captured_cookies_stop_working(any_app, how):
    session_cookie, remember_cookie = captured(any_app)
    assert works(any_app, "session", session_cookie)
    assert works(any_app, "remember_token", remember_cookie)
    end_sessions(any_app, how)
    assert not works(any_app, "session", session_cookie)
    assert not works(any_app, "remember_token", remember_cookie)
    # Other people's sessions are untouched (sign-out everywhere is per user).
    other_session, _other_remember = captured(any_app, "pm2")
    assert works(any_app, "session", other_session)


def test_a_session_from_before_the_upgrade_no_longer_loads(any_app):
    """A cookie that names the user as plain "id" (as before) is refused."""
    client = any_app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = "1"
        sess["_fresh"] = True
    assert client.get("/tasks").status_code == 302


def test_a_signed_out_user_keeps_other_users_working(any_app):
    pm2 = any_app.test_client()
    sign_in(pm2, "pm2", "demo")
    end_sessions(any_app, "sign-out")
    assert pm2.get("/tasks").status_code == 200


def test_a_deactivated_users_api_token_stops_working(any_app):
    with any_app.app_context():
        token = any_app.extensions["pmoflow"].engine.create_token(db.session, "pm1").secret
    client = any_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    admin = any_app.test_client()
    login(admin, "admin")
    post(admin, "/admin/users/pm1/active", {"active": "0"}, token_from="/admin/users/pm1")
    assert client.get("/api/v1/me", headers=headers).status_code == 401


# --------------------------------------------------------------------- cookies, headers


def cookie_header(response, name: str) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    return header


def test_remember_me_lasts_as_configured(tmp_path, template_db):
    app = build(tmp_path, template_db, remember_days=3)
    answer = sign_in(app.test_client(), "pm1", "demo", remember=True)
    header = cookie_header(answer, "remember_token")
    expires = parsedate_to_datetime(header.split("Expires=")[1].split(";")[0])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=3))) < timedelta(minutes=5)


def test_remember_me_defaults_to_fourteen_days(tmp_path, template_db):
    answer = sign_in(build(tmp_path, template_db).test_client(), "pm1", "demo", remember=True)
    header = cookie_header(answer, "remember_token")
    expires = parsedate_to_datetime(header.split("Expires=")[1].split(";")[0])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=14))) < timedelta(minutes=5)


@pytest.mark.parametrize("tls", [True, False])
def test_secure_cookies_and_hsts_only_with_tls(tmp_path, template_db, tls):
    app = build(tmp_path, template_db, tls=tls)
    client = app.test_client()
    if tls:  # a browser sends Secure cookies back over HTTPS only
        client.environ_base["wsgi.url_scheme"] = "https"
        client.environ_base["HTTP_REFERER"] = "https://localhost/login"  # CSRF over HTTPS
    answer = sign_in(client, "pm1", "demo", remember=True)
    for name in ("session", "remember_token"):
        attributes = [a.strip().lower() for a in cookie_header(answer, name).split(";")]
        assert "httponly" in attributes and "samesite=lax" in attributes
        assert ("secure" in attributes) is tls
    for response in (answer, client.get("/login"), client.get("/tasks"),
                     client.get("/api/v1/me")):
        hsts = response.headers.get("Strict-Transport-Security")
        assert hsts == ("max-age=31536000" if tls else None)


def test_tls_comes_from_the_environment():
    from pmoflow.config import Config

    on = Config.from_env({"PMOFLOW_TLS": "1", "SECRET_KEY": "k"})
    off = Config.from_env({"SECRET_KEY": "k"})
    assert (on.tls, off.tls, off.remember_days, off.lockout_after) == (True, False, 14.0, 0)
    with pytest.raises(SystemExit, match="PMOFLOW_SIGN_IN_LIMIT_ACCOUNT"):
        Config.from_env({"SECRET_KEY": "k", "PMOFLOW_SIGN_IN_LIMIT_ACCOUNT": "lots"})
    with pytest.raises(SystemExit, match="PMOFLOW_TLS"):
        Config.from_env({"SECRET_KEY": "k", "PMOFLOW_TLS": "maybe"})


@pytest.mark.parametrize("path", ["/login", "/tasks", "/no-such-page", "/api/v1/me",
                                  "/api/v1/openapi.json"])
def test_security_headers_on_every_kind_of_answer(tmp_path, template_db, path):
    client = build(tmp_path, template_db).test_client()
    login(client, "pm1")
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "object-src 'none'" in csp and "'unsafe-eval'" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
