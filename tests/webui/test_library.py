"""The process library and the modeler are the process owners': every route is 403 for
anyone else; the navigation shows the library to owners only; drafts, validation and
deploy answer JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.webui.conftest import csrf_token, login

PAGES = ["/library", "/library/approval3", "/library/approval3/diff?from=1&to=1",
         "/library/approval3/1/diagram.bpmn", "/modeler",
         "/modeler?key=approval3&version=1"]
JSON_POSTS = ["/modeler/validate", "/modeler/drafts", "/modeler/deploy"]


def _json(client, path: str, body: dict, token: str):
    return client.post(path, json=body, headers={"X-CSRFToken": token,
                                                  "Accept": "application/json"})


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_for_process_owners(client, path):
    login(client, "pm1")
    assert client.get(path).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/tasks")})
    login(client, "owner1")
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", [*JSON_POSTS, "/library/approval3/1/move"])
def test_writes_are_for_process_owners(client, path):
    login(client, "pm1")
    token = csrf_token(client, "/tasks")
    xml = "<x/>"
    if path.endswith("/move"):
        response = client.post(path, data={"csrf_token": token, "definition_id": "1",
                                           "instance": "1", "reason": "r"})
    else:
        response = _json(client, path, {"xml": xml, "key": "approval3", "comment": "c"},
                         token)
    assert response.status_code == 403


def test_navigation_shows_the_library_to_owners_only(client):
    login(client, "pm1")
    assert 'data-testid="nav-library"' not in client.get("/tasks").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/tasks")})
    login(client, "owner1")
    assert 'data-testid="nav-library"' in client.get("/tasks").get_data(as_text=True)


def test_draft_validate_and_deploy_answer_json(client):
    login(client, "owner1")
    token = csrf_token(client, "/tasks")
    source = client.get("/library/approval3/1/diagram.bpmn").get_data(as_text=True)
    saved = _json(client, "/modeler/drafts", {"xml": source, "key": "approval3"}, token)
    assert saved.status_code == 200
    draft_id = saved.get_json()["id"]
    assert client.get(f"/modeler/drafts/{draft_id}.bpmn").get_data(as_text=True) == source
    assert f"draft={draft_id}" in client.get("/modeler").get_data(as_text=True)
    checked = _json(client, "/modeler/validate", {"xml": source}, token).get_json()
    assert checked == {"problems": []}
    broken = _json(client, "/modeler/validate", {"xml": "not xml"}, token).get_json()
    assert len(broken["problems"]) == 1
    no_comment = _json(client, "/modeler/deploy", {"xml": source, "comment": ""}, token)
    assert no_comment.status_code == 422
    changed = source.replace('name="Check completeness"', 'name="Check it all"', 1)
    deployed = _json(client, "/modeler/deploy", {"xml": changed, "comment": "clearer",
                                                 "effective_from": "2030-01-01"}, token)
    assert deployed.status_code == 201, deployed.get_json()
    assert deployed.get_json()["versions"][0]["version"] == 2
    page = client.get("/library/approval3").get_data(as_text=True)
    assert "clearer" in page and "2030-01-01" in page
    bad_date = _json(client, "/modeler/deploy", {"xml": changed, "comment": "c",
                                                 "effective_from": "soon"}, token)
    assert bad_date.status_code == 422


def test_diagrams_drawn_in_other_tools_validate_with_problems_named(client):
    login(client, "owner1")
    token = csrf_token(client, "/tasks")
    folder = Path(__file__).resolve().parents[1] / "conformance" / "miwg-reference"
    for name in ("A.1.0.bpmn", "B.2.0.bpmn", "C.1.0.bpmn"):
        xml = (folder / name).read_text(encoding="utf-8")
        response = _json(client, "/modeler/validate", {"xml": xml}, token)
        assert response.status_code == 200, name
        assert all(p["message"] for p in response.get_json()["problems"]), name
