"""The REST API under ``/api/v1``: flask-smorest blueprints, one module per resource.

:func:`register` installs it on the app: the OpenAPI document (``/api/v1/openapi.json``,
generated from the marshmallow schemas the routes validate with), the docs page
(``/api/v1/docs``), authentication (personal token or browser session + CSRF header) and
the request guards.  Errors are problem+json (:mod:`webui.api.problems`); the HTML pages
outside ``/api/v1`` keep their error pages.

To add a resource: a module with a ``blp`` (:class:`flask_smorest.Blueprint`, routes
under ``/api/v1``) listed in :data:`RESOURCES`.
"""

from __future__ import annotations

import http
from importlib import import_module

from flask import Flask, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.routing import IntegerConverter

from webui.api import auth, guards, problems
from webui.api.schemas import MAX_ID, ProblemSchema
from webui.extensions import csrf

#: Resource modules, in the order the document lists them.
RESOURCES = ("me", "processes", "versions", "tasks", "instances", "deployments", "decisions",
             "tokens", "pmo", "users", "forms", "ops", "dashboard", "timekeeping", "camunda7")
#: How the document names each resource module's group of operations.
TAGS = {"api-me": "Me", "api-processes": "Processes", "api-tasks": "Tasks",
        "api-instances": "Instances", "api-deployments": "Deployments",
        "api-tokens": "API tokens", "api-pmo": "PMO records",
        "api-decisions": "Decision tables", "api-users": "Users",
        "api-versions": "Process versions", "api-ops": "Operations",
        "api-dashboard": "Dashboard", "api-time": "Calendar and clock",
        "api-camunda7": "Camunda 7 import"}
#: Endpoints anyone may read (the document and its page, the problem types).
PUBLIC_ENDPOINTS = frozenset({"api-docs.openapi_json", "api_pages.docs",
                              "api_pages.problem_types", "api_pages.problem_type"})

DESCRIPTION = """\
Everything a person does with tasks in the browser, as JSON.

**Authentication**: a personal token, `Authorization: Bearer pmo_...` (create one with
`pmoflow tokens create USER` or on *My account → API tokens*), or the browser's session
(then POST/PUT/PATCH/DELETE need an `X-CSRFToken` header). Without either: 401.

**Paging**: lists take `offset` (default 0) and `limit` (default 25, at most 200) and
answer `{items, total, offset, limit}` with a `Link` header (`rel="next"`, `rel="prev"`).

**Errors** are `application/problem+json` (RFC 9457): `type` (a stable URI, listed at
`/api/v1/problems`), `title`, `status`, `detail`, `code` (stable, finer-grained), and for
422 `errors: [{field, code, message}]`. 409 answers on a task say who has or completed it.

**Task forms** are per process version: `GET /api/v1/tasks/{id}` gives the task's JSON
Schema (`form_schema`); `POST /api/v1/tasks/{id}/complete` takes data valid against it.
"""


def up_to(limit: int) -> str:
    """A regular expression for the decimal numbers 1..``limit`` (no leading zeros)."""
    digits = str(limit)
    width = len(digits)
    parts = [rf"[1-9]\d{{0,{width - 2}}}"] if width > 1 else []
    for i, digit in enumerate(int(d) for d in digits):
        low = 1 if i == 0 else 0
        if digit > low:
            rest = width - i - 1
            parts.append(digits[:i] + f"[{low}-{digit - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    parts.append(digits)
    return "(?:" + "|".join(parts) + ")"


class DbIdConverter(IntegerConverter):
    """``<dbid:name>``: a positive id that fits the database's integer columns; anything
    larger matches no route (404) instead of overflowing in the database.

    The range is in the pattern itself, so a too-large id is a 404 for every method (a
    range check after matching would answer 405 where a route of another method exists).
    """

    regex = up_to(MAX_ID)

    def __init__(self, url_map, *args, **kwargs) -> None:
        super().__init__(url_map, min=1, max=MAX_ID)


class PmoApi(Api):
    """flask-smorest's Api with problem+json errors, and no app-wide error handler: the
    app's own handlers send problem+json under ``/api/v1`` and HTML pages elsewhere."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """Leave the app's error handlers alone (see :func:`webui.errors.register`)."""

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, problems.MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "A problem (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, problems.MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def register(app: Flask) -> None:
    """Install the API on ``app`` (after the extensions are initialised)."""
    app.url_map.converters["dbid"] = DbIdConverter
    app.config.update(
        API_TITLE="PMOflow API", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=problems.PREFIX, OPENAPI_JSON_PATH="openapi.json",
    )
    api = PmoApi(spec_kwargs={
        "info": {"description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
    })
    api.init_app(app)
    api.spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer", "description": "A personal API token (pmo_...)."})
    api.spec.components.security_scheme("sessionCookie", {
        "type": "apiKey", "in": "cookie", "name": app.config.get("SESSION_COOKIE_NAME",
                                                                  "session"),
        "description": "The browser's session; unsafe methods need X-CSRFToken."})
    api.register_converter(DbIdConverter, lambda _converter: {
        "type": "integer", "minimum": 1, "maximum": MAX_ID})
    for name in RESOURCES:
        blp = import_module(f"webui.api.{name}").blp
        api.register_blueprint(blp)
        csrf.exempt(blp)  # checked in auth.authenticate for session-authenticated calls
    _retag(api)
    from webui.api import pages

    app.register_blueprint(pages.bp)
    csrf.exempt(app.blueprints["api-docs"])
    app.before_request(_before_api_request)


def _retag(api: Api) -> None:
    """Name the document's groups for people (blueprint names must differ from the HTML
    blueprints', e.g. ``api-tasks`` beside ``tasks``)."""
    for operations in api.spec._paths.values():
        for operation in operations.values():
            if isinstance(operation, dict) and "tags" in operation:
                operation["tags"] = [TAGS.get(t, t) for t in operation["tags"]]
    for tag in api.spec._tags:
        tag["name"] = TAGS.get(tag["name"], tag["name"])


def _before_api_request():
    """Authenticate and check API requests (others pass untouched)."""
    if not problems.is_api_request() or request.url_rule is None:
        return None  # HTML pages; unknown API URLs become 404/405 problems
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    return auth.authenticate() or guards.check_request()
