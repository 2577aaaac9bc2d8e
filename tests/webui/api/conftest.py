"""API test set-up: the web app fixtures of ``tests/webui/conftest.py`` (demo users,
approval3 and widgets; or the shipped processes and demo projects) apply here; this adds a
token-carrying client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from webui.extensions import db


def make_token(app: Flask, username: str, *, name: str = "test",
               expires_in: timedelta | None = None) -> str:
    """A fresh token secret for ``username``."""
    with app.app_context():
        eng = app.extensions["pmoflow"].engine
        return eng.create_token(db.session, username, name=name, expires_in=expires_in).secret


@dataclass
class Caller:
    """A test client that sends one user's token with every request."""

    client: FlaskClient
    token: str

    def _headers(self, kw: dict[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}

    def get(self, path: str, **kw: Any) -> TestResponse:
        return self.client.get(path, headers=self._headers(kw), **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> TestResponse:
        if json is not None:
            kw["json"] = json
        return self.client.post(path, headers=self._headers(kw), **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> TestResponse:
        if json is not None:
            kw["json"] = json
        return self.client.put(path, headers=self._headers(kw), **kw)

    def delete(self, path: str, **kw: Any) -> TestResponse:
        return self.client.delete(path, headers=self._headers(kw), **kw)


@pytest.fixture
def as_user(app: Flask) -> Iterator:
    """``as_user("pm1")``: a :class:`Caller` with a token of pm1 (web test database)."""
    def make(username: str) -> Caller:
        return Caller(app.test_client(), make_token(app, username))
    yield make


@pytest.fixture
def pmo_as(pmo_app: Flask) -> Iterator:
    """Like ``as_user`` on the demo database (shipped processes, demo projects)."""
    def make(username: str) -> Caller:
        return Caller(pmo_app.test_client(), make_token(pmo_app, username))
    yield make


def assert_problem(response: TestResponse, status: int, kind: str) -> dict[str, Any]:
    """The response is a problem+json of ``kind`` with ``status``; returns its body."""
    assert response.status_code == status, (response.status_code, response.get_data(True))
    assert response.mimetype == "application/problem+json", response.mimetype
    body = response.get_json()
    assert body["type"] == f"/api/v1/problems/{kind}", body
    assert body["status"] == status and body["title"] and body["detail"] and body["code"]
    return body
