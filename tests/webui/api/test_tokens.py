"""Personal API tokens in the engine (both databases), the CLI and the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, InvalidData, NotFound
from engine.store.models import ApiToken
from engine.tokens import hash_secret, parse_duration
from tests.webui.api.conftest import assert_problem


def test_create_authenticate_revoke(engine, session, people, clock):
    made = engine.create_token(session, "pm1", name="jira", expires_in=timedelta(days=90))
    assert made.secret.startswith("pmo_") and len(made.secret) > 40
    assert made.token.prefix == made.secret[:12] and made.token.name == "jira"
    assert made.token.expires_at == clock.now() + timedelta(days=90)
    row = session.scalar(select(ApiToken))
    assert row.token_hash == hash_secret(made.secret) and made.secret not in row.token_hash
    assert engine.authenticate_token(session, made.secret) == "pm1"
    assert engine.authenticate_token(session, made.secret + "x") is None
    assert engine.authenticate_token(session, "") is None
    assert [t.name for t in engine.api_tokens(session, "pm1")] == ["jira"]
    assert engine.api_tokens(session, "pm2") == []
    with pytest.raises(Forbidden):
        engine.revoke_token(session, made.token.id, "pm2")
    revoked = engine.revoke_token(session, made.token.id, "pm1")
    assert revoked.revoked_at == clock.now() and revoked.status(clock.now()) == "revoked"
    assert engine.authenticate_token(session, made.secret) is None
    with pytest.raises(NotFound):
        engine.revoke_token(session, 999, "pm1")


def test_expiry_and_admin_revocation(engine, session, people, clock):
    made = engine.create_token(session, "pm1", expires_in=timedelta(hours=1))
    clock.advance(timedelta(minutes=59))
    assert engine.authenticate_token(session, made.secret) == "pm1"
    clock.advance(timedelta(minutes=1))
    assert engine.authenticate_token(session, made.secret) is None
    other = engine.create_token(session, "pm2")
    assert other.token.expires_at is None
    assert engine.revoke_token(session, other.token.id, "admin").revoked_at is not None
    assert engine.revoke_token(session, other.token.id, None).revoked_at is not None


def test_bad_names_users_and_durations(engine, session, people):
    with pytest.raises(InvalidData):
        engine.create_token(session, "pm1", name="x" * 101)
    with pytest.raises(NotFound):
        engine.create_token(session, "ghost")
    assert parse_duration("90d") == timedelta(days=90)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration("2w") == timedelta(weeks=2)
    assert parse_duration("30") == timedelta(days=30)
    assert parse_duration("never") is None
    for bad in ("0d", "soon", "-1d", "99999d"):
        with pytest.raises(InvalidData):
            parse_duration(bad)


def test_api_creates_a_token_once_and_lists_it_without_its_secret(as_user, app, client):
    pm = as_user("pm1")
    made = pm.post("/api/v1/tokens", json={"name": "erp", "expires_in_days": 30})
    assert made.status_code == 201
    body = made.get_json()
    assert body["secret"].startswith(body["prefix"]) and body["status"] == "active"
    listed = pm.get("/api/v1/tokens").get_json()["items"]
    assert {t["name"] for t in listed} == {"test", "erp"}
    assert all("secret" not in t for t in listed)
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['secret']}"})
    assert me.get_json()["username"] == "pm1"
    assert_problem(pm.post("/api/v1/tokens", json={"expires_in_days": 0}), 422, "invalid-data")
    assert_problem(pm.post("/api/v1/tokens", json={"name": "x", "scope": "all"}), 422,
                   "invalid-data")
    other = as_user("pm2")
    assert_problem(other.delete(f"/api/v1/tokens/{body['id']}"), 403, "forbidden")
    never = pm.post("/api/v1/tokens", json={"expires_in_days": None}).get_json()
    assert never["expires_at"] is None


def test_cli_creates_lists_and_revokes(app, monkeypatch, capsys, tmp_path):
    from pmoflow import cli

    monkeypatch.setenv("DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    assert cli.main(["tokens", "create", "pm1", "--name", "bot", "--expires", "7d"]) == 0
    out = capsys.readouterr().out
    secret = next(word for word in out.split() if word.startswith("pmo_") and len(word) > 40)
    assert cli.main(["tokens", "list", "pm1"]) == 0
    listed = capsys.readouterr().out
    assert "bot" in listed and secret[:12] in listed and secret not in listed
    assert "active" in listed
    token_id = listed.split()[listed.split().index(secret[:12]) - 1]
    assert cli.main(["tokens", "revoke", token_id]) == 0
    assert "revoked" in capsys.readouterr().out
    assert cli.main(["tokens", "create", "ghost"]) == 1
    assert "ghost" in capsys.readouterr().err
    assert cli.main(["tokens", "create", "pm1", "--expires", "soon"]) == 1
