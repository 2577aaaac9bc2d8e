"""A PMO administrator manages people, roles and SLA defaults; every change is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import identity
from engine.errors import Forbidden, InvalidData, NotFound
from engine.store.models import AuditEvent, SlaDefault, User
from engine.user_admin import NewUser
from tests.engine.driver import Driver


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    return Driver(engine, session, clock)


def new_user(**kw) -> NewUser:
    values = {"username": "jdoe", "password": "s3cret-pass", "display_name": "Jane Doe",
              "email": "jane@example.org", "locale": "zh", "time_zone": "Asia/Shanghai",
              "roles": ("pmo_reviewer",)}
    values.update(kw)
    return NewUser(**values)


def admin_events(engine, session, target=None):
    return engine.admin_changes(session, "admin", target=target)


def test_admin_creates_a_user_who_can_sign_in_and_it_is_audited(engine, session, people, clock):
    view = engine.create_user(session, "admin", new_user())
    assert (view.username, view.display_name, view.email, view.locale, view.time_zone,
            view.roles, view.active) == ("jdoe", "Jane Doe", "jane@example.org", "zh",
                                         "Asia/Shanghai", ("pmo_reviewer",), True)
    assert engine.authenticate(session, "jdoe", "s3cret-pass").username == "jdoe"
    [event] = admin_events(engine, session, "jdoe")
    assert (event.kind, event.actor, event.at, event.instance_id) == (
        "user.created", "admin", clock.now(), None)
    assert event.detail["before"] == {}
    assert event.detail["after"]["time_zone"] == "Asia/Shanghai"
    assert event.detail["after"]["roles"] == ["pmo_reviewer"]
    assert "s3cret-pass" not in repr(event.detail)
    assert "jdoe" in [u.username for u in engine.users(session, "admin")]


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"username": "pm1"}, "username", "already taken"),
    ({"username": "no spaces"}, "username", "letters, digits"),
    ({"username": "-"}, "username", "letters, digits"),
    ({"username": "._"}, "username", "letters, digits"),
    ({"time_zone": "Mars/Olympus"}, "time_zone", "not a time zone"),
    ({"time_zone": "../etc/passwd"}, "time_zone", "not a time zone"),
    ({"email": "not-an-address"}, "email", "not an e-mail"),
    ({"locale": "fr"}, "locale", "Choose one of"),
    ({"password": "short"}, "password", "at least 8"),
    ({"roles": ("wizard",)}, "roles", "Unknown role"),
])
def test_bad_new_user_is_refused_by_field_and_nothing_is_written(engine, session, people,
                                                                 change, field, words):
    users_before = session.scalar(select(func.count()).select_from(User))
    with pytest.raises(InvalidData) as err:
        engine.create_user(session, "admin", new_user(**change))
    assert words in err.value.errors[field]
    assert err.value.status == 422
    assert session.scalar(select(func.count()).select_from(User)) == users_before
    assert admin_events(engine, session) == []


def test_only_a_pmo_admin_may_administer(engine, session, people):
    for actor in ("pm1", "reviewer1", "owner1"):
        with pytest.raises(Forbidden):
            engine.create_user(session, actor, new_user())
        with pytest.raises(Forbidden):
            engine.admin_page(session, actor)
        with pytest.raises(Forbidden):
            engine.users(session, actor)
        with pytest.raises(Forbidden):
            engine.set_user_active(session, actor, "pm2", False)
        with pytest.raises(Forbidden):
            engine.grant_role(session, actor, actor, "pmo_admin")
        with pytest.raises(Forbidden):
            engine.set_sla_default(session, actor, "approval3", "approve", "P3D")
    assert session.scalar(select(User).where(User.username == "jdoe")) is None
    assert "pmo_admin" not in identity.global_roles(session, "pm1")


def test_edit_profile_audits_before_and_after(engine, session, people):
    view = engine.update_user(session, "admin", "pm1", {"email": "li@example.org",
                                                        "time_zone": "Europe/Berlin",
                                                        "locale": "en"})
    assert (view.email, view.time_zone, view.locale) == ("li@example.org", "Europe/Berlin",
                                                         "en")
    [event] = admin_events(engine, session, "pm1")
    assert event.kind == "user.updated"
    assert event.detail == {"before": {"email": None, "time_zone": None, "locale": None},
                            "after": {"email": "li@example.org",
                                      "time_zone": "Europe/Berlin", "locale": "en"}}
    engine.update_user(session, "admin", "pm1", {"email": "li@example.org"})  # no change
    assert len(admin_events(engine, session, "pm1")) == 1
    with pytest.raises(InvalidData) as err:
        engine.update_user(session, "admin", "pm1", {"time_zone": "Nowhere/City"})
    assert set(err.value.errors) == {"time_zone"}
    with pytest.raises(NotFound):
        engine.update_user(session, "admin", "ghost", {"email": "a@b.cd"})


def test_reset_password(engine, session, people):
    engine.reset_password(session, "admin", "pm2", "a-new-password")
    assert engine.authenticate(session, "pm2", "demo") is None
    assert engine.authenticate(session, "pm2", "a-new-password") is not None
    [event] = admin_events(engine, session, "pm2")
    assert event.kind == "user.password_reset" and "a-new-password" not in repr(event.detail)
    with pytest.raises(InvalidData) as err:
        engine.reset_password(session, "admin", "pm2", "1234")
    assert "password" in err.value.errors


def test_deactivated_user_cannot_sign_in_nor_use_tokens_and_tasks_go_back(drv, engine,
                                                                         session, people):
    drv.deploy("approval3.bpmn")
    inst = drv.start("approval3", data={"title": "T", "budget": 10})
    review = drv.task(inst.id, "review")
    engine.claim(session, review.id, "reviewer1")
    token = engine.create_token(session, "reviewer1", name="ci")
    assert engine.authenticate_token(session, token.secret) == "reviewer1"

    result = engine.set_user_active(session, "admin", "reviewer1", False, "left the company")
    assert result.user.active is False
    assert result.released_task_ids == (review.id,) and result.kept_task_ids == ()
    assert engine.authenticate(session, "reviewer1", "demo") is None
    assert engine.authenticate_token(session, token.secret) is None
    assert engine.active_user(session, result.user.id) is None
    back = drv.task(inst.id, "review")
    assert back.assignee is None and back.claimed_at is None
    released = [e for e in engine.history(session, inst.id) if e.kind == "released"]
    assert [(e.actor, e.human_task_id, e.detail["from"]) for e in released] == [
        ("admin", review.id, "reviewer1")]
    [event] = admin_events(engine, session, "reviewer1")
    assert (event.kind, event.reason, event.detail["before"], event.detail["after"]) == (
        "user.deactivated", "left the company", {"active": True},
        {"active": False, "released_tasks": [review.id]})
    engine.claim(session, review.id, "reviewer2")  # the pool has it again

    engine.set_user_active(session, "admin", "reviewer1", True)
    assert engine.authenticate(session, "reviewer1", "demo") is not None
    assert admin_events(engine, session, "reviewer1")[0].kind == "user.reactivated"


def test_admin_cannot_lock_themselves_out(engine, session, people):
    with pytest.raises(Forbidden):
        engine.set_user_active(session, "admin", "admin", False)
    with pytest.raises(Forbidden):
        engine.revoke_role(session, "admin", "admin", "pmo_admin")
    assert engine.authenticate(session, "admin", "demo") is not None


def test_global_roles_granted_and_revoked_with_audit(engine, session, people):
    view = engine.grant_role(session, "admin", "pm1", "finance")
    assert view.roles == ("finance", "pm")
    engine.grant_role(session, "admin", "pm1", "finance")  # already held: nothing new
    view = engine.revoke_role(session, "admin", "pm1", "pm")
    assert view.roles == ("finance",)
    events = admin_events(engine, session, "pm1")
    assert [(e.kind, e.detail["before"], e.detail["after"]) for e in events] == [
        ("role.revoked", {"roles": ["finance", "pm"]}, {"roles": ["finance"]}),
        ("role.granted", {"roles": ["pm"]}, {"roles": ["finance", "pm"]}),
    ]
    with pytest.raises(InvalidData) as err:
        engine.grant_role(session, "admin", "pm1", "wizard")
    assert "Unknown role" in err.value.errors["role"]


def test_project_scoped_role(engine, session, people):
    view = engine.grant_role(session, "admin", "pm2", "sponsor", project_id=7)
    assert view.project_roles == ((7, "sponsor"),)
    assert identity.holds_role_for(session, "pm2", "sponsor", 7)
    assert not identity.holds_role_for(session, "pm2", "sponsor", 8)
    with pytest.raises(InvalidData) as err:
        engine.grant_role(session, "admin", "pm2", "finance", project_id=7)
    assert "not a project role" in err.value.errors["role"]
    with pytest.raises(InvalidData) as err:
        engine.grant_role(session, "admin", "pm2", "sponsor", project_id=0)
    assert "project" in err.value.errors
    engine.revoke_role(session, "admin", "pm2", "sponsor", project_id=7)
    assert not identity.holds_role_for(session, "pm2", "sponsor", 7)
    assert [(e.kind, e.detail) for e in admin_events(engine, session, "pm2")] == [
        ("project_role.revoked", {"before": {"project_id": 7, "role": "sponsor"},
                                  "after": {}}),
        ("project_role.granted", {"before": {}, "after": {"project_id": 7,
                                                          "role": "sponsor"}}),
    ]


def test_holders_anywhere_are_active_global_or_project_holders(engine, session, people):
    engine.grant_role(session, "admin", "pm2", "sponsor", project_id=7)
    engine.grant_role(session, "admin", "team1", "sponsor", project_id=8)
    engine.grant_role(session, "admin", "pm2", "sponsor", project_id=9)  # pm2 once
    assert identity.holders_anywhere(session, "sponsor") == ["pm2", "sponsor1", "team1"]
    engine.set_user_active(session, "admin", "team1", False, "left")
    assert identity.holders_anywhere(session, "sponsor") == ["pm2", "sponsor1"]
    assert identity.holders_anywhere(session, "steering") == ["steer1", "steer2", "steer3"]
    assert identity.holders_anywhere(session, "nobody_has_it") == []
    assert identity.is_active_user(session, "pm2")
    assert not identity.is_active_user(session, "team1")
    assert not identity.is_active_user(session, "ghost")


def test_sla_default_sets_due_date_where_the_diagram_has_none(drv, engine, session, people):
    drv.deploy("approval3.bpmn")
    engine.set_sla_default(session, "admin", "approval3", "approve", "p3d")
    engine.set_sla_default(session, "admin", "approval3", "review", "10")
    inst = drv.start("approval3", data={"title": "T", "budget": 10})
    start = drv.clock.now()  # Monday
    assert drv.task(inst.id, "review").due_at == start + timedelta(days=2)  # diagram wins
    drv.complete(inst.id, "review", "reviewer1", {"decision": "accept"})
    assert drv.task(inst.id, "approve").due_at == start + timedelta(days=3)
    [row] = session.scalars(select(SlaDefault).where(SlaDefault.element_id == "approve"))
    assert row.duration == "P3D" and row.updated_by == "admin"
    events = admin_events(engine, session, "approval3/approve")
    assert [(e.kind, e.detail) for e in events] == [
        ("sla_default.set", {"before": {}, "after": {"duration": "P3D"}})]
    engine.set_sla_default(session, "admin", "approval3", "approve", "P1W")
    assert admin_events(engine, session, "approval3/approve")[0].detail == {
        "before": {"duration": "P3D"}, "after": {"duration": "P1W"}}
    engine.remove_sla_default(session, "admin", "approval3", "approve")
    assert admin_events(engine, session, "approval3/approve")[0].kind == "sla_default.removed"
    page = engine.admin_page(session, "admin")
    assert [(s.element_id, s.duration) for s in page.sla_defaults] == [("review", "10")]


@pytest.mark.parametrize(("args", "field"), [
    (("approval3", "approve", "three days"), "duration"),
    (("approval3", "approve", "P"), "duration"),
    (("approval3", "approve", "-2"), "duration"),
    (("nope", "approve", "P3D"), "process_key"),
    (("approval3", "gw_review", "P3D"), "element_id"),
    (("approval3", "ghost", "P3D"), "element_id"),
])
def test_bad_sla_default_is_named_by_field(drv, engine, session, people, args, field):
    drv.deploy("approval3.bpmn")
    with pytest.raises(InvalidData) as err:
        engine.set_sla_default(session, "admin", *args)
    assert list(err.value.errors) == [field]
    assert session.scalar(select(func.count()).select_from(SlaDefault)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.kind.startswith("sla_default."))) == 0
