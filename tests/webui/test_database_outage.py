"""With the database away, pages answer a styled 503, the API a problem+json 503, both
with Retry-After; /healthz says so and /livez does not care. When the database is back,
everything works again without restarting the app.

The app runs on PostgreSQL through a TCP proxy the test cuts (every connection broken,
new ones refused) and restores on the same port.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.clock import ManualClock
from tests.conftest import PG_BASE
from tests.webui.api.conftest import make_token
from tests.webui.conftest import START, csrf_token, login, parse_html
from tests.webui.pg_apps import dispose, pg_app, pg_schema, require_postgres
from tests.webui.tcp_proxy import TcpProxy


@dataclass
class Outage:
    app: Flask
    proxy: TcpProxy
    client: FlaskClient
    token: str

    def api(self, path: str):
        return self.client.get(path, headers={"Authorization": f"Bearer {self.token}"})


@pytest.fixture
def outage(tmp_path) -> Iterator[Outage]:
    """The app on PostgreSQL behind a proxy; pm1 signed in, with an API token."""
    require_postgres()
    from sqlalchemy.engine import make_url

    target = make_url(PG_BASE)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    proxy.start()
    base = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        with pg_schema(base) as url:
            app = pg_app(url, tmp_path, ManualClock(START))
            client = app.test_client()
            login(client, "pm1")
            try:
                yield Outage(app, proxy, client, make_token(app, "pm1"))
            finally:
                dispose(app)
    finally:
        proxy.stop()


def assert_all_well(o: Outage) -> None:
    assert o.client.get("/tasks").status_code == 200
    assert o.api("/api/v1/tasks?scope=mine").status_code == 200
    assert o.client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
    assert o.client.get("/livez").status_code == 200


def test_database_away_is_503_everywhere_and_back_is_200_without_restart(outage):
    o = outage
    assert_all_well(o)
    o.proxy.stop()

    page = o.client.get("/tasks")
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    doc = parse_html(page.data)
    assert doc.xpath('string(//*[@data-testid="error-title"])') == "Temporarily unavailable"
    assert "cannot be reached" in doc.xpath('string(//*[@data-testid="error-lead"])')
    assert doc.xpath('//link[contains(@href, "app.css")]')  # the app's own look
    assert doc.xpath('string(//*[@data-testid="try-again"]/@href)') == "/tasks?"

    api = o.api("/api/v1/tasks?scope=mine")
    assert api.status_code == 503 and api.headers["Retry-After"] == "30"
    assert api.mimetype == "application/problem+json"
    body = api.get_json()
    assert (body["type"], body["status"], body["code"]) == (
        "/api/v1/problems/unavailable", 503, "unavailable")

    health = o.client.get("/healthz")
    assert health.status_code == 503 and health.headers["Retry-After"] == "30"
    assert health.get_json() == {"status": "unavailable", "database": "unreachable"}
    assert o.client.get("/livez").get_json() == {"status": "ok"}

    stranger = o.app.test_client()
    token = csrf_token(stranger)  # the sign-in page itself needs no database ...
    signed = stranger.post("/login", data={"username": "pm2", "password": "demo",
                                           "csrf_token": token})
    assert signed.status_code == 503  # ... signing in does

    o.proxy.start()
    assert_all_well(o)


def test_the_503_page_speaks_the_users_language(outage):
    o = outage
    client = o.app.test_client()
    login(client, "pm2")
    with client.session_transaction() as flask_session:
        flask_session["lang"] = "zh"
    o.proxy.stop()
    page = client.get("/tasks", headers={"Accept-Language": "zh"})
    assert page.status_code == 503
    title = parse_html(page.data).xpath('string(//*[@data-testid="error-title"])')
    assert title == "暂时无法使用"
    o.proxy.start()
    assert client.get("/tasks").status_code == 200
