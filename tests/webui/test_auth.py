"""Sign-in, sign-out, CSRF, error pages."""

from __future__ import annotations

from tests.conftest import statements_on
from tests.webui.conftest import csrf_token, login
from webui.extensions import db


def test_pages_need_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_sign_in_and_out(client):
    response = login(client, "pm1")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Li Wei (PM)" in home
    token = csrf_token(client, "/")
    out = client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_without_saying_which(client):
    response = login(client, "pm1", "nope")
    assert response.status_code == 401
    assert "Wrong username or password." in response.get_data(as_text=True)
    response = login(client, "nobody", "demo")
    assert "Wrong username or password." in response.get_data(as_text=True)


def test_post_without_csrf_is_rejected(client):
    response = client.post("/login", data={"username": "pm1", "password": "demo"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_open_redirect_is_not_followed(client):
    token = csrf_token(client)
    response = client.post("/login?next=//evil.example/x",
                           data={"username": "pm1", "password": "demo", "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_404_page_in_app_style(client):
    login(client, "pm1")
    response = client.get("/no/such/page")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert 'data-testid="error-title"' in body and "PMOflow" in body


def test_session_cookie_flags(client):
    response = login(client, "pm1")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_healthz_and_livez(client):
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
    assert client.get("/livez").get_json() == {"status": "ok"}


def test_a_page_reads_its_user_once_and_an_ended_session_is_signed_out(app, client):
    """The request's first statement brings the signed-in user with the install's status
    (no second read of the user); once the user's sessions are ended, that same read
    finds the session dead and the next page asks to sign in."""
    login(client, "pm1")
    with app.app_context():
        bind = db.engine
    with statements_on(bind) as seen:
        page = client.get("/tasks")
    assert page.status_code == 200 and "Li Wei" in page.get_data(as_text=True)
    users = [s for s in seen if "FROM users WHERE users.id" in s]
    assert len(users) == 1 and "install_settings" in users[0], users
    assert not [s for s in seen if s.startswith("SELECT install_settings")]
    with app.app_context():
        app.extensions["pmoflow"].engine.sign_out_everywhere(db.session, "admin", "pm1")
    gone = client.get("/tasks")
    assert gone.status_code == 302 and "/login" in gone.headers["Location"]
