"""Schemathesis over every operation of the OpenAPI document, authenticated with a token
of the PMO administrator (who is also a process owner), on the demo database: no server
error, and every answer (status, content type, body) as the document says."""

from __future__ import annotations

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.webui.api.conftest import make_token

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
#: Examples per operation (positive and negative); the run stays well under two minutes.
MAX_EXAMPLES = 25


def test_every_operation_answers_as_documented(pmo_app: Flask):
    """Each operation, positive and negative cases; failures are collected per operation."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", pmo_app)
    failures: dict[str, str] = {}
    runs: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        label = operation.label

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.generate])
        def run(case):
            # A fresh token per case: a generated call may revoke the one it was sent with.
            token = make_token(pmo_app, "admin")
            response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                                              checks=CHECKS)
            assert response.status_code != 401, "the token was refused"
            runs[label] = runs.get(label, 0) + 1  # noqa: B023 - run() is called at once

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # report every operation that fails
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:3000]
    print(f"schemathesis: {sum(runs.values())} cases over {len(runs)} operations")
    assert failures == {}
    assert len(runs) >= 26


def test_the_document_lists_every_api_route(pmo_app: Flask):
    """Nothing under /api/v1 escapes the document (and so the run above)."""
    doc = pmo_app.test_client().get("/api/v1/openapi.json").get_json()
    documented = {path for path in doc["paths"]}
    routes = {rule.rule.replace("<dbid:", "{").replace("<", "{").replace(">", "}")
              for rule in pmo_app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")}
    undocumented = routes - documented - {"/api/v1/openapi.json", "/api/v1/docs",
                                          "/api/v1/problems", "/api/v1/problems/{kind}"}
    assert undocumented == set()
    assert len(documented) >= 26
