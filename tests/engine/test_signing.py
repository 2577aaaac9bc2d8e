"""Signing in and out in the engine: every attempt audited, the same work and answer for
unknown accounts, the optional lockout an administrator lifts, and the session version
that ends sessions (on both databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import identity, signing
from engine.api import Engine
from engine.errors import Forbidden
from tests.conftest import statements_on


def sign_in(engine, session, username, password, lockout_after=0, address="10.0.0.7"):
    return engine.sign_in(session, username, password, address=address,
                          lockout_after=lockout_after)


def events(engine, session, target):
    """(kind, actor, detail.after) of the audit about ``target``, oldest first."""
    return [(e.kind, e.actor, e.detail["after"])
            for e in reversed(engine.admin_changes(session, "admin", target=target))]


@pytest.fixture
def hashes(monkeypatch) -> list[str]:
    """The stored hashes the sign-in checked a password against, one entry per check."""
    seen: list[str] = []
    real = signing.password_matches

    def counting(stored: str, password: str) -> bool:
        seen.append(stored)
        return real(stored, password)

    monkeypatch.setattr(signing, "password_matches", counting)
    return seen


def test_every_sign_in_is_audited_with_the_address(engine, session, people):
    assert sign_in(engine, session, "pm1", "wrong") is None
    user = sign_in(engine, session, "pm1", "demo")
    assert user is not None and user.username == "pm1"
    assert events(engine, session, "pm1") == [
        ("user.sign_in_failed", "pm1", {"address": "10.0.0.7", "why": "wrong"}),
        ("user.signed_in", "pm1", {"address": "10.0.0.7"}),
    ]
    # Sign-ins are not administration changes: the admin page's list leaves them out.
    assert not [c for c in engine.admin_page(session, "admin").changes
                if c.kind.startswith("user.sign")]


def test_unknown_wrong_inactive_and_locked_take_the_same_path(engine, session, people,
                                                               hashes):
    engine.set_user_active(session, "admin", "pm2", False)
    for _ in range(2):
        assert sign_in(engine, session, "reviewer1", "wrong", lockout_after=2) is None
    hashes.clear()
    answers = [sign_in(engine, session, name, password, lockout_after=2)
               for name, password in (("nobody", "demo"), ("pm1", "wrong"), ("pm2", "demo"),
                                      ("reviewer1", "demo"), ("", ""), ("pm1", "demo"))]
    assert answers[:5] == [None] * 5 and answers[5].username == "pm1"
    # Exactly one password hash checked per attempt, whatever the account.
    assert len(hashes) == 6
    assert events(engine, session, "nobody") == [
        ("user.sign_in_failed", "nobody", {"address": "10.0.0.7", "why": "unknown"})]
    reasons = {name: [d.get("why") for k, _a, d in events(engine, session, name)
                      if k == "user.sign_in_failed"][-1]
               for name in ("pm1", "pm2", "reviewer1")}
    assert reasons == {"pm1": "wrong", "pm2": "inactive", "reviewer1": "locked"}


def test_lockout_after_n_failures_until_an_admin_unlocks(engine, session, people):
    for _ in range(3):
        assert sign_in(engine, session, "pm1", "wrong", lockout_after=3) is None
    assert engine.user(session, "pm1").locked
    assert sign_in(engine, session, "pm1", "demo", lockout_after=3) is None  # right, locked
    with pytest.raises(Forbidden):
        engine.unlock_user(session, "pm2", "pm1")
    assert engine.unlock_user(session, "admin", "pm1").locked is False
    assert sign_in(engine, session, "pm1", "demo", lockout_after=3).username == "pm1"
    kinds = [k for k, _a, _d in events(engine, session, "pm1")]
    assert kinds == ["user.sign_in_failed"] * 3 + ["user.locked", "user.sign_in_failed",
                                                   "user.unlocked", "user.signed_in"]


def test_without_lockout_failures_never_lock(engine, session, people):
    for _ in range(12):
        sign_in(engine, session, "pm1", "wrong")
    assert not engine.user(session, "pm1").locked
    assert sign_in(engine, session, "pm1", "demo").username == "pm1"


def test_a_success_resets_the_count_of_failures(engine, session, people):
    for _ in range(2):
        sign_in(engine, session, "pm1", "wrong", lockout_after=3)
    sign_in(engine, session, "pm1", "demo", lockout_after=3)
    for _ in range(2):
        sign_in(engine, session, "pm1", "wrong", lockout_after=3)
    assert not engine.user(session, "pm1").locked


@pytest.mark.parametrize("end", ["sign_out", "password", "deactivate", "everywhere_self",
                                 "everywhere_admin"])
def test_ending_sessions_moves_the_version_on(engine, session, people, end):
    user = engine.user(session, "pm1")
    version = user.session_version
    assert engine.active_user(session, user.id, version) is not None
    if end == "sign_out":
        engine.sign_out(session, "pm1", "10.0.0.7")
    elif end == "password":
        engine.reset_password(session, "admin", "pm1", "a-new-password")
    elif end == "deactivate":
        engine.set_user_active(session, "admin", "pm1", False)
        engine.set_user_active(session, "admin", "pm1", True)
    else:
        engine.sign_out_everywhere(session, "pm1" if end == "everywhere_self" else "admin",
                                   "pm1")
    assert engine.active_user(session, user.id, version) is None
    assert engine.active_user(session, user.id, version + 1) is not None
    assert engine.active_user(session, user.id) is not None  # without a version: any


def test_only_an_admin_signs_someone_else_out(engine, session, people):
    with pytest.raises(Forbidden):
        engine.sign_out_everywhere(session, "pm2", "pm1")
    engine.sign_out_everywhere(session, "admin", "pm1")
    [event] = [e for e in engine.admin_changes(session, "admin", target="pm1")
               if e.kind == "user.signed_out_everywhere"]
    assert event.actor == "admin"


def test_a_deactivated_users_tokens_stop_working(engine, session, people):
    made = engine.create_token(session, "pm1", name="ci")
    assert engine.authenticate_token(session, made.secret) == "pm1"
    engine.set_user_active(session, "admin", "pm1", False)
    assert engine.authenticate_token(session, made.secret) is None


def test_a_requests_first_read_brings_the_user_with_the_install_status(engine, session,
                                                                        people, clock):
    """One statement reads the install's status and the signed-in user, the clock is moved
    before the user's grants are read (a delegation that began on the moved clock counts),
    and a user who is gone or whose session ended comes back as None with the status."""
    engine.mark_demo_install(session, "cli")
    engine.advance_clock(session, "admin", "3d")
    start = engine.clock.now() - timedelta(days=1)  # began on the moved clock only
    engine.set_out_of_office(session, "pm2", delegate="pm1", starts_at=start,
                             ends_at=start + timedelta(days=7))
    pm1 = engine.user(session, "pm1")
    session.commit()
    other = Engine(clock=clock)  # another process: its clock not moved yet
    assert other.clock.now() == clock.now()
    with statements_on(session.get_bind()) as read:
        status, user = other.begin_request(session, pm1.id, pm1.session_version)
        delegators = identity.delegators(session, "pm1", other.clock.now())
    users = [s for s in read if "install_settings" in s]
    assert len(users) == 1 and "FROM users" in users[0]
    assert len(read) == 2  # that one, then the grants (roles, delegations) together
    assert status.demo and status.offset == timedelta(days=3)
    assert other.clock.now() == engine.clock.now()
    assert user is not None and user.username == "pm1" and user.roles == ("pm",)
    assert delegators == frozenset({"pm2"})
    session.rollback()

    status, user = other.begin_request(session, pm1.id, pm1.session_version + 1)
    assert user is None and status.offset == timedelta(days=3)
    session.rollback()
    engine.set_user_active(session, "admin", "pm1", False)
    with statements_on(session.get_bind()) as read:
        status, user = other.begin_request(session, pm1.id)
    assert user is None and status.demo and status.offset == timedelta(days=3)
    assert len(read) == 2  # no active user: the status on its own
    session.rollback()
    with statements_on(session.get_bind()) as read:
        status, user = other.begin_request(session)
    assert user is None and status.offset == timedelta(days=3) and len(read) == 1
    session.rollback()
