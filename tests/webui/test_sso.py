"""Single sign-on against a real (small) OpenID provider on localhost: the flow is driven
with the test client, the provider's redirects followed by hand."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.clock import ManualClock
from engine.store.models import AuditEvent
from pmoflow.app import create_app
from tests.webui.conftest import app_config, copy_database, csrf_token, login, post
from tests.webui.oidc_provider import CLIENT_ID, CLIENT_SECRET, TestProvider
from tests.webui.pg_apps import dispose, pg_app, pg_schema, require_postgres
from webui.extensions import db
from webui.settings import OidcSettings


@pytest.fixture
def provider() -> Iterator[TestProvider]:
    running = TestProvider().start()
    yield running
    running.stop()


def oidc_settings(issuer: str) -> OidcSettings:
    return OidcSettings(issuer=issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                        provider_name="Corp ID", timeout=5)


def sso_app(tmp_path: Path, clock: ManualClock, template: Path, issuer: str) -> Flask:
    copy_database(template, tmp_path / "web.db")
    config = app_config(tmp_path / "web.db")
    return create_app(config.__class__(**{**config.__dict__, "oidc": oidc_settings(issuer)}),
                      clock=clock)


@pytest.fixture(params=["sqlite", "postgres"])
def app(request, tmp_path, web_clock, template_db, provider) -> Iterator[Flask]:
    """The web app configured for single sign-on at the test provider, on SQLite and on
    PostgreSQL (the first sign-in creates the user and writes the audit there)."""
    if request.param == "sqlite":
        application = sso_app(tmp_path, web_clock, template_db, provider.issuer)
        yield application
        dispose(application)
        return
    require_postgres()
    with pg_schema() as url:
        application = pg_app(url, tmp_path, web_clock, oidc=oidc_settings(provider.issuer))
        try:
            yield application
        finally:
            dispose(application)


def engine_of(app: Flask):
    return app.extensions["pmoflow"].engine


def map_group(app: Flask, group: str, role: str) -> None:
    with app.app_context():
        engine_of(app).add_sso_mapping(db.session, "admin", group, role)


def user(app: Flask, name: str):
    with app.app_context():
        return engine_of(app).user(db.session, name)


@dataclass(frozen=True)
class Event:
    reason: str | None
    detail: dict


def events(app: Flask, kind: str) -> list[Event]:
    with app.app_context():
        found = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kind)
                                   .order_by(AuditEvent.id))
        return [Event(e.reason, e.detail) for e in found]


def to_provider(client: FlaskClient, provider: TestProvider, start: str = "/login/sso") -> str:
    """Start signing in; follow the provider's redirect; the callback URL it sends back."""
    began = client.get(start)
    assert began.status_code == 302, began.get_data(as_text=True)
    assert began.headers["Location"].startswith(f"{provider.issuer}/authorize?")
    answer = requests.get(began.headers["Location"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    return answer.headers["Location"]


def back_to_app(client: FlaskClient, callback: str, **headers: str):
    parts = urlsplit(callback)
    assert parts.path == "/login/sso/callback"
    return client.get(f"{parts.path}?{parts.query}", headers=headers)


def sign_in(client: FlaskClient, provider: TestProvider, start: str = "/login/sso", **h: str):
    return back_to_app(client, to_provider(client, provider, start), **h)


def signed_in_as(client: FlaskClient) -> str | None:
    """The signed-in user id, or None when the task list sends us to sign in.

    The session keeps ``id:session version``; the id part is returned.
    """
    page = client.get("/tasks")
    if page.status_code != 200:
        return None
    with client.session_transaction() as s:
        kept = s.get("_user_id")
    return kept.split(":", 1)[0] if kept else None


# --------------------------------------------------------------------------- the flow


def test_first_sign_in_creates_the_user_with_mapped_roles(app, client, provider):
    map_group(app, "pmo-reviewers", "pmo_reviewer")
    done = sign_in(client, provider, "/login/sso?next=/tasks")
    assert done.status_code == 302 and done.headers["Location"] == "/tasks"
    made = user(app, "lwei")
    assert (made.display_name, made.email, made.roles, made.active) == (
        "Li Wei", "lwei@corp.example", ("pmo_reviewer",), True)
    assert signed_in_as(client) == str(made.id)
    # PKCE (S256), state and nonce went out, and the verifier came back to the token endpoint
    asked = provider.authorize_params
    assert asked["code_challenge_method"] == "S256" and asked["code_challenge"]
    assert asked["nonce"] and asked["state"] and "openid" in asked["scope"].split()
    assert provider.token_params["code_verifier"]
    [event] = events(app, "sso.signed_in")
    assert event.detail["after"]["roles"] == ["pmo_reviewer"]


def test_a_mapping_changed_on_the_admin_page_applies_at_the_next_sign_in(app, provider):
    sso_user = app.test_client()
    assert sign_in(sso_user, provider).status_code == 302
    assert user(app, "lwei").roles == ()
    admin = app.test_client()
    login(admin, "admin")
    page = admin.get("/admin/sso").get_data(as_text=True)
    assert 'data-testid="sso-unmapped-group" data-group="all-staff"' in page
    assert 'data-group="pmo-reviewers"' in page
    assert "/login/sso/callback" in page  # the redirect URL to register
    added = post(admin, "/admin/sso/mappings", {"group": "pmo-reviewers", "role": "finance"},
                 token_from="/admin/sso")
    assert added.status_code == 302
    page = admin.get("/admin/sso").get_data(as_text=True)
    assert 'data-testid="sso-mapping" data-group="pmo-reviewers" data-role="finance"' in page
    assert 'data-testid="sso-unmapped-group" data-group="pmo-reviewers"' not in page
    assert 'data-kind="sso_mapping.added"' in page
    again = app.test_client()
    assert sign_in(again, provider).status_code == 302
    assert user(app, "lwei").roles == ("finance",)
    # removed on the page: gone at the following sign-in
    with app.app_context():
        [row] = engine_of(app).sso_admin_page(db.session, "admin").mappings
    assert post(admin, f"/admin/sso/mappings/{row.id}/remove",
                token_from="/admin/sso").status_code == 302
    assert sign_in(app.test_client(), provider).status_code == 302
    assert user(app, "lwei").roles == ()


def test_the_admin_page_names_bad_fields_and_is_for_administrators_only(app, provider):
    admin = app.test_client()
    login(admin, "admin")
    bad = post(admin, "/admin/sso/mappings", {"group": " ", "role": "wizard"},
               token_from="/admin/sso")
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'data-error-for="group"' in html and 'data-error-for="role"' in html
    pm = app.test_client()
    login(pm, "pm1")
    assert pm.get("/admin/sso").status_code == 403
    assert 'data-testid="admin-sso-link"' in admin.get("/admin").get_data(as_text=True)


def test_the_sign_in_page_offers_the_provider_and_local_sign_in_still_works(app, client):
    page = client.get("/login").get_data(as_text=True)
    assert 'data-testid="sso-sign-in"' in page and "Sign in with Corp ID" in page
    zh = client.get("/login", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "使用 Corp ID 登录" in zh
    assert login(client, "pm1").status_code == 302
    assert signed_in_as(client) is not None


# --------------------------------------------------------------------------- refused


def test_a_wrong_state_is_refused(app, client, provider):
    callback = to_provider(client, provider)
    parts = urlsplit(callback)
    query = parse_qs(parts.query)
    forged = f"{parts.path}?code={query['code'][0]}&state=forged"
    answer = client.get(forged)
    assert answer.status_code == 400
    assert 'data-kind="bad_state"' in answer.get_data(as_text=True)
    assert signed_in_as(client) is None
    # a callback in a browser that never started a sign-in
    stranger = app.test_client()
    assert back_to_app(stranger, callback).status_code == 400
    assert [e.reason for e in events(app, "sso.failed")] == ["sso.bad_state"] * 2


@pytest.mark.parametrize("tweak", [
    {"aud": "someone-else"},
    {"aud": "someone-else", "azp": CLIENT_ID},
    {"exp": 1_000_000_000, "iat": 999_999_000},
    {"iss": "https://impostor.example"},
    {"nonce": "replayed"},
    "unknown-key",
], ids=["wrong-audience", "wrong-audience-with-azp", "expired", "wrong-issuer", "wrong-nonce", "bad-signature"])
def test_a_token_that_fails_validation_is_refused(app, client, provider, tweak):
    if tweak == "unknown-key":
        provider.sign_with_unknown_key = True
    else:
        provider.tweak = tweak
    answer = sign_in(client, provider, **{"Accept-Language": "zh"})
    assert answer.status_code == 401
    html = answer.get_data(as_text=True)
    assert 'data-kind="invalid_token"' in html and "无法验证" in html
    assert signed_in_as(client) is None
    with app.app_context():
        assert not [u for u in engine_of(app).users(db.session, "admin") if u.username == "lwei"]
    assert [e.reason for e in events(app, "sso.failed")] == ["sso.invalid_token"]


def test_missing_claims_are_refused_with_the_claim_named(app, client, provider):
    provider.tweak = {"preferred_username": None, "email": None}
    answer = sign_in(client, provider)
    assert answer.status_code == 401
    html = answer.get_data(as_text=True)
    assert 'data-kind="claims_missing"' in html and "preferred_username" in html
    assert signed_in_as(client) is None


def test_the_provider_saying_no_is_a_clear_page(app, client, provider):
    provider.authorize_error = "access_denied"
    answer = sign_in(client, provider)
    assert answer.status_code == 400
    assert "access_denied" in answer.get_data(as_text=True)
    assert [e.reason for e in events(app, "sso.failed")] == ["sso.refused"]


def test_a_deactivated_user_is_refused(app, client, provider):
    assert sign_in(client, provider).status_code == 302
    with app.app_context():
        engine_of(app).set_user_active(db.session, "admin", "lwei", False, "left")
    later = app.test_client()
    answer = sign_in(later, provider, **{"Accept-Language": "zh"})
    assert answer.status_code == 403
    html = answer.get_data(as_text=True)
    assert 'data-kind="inactive"' in html and "已停用" in html
    assert 'data-testid="sso-retry"' not in html
    assert signed_in_as(later) is None
    assert len(events(app, "sso.refused")) == 1


def test_an_unreachable_provider_is_a_clear_page(tmp_path, web_clock, template_db, provider):
    gone = provider.issuer
    provider.stop()
    application = sso_app(tmp_path, web_clock, template_db, gone)
    try:
        client = application.test_client()
        for lang, words in (("en", "cannot be reached"), ("zh", "无法连接")):
            answer = client.get("/login/sso", headers={"Accept-Language": lang})
            assert answer.status_code == 502
            html = answer.get_data(as_text=True)
            assert 'data-kind="unreachable"' in html and words in html
        assert [e.reason for e in events(application, "sso.failed")] == ["sso.unreachable"] * 2
        # local accounts still sign in
        assert login(client, "pm1").status_code == 302
    finally:
        with application.app_context():
            db.engine.dispose()


def test_the_provider_going_down_mid_sign_in_is_a_clear_page(app, client, provider):
    callback = to_provider(client, provider)
    provider.stop()
    answer = back_to_app(client, callback)
    assert answer.status_code == 502
    assert 'data-kind="unreachable"' in answer.get_data(as_text=True)


# --------------------------------------------------------------------------- not configured


def test_without_configuration_nothing_about_sso_shows(tmp_path, web_clock, template_db):
    copy_database(template_db, tmp_path / "web.db")
    application = create_app(app_config(tmp_path / "web.db"), clock=web_clock)
    try:
        client = application.test_client()
        assert "sso-sign-in" not in client.get("/login").get_data(as_text=True)
        assert client.get("/login/sso").status_code == 404
        assert client.get("/login/sso/callback?code=x&state=y").status_code == 404
        login(client, "admin")
        assert "admin-sso-link" not in client.get("/admin").get_data(as_text=True)
        assert client.get("/admin/sso").status_code == 404
        assert csrf_token(client, "/admin")  # the admin page itself is fine
    finally:
        with application.app_context():
            db.engine.dispose()


def test_a_token_for_several_audiences_including_us_is_accepted(app, client, provider):
    provider.tweak = {"aud": ["another-app", CLIENT_ID], "azp": CLIENT_ID}
    assert sign_in(client, provider).status_code == 302
    assert signed_in_as(client) is not None
