"""Error pages: in the app's style, never a traceback; security headers."""

from __future__ import annotations

import pytest

from tests.webui.conftest import login, post


@pytest.fixture
def boom(app):
    def explode():
        raise RuntimeError("secret internals")

    app.add_url_rule("/boom", "boom", explode)
    return app


def test_500_page_hides_the_error(client, boom, caplog):
    login(client, "pm1")
    response = client.get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body and "The error was logged" in body
    assert "secret internals" not in body and "Traceback" not in body
    assert "secret internals" in caplog.text


def test_404_403_409_pages_share_the_layout(client, arrange):
    inst = arrange.start()
    login(client, "team1")
    for path, status, title in (("/nowhere", 404, "Not found"),
                                (f"/instances/{inst.id}", 403, "Not allowed")):
        response = client.get(path)
        body = response.get_data(as_text=True)
        assert response.status_code == status and f'data-testid="error-title">{title}<' in body
        assert "PMOflow" in body and "Back to the inbox" in body


def test_error_pages_in_chinese(client, arrange):
    inst = arrange.start()
    login(client, "team1")
    post(client, "/language", {"lang": "zh"}, token_from="/")
    body = client.get(f"/instances/{inst.id}").get_data(as_text=True)
    assert "无权访问" in body and "返回待办" in body


def test_json_errors_for_json_clients(client):
    login(client, "pm1")
    response = client.get("/tasks/999", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.get_json()["status"] == 404


def test_method_not_allowed_is_a_page(client):
    login(client, "pm1")
    response = client.get("/requests/1/withdraw")
    assert response.status_code == 405 and "Not allowed here" in response.get_data(as_text=True)


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
