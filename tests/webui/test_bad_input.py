"""Input the databases cannot take gets a clear 4xx from the pages, never a 500: ids
beyond the integer columns are 404, NUL characters (PostgreSQL refuses them in text) are
a field error on forms and a 400 elsewhere. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from engine.clock import ManualClock
from tests.webui.conftest import START, csrf_token, login, parse_html, post
from tests.webui.pg_apps import dispose, pg_app, pg_schema, require_postgres
from webui.extensions import db


@pytest.fixture(params=["sqlite", "postgres"])
def any_app(request, tmp_path) -> Iterator[Flask]:
    """The web app on SQLite (the usual template copy) and on PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("app")
        return
    require_postgres()
    with pg_schema() as url:
        application = pg_app(url, tmp_path, ManualClock(START))
        try:
            yield application
        finally:
            dispose(application)


@pytest.fixture
def web(any_app: Flask):
    client = any_app.test_client()
    login(client, "pm1")
    return client


def start_request(app: Flask) -> tuple[int, int]:
    """An approval3 request by pm1: (instance id, its open task id)."""
    eng = app.extensions["pmoflow"].engine
    with app.app_context():
        inst = eng.start(db.session, "approval3", "pm1", {"title": "Tower", "budget": 5})
        return inst.id, inst.open_tasks[0].id


@pytest.mark.parametrize("path", [
    "/tasks/2147483648", "/tasks/99999999999999999999999", "/tasks/0",
    "/instances/9223372036854775808", "/attachments/2147483648", "/projects/2147483648",
    "/risks/99999999999", "/escalations/99999999999", "/lessons/99999999999",
    "/notifications/99999999999/open", "/definitions/99999999999/diagram.bpmn",
])
def test_ids_beyond_the_integer_columns_are_404(web, path):
    assert web.get(path).status_code == 404


def test_posts_to_ids_beyond_the_integer_columns_are_404(web, any_app):
    for path in ("/tasks/2147483648/claim", "/tasks/2147483648", "/requests/2147483648/withdraw",
                 "/tasks/99999999999999999999/delegate"):
        assert post(web, path, {"reason": "x"}).status_code == 404, path
    instance_id, task_id = start_request(any_app)
    assert web.get(f"/instances/{instance_id}").status_code == 200  # real ids still work
    assert web.get(f"/tasks/{task_id}").status_code == 200  # the starter may look


@pytest.mark.parametrize("path", ["/lessons?q=a%00b", "/portfolio?q=%00", "/tasks?process=x%00",
                                  "/risks?status=%00", "/requests?status=a%00"])
def test_nul_in_a_search_or_filter_is_a_clear_400(web, path):
    response = web.get(path)
    assert response.status_code == 400
    doc = parse_html(response.data)
    assert "NUL character" in doc.xpath('string(//*[@data-testid="error-message"])')


def test_nul_in_a_path_segment_names_nothing(web):
    assert web.get("/processes/approval3%00/start").status_code == 404


def test_nul_in_the_sign_in_name_is_said_on_the_sign_in_page(any_app):
    client = any_app.test_client()
    token = csrf_token(client)
    response = client.post("/login", data={"username": "pm1\x00", "password": "demo",
                                           "csrf_token": token})
    assert response.status_code == 400
    doc = parse_html(response.data)
    assert "contains a character that is not allowed" in doc.text_content()
    assert doc.xpath('string(//input[@name="username"]/@value)') == "pm1"


def test_nul_in_a_form_field_is_an_error_beside_it_and_nothing_starts(web, any_app):
    response = post(web, "/processes/approval3/start", {"title": "Tower\x00 upgrade",
                                                        "budget": "12"},
                    token_from="/processes/approval3/start")
    assert response.status_code == 422
    doc = parse_html(response.data)
    error = doc.xpath('string(//*[@data-error-for="title"])')
    assert error.startswith("This field contained a character that cannot be stored")
    assert doc.xpath('string(//input[@name="title"]/@value)') == "Tower upgrade"
    with any_app.app_context():
        assert any_app.extensions["pmoflow"].engine.instances(db.session) == []


def test_nul_in_a_draft_saves_the_rest_and_says_where(any_app):
    _instance_id, task_id = start_request(any_app)
    client = any_app.test_client()
    login(client, "reviewer1")
    response = post(client, f"/tasks/{task_id}", {"action": "draft", "decision": "accept",
                                                  "comment": "looks\x00 fine"},
                    token_from=f"/tasks/{task_id}")
    assert response.status_code == 422
    assert parse_html(response.data).xpath('string(//*[@data-error-for="comment"])')
    with any_app.app_context():
        task = any_app.extensions["pmoflow"].engine.task(db.session, task_id)
    assert task.status == "open"
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "looks fine" in page  # the draft was kept, without the NUL


def test_nul_in_other_forms_is_a_400_naming_the_field(web, any_app):
    instance_id, _task_id = start_request(any_app)
    response = post(web, f"/requests/{instance_id}/withdraw", {"reason": "no\x00 longer"})
    assert response.status_code == 400
    detail = parse_html(response.data).xpath('string(//*[@data-testid="error-message"])')
    assert "“reason”" in detail and "NUL character" in detail
    with any_app.app_context():
        assert any_app.extensions["pmoflow"].engine.instance(
            db.session, instance_id).status == "running"
    response = post(web, "/account/tokens", {"name": "ci\x00", "expires": "90"},
                    token_from="/account/tokens")
    assert response.status_code == 400


def test_the_id_pattern_takes_exactly_one_to_the_largest_id():
    import re

    from webui.api import up_to
    from webui.api.schemas import MAX_ID

    pattern = re.compile(up_to(MAX_ID) + "$")
    for n in (1, 9, 10, 99, 1_999_999_999, 2_047_483_647, MAX_ID - 1, MAX_ID):
        assert pattern.match(str(n)), n
    for raw in ("0", "007", str(MAX_ID + 1), "2147483650", "3000000000", str(MAX_ID * 10)):
        assert not pattern.match(raw), raw
    assert [bool(re.fullmatch(up_to(limit), str(n))) for limit, n in
            ((9, 9), (9, 10), (10, 10), (100, 100), (100, 101))] == [
        True, False, True, True, False]
