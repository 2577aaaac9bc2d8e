"""Single sign-on in the engine: users linked by (issuer, subject), created at the first
sign-in, roles from the groups claim through the administrator's mapping (hand-granted
roles stay), deactivated users refused, every sign-in and mapping change audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, InvalidData, NotFound
from engine.sso import ClaimsMissing, SsoClaims, claims_from_token
from engine.store.models import AuditEvent, SsoIdentity, User
from tests.conftest import schema_drift

ISSUER = "https://id.example.com"
SSO_TABLES = {"sso_identities", "sso_group_roles", "sso_groups_seen"}


def claims(sub: str = "u-1", username: str = "lwei", groups=("pmo-reviewers",),
           **kw) -> SsoClaims:
    values = {"issuer": ISSUER, "subject": sub, "username": username,
              "display_name": "Li Wei", "email": "lwei@corp.example", "groups": tuple(groups)}
    values.update(kw)
    return SsoClaims(**values)


def kinds(session, target: str) -> list[str]:
    return list(session.scalars(select(AuditEvent.kind).where(AuditEvent.element_id == target)
                                .order_by(AuditEvent.id)))


def test_models_and_migration_agree_on_the_sso_tables(db):
    assert schema_drift(db, SSO_TABLES) == []


def test_first_sign_in_creates_the_user_with_mapped_roles(engine, session, people, clock):
    engine.add_sso_mapping(session, "admin", "pmo-reviewers", "pmo_reviewer")
    engine.add_sso_mapping(session, "admin", "pmo-reviewers", "finance")
    outcome = engine.sso_sign_in(session, claims(groups=("pmo-reviewers", "all-staff")))
    assert outcome.created and outcome.refused is None
    user = outcome.user
    assert (user.username, user.display_name, user.email, user.roles, user.active) == (
        "lwei", "Li Wei", "lwei@corp.example", ("finance", "pmo_reviewer"), True)
    row = session.scalar(select(User).where(User.username == "lwei"))
    assert row.password_hash is None  # no local password: only the provider signs them in
    assert engine.authenticate(session, "lwei", "") is None
    link = session.scalar(select(SsoIdentity))
    assert (link.issuer, link.subject, link.username) == (ISSUER, "u-1", "lwei")
    assert kinds(session, "lwei") == ["sso.user_created", "sso.signed_in"]
    page = engine.sso_admin_page(session, "admin")
    assert [g.group for g in page.unmapped] == ["all-staff"]
    assert page.linked_users == 1


def test_later_sign_ins_follow_the_mapping_and_keep_hand_granted_roles(
        engine, session, people, clock):
    engine.add_sso_mapping(session, "admin", "pmo-reviewers", "pmo_reviewer")
    engine.sso_sign_in(session, claims())
    engine.grant_role(session, "admin", "lwei", "steering")  # by hand
    page = engine.sso_admin_page(session, "admin")
    [mapping] = page.mappings
    engine.remove_sso_mapping(session, "admin", mapping.id)
    engine.add_sso_mapping(session, "admin", "pmo-reviewers", "finance")
    clock.advance(timedelta(hours=1))
    again = engine.sso_sign_in(session, claims(display_name="Li Wei (Finance)",
                                               email="li.wei@corp.example"))
    assert not again.created
    assert again.user.roles == ("finance", "steering")
    assert (again.user.display_name, again.user.email) == ("Li Wei (Finance)",
                                                           "li.wei@corp.example")
    # out of the group: the SSO role goes, the hand-granted one stays
    third = engine.sso_sign_in(session, claims(groups=()))
    assert third.user.roles == ("steering",)
    assert len(session.scalars(select(User).where(User.username.startswith("lwei"))).all()) == 1
    changes = [c.kind for c in engine.sso_admin_page(session, "admin").changes]
    assert changes == ["sso_mapping.added", "sso_mapping.removed", "sso_mapping.added"]


def test_a_deactivated_user_is_refused_and_it_is_audited(engine, session, people):
    engine.sso_sign_in(session, claims())
    engine.set_user_active(session, "admin", "lwei", False, "left the company")
    outcome = engine.sso_sign_in(session, claims())
    assert (outcome.user, outcome.refused) == (None, "sso.user_inactive")
    assert kinds(session, "lwei")[-1] == "sso.refused"


def test_a_username_held_by_someone_else_is_never_taken_over(engine, session, people):
    """pm1 exists as a local account: a provider's "pm1" gets "pm1-2", not pm1's rights."""
    outcome = engine.sso_sign_in(session, claims(sub="other", username="pm1"))
    assert outcome.user.username == "pm1-2"
    assert outcome.user.roles == ()
    second = engine.sso_sign_in(session, claims(sub="third", username="pm1"))
    assert second.user.username == "pm1-3"


def test_same_subject_at_another_issuer_is_another_person(engine, session, people):
    first = engine.sso_sign_in(session, claims())
    other = engine.sso_sign_in(session, claims(issuer="https://other.example"))
    assert first.user.username == "lwei" and other.user.username == "lwei-2"


def test_mapping_changes_need_an_administrator_and_valid_input(engine, session, people):
    with pytest.raises(Forbidden):
        engine.add_sso_mapping(session, "pm1", "g", "pm")
    with pytest.raises(Forbidden):
        engine.sso_admin_page(session, "pm1")
    with pytest.raises(InvalidData) as bad:
        engine.add_sso_mapping(session, "admin", "  ", "wizard")
    assert set(bad.value.errors) == {"group", "role"}
    assert bad.value.errors["group"].code == "sso.group_invalid"
    with pytest.raises(NotFound):
        engine.remove_sso_mapping(session, "admin", 999)
    engine.add_sso_mapping(session, "admin", "g", "pm")
    engine.add_sso_mapping(session, "admin", "g", "pm")  # twice: one row, one audit
    page = engine.sso_admin_page(session, "admin")
    assert [(m.group, m.role, m.created_by) for m in page.mappings] == [("g", "pm", "admin")]
    assert [c.kind for c in page.changes] == ["sso_mapping.added"]


def test_a_failed_sign_in_is_audited(engine, session, people):
    engine.sso_failed(session, "sso.bad_state", ISSUER, "state mismatch")
    event = session.scalar(select(AuditEvent).where(AuditEvent.kind == "sso.failed"))
    assert (event.element_id, event.actor, event.reason) == (ISSUER, "-", "sso.bad_state")


@pytest.mark.parametrize(("raw", "expected"), [
    ({"preferred_username": "li.wei"}, "li.wei"),
    ({"preferred_username": "li.wei@corp.example"}, "li.wei"),
    ({"email": "wang fang@corp.example"}, "wang-fang"),
    ({"preferred_username": "李伟", "email": "liwei@corp.example"}, "liwei"),
])
def test_claims_name_the_user(raw, expected):
    parsed = claims_from_token({"iss": ISSUER, "sub": "s", **raw})
    assert parsed.username == expected


def test_claims_groups_and_missing_claims():
    base = {"iss": ISSUER, "sub": "s", "preferred_username": "a", "given_name": "Wei",
            "family_name": "Li"}
    assert claims_from_token({**base, "groups": ["b", "a", "a", 3, ""]}).groups == ("a", "b")
    assert claims_from_token({**base, "roles": "x"}, groups_claim="roles").groups == ("x",)
    assert claims_from_token({**base, "groups": {"no": 1}}).groups == ()
    assert claims_from_token(base).display_name == "Wei Li"
    for missing in ("iss", "sub"):
        with pytest.raises(ClaimsMissing) as exc:
            claims_from_token({k: v for k, v in base.items() if k != missing})
        assert exc.value.claim == missing
    with pytest.raises(ClaimsMissing):
        claims_from_token({"iss": ISSUER, "sub": "s", "preferred_username": "李伟"})


def test_two_first_sign_ins_of_one_person_at_once_make_one_user(postgres_db, clock,
                                                                 monkeypatch):
    """Double-clicking the button: the second sign-in looked the person up before the
    first one committed them; its insert fails on (issuer, subject) and it runs again,
    finding the first one's user.  (PostgreSQL: SQLite runs writers one at a time.)"""
    from engine import sso
    from engine.api import Engine
    from engine.store.db import make_sessionmaker
    from tests.conftest import _wipe

    _wipe(postgres_db)
    engine = Engine(clock=clock)
    make = make_sessionmaker(postgres_db.engine)
    real = sso._free_username
    raced = []

    def first_one_wins_meanwhile(session, wanted):
        if not raced:
            raced.append(True)
            with make() as other:
                engine.sso_sign_in(other, claims(groups=()))
        return real(session, wanted)

    monkeypatch.setattr(sso, "_free_username", first_one_wins_meanwhile)
    try:
        with make() as session:
            outcome = engine.sso_sign_in(session, claims(groups=()))
            assert raced and outcome.user.username == "lwei" and not outcome.created
            assert session.scalars(select(User.username)).all() == ["lwei"]
    finally:
        _wipe(postgres_db)
