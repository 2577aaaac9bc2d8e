"""The API's document and docs page: public, generated, loading only local files."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[3] / "webui" / "static"


def test_docs_page_loads_swagger_ui_from_this_server_without_inline_script(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all(body.strip() == "" for _attrs, body in scripts)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert all(s.startswith("/") or s.startswith("data:") for s in sources), sources
    for src in sources:
        if src.startswith("/static/"):
            assert (STATIC / src.removeprefix("/static/")).is_file(), src
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert 'data-spec-url="/api/v1/openapi.json"' in html


def test_document_is_openapi_3_with_both_ways_in_and_problem_errors(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["components"]["securitySchemes"]) == {"bearerAuth", "sessionCookie"}
    error = doc["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert list(error) == ["application/problem+json"]
    delegate = doc["paths"]["/api/v1/tasks/{task_id}/delegate"]["post"]
    body = delegate["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Delegate"}
    assert doc["components"]["schemas"]["Delegate"]["additionalProperties"] is False
    assert {p["name"] for p in doc["paths"]["/api/v1/tasks"]["get"]["parameters"]} >= {
        "offset", "limit", "scope"}
