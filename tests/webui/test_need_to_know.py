"""Need-to-know over the PMO records on both databases: the portfolio, search, the risk
register, the escalation log (JSON containment for the projects an escalation affects)
and the lessons library show each reader what the policy lets them see, counts included,
and one record outside it is refused; the sponsor picker lists only sponsors."""

from __future__ import annotations

import pytest

from engine.errors import Forbidden


@pytest.fixture
def world(session, clock, people):
    from engine import identity
    from engine.store.uow import unit_of_work
    from tests.webui.test_portfolio import seed_session

    with unit_of_work(session):
        w = seed_session(session, clock)
        identity.grant_project_role(session, w.tower, "team1", "team")
    return w


def test_portfolio_and_its_search_show_only_visible_projects(session, clock, world):
    from workflows.records import pages

    now = clock.now()
    every = pages.portfolio_page(session, "steer1", now)
    assert {p.id for p in every.projects} == {world.crm, world.tower, world.lake, world.erp}
    own = pages.portfolio_page(session, "pm2", now)  # PM of tower and erp
    assert {p.id for p in own.projects} == {world.tower, world.erp} and own.total == 2
    assert sum(own.stage_counts.values()) == 2 and own.pms == ("pm2",)
    assert own.stats.open_high_risks == 0  # the high risk is on crm
    assert pages.portfolio_page(session, "pm2", now, q="CRM").total == 0  # search filtered
    team = pages.portfolio_page(session, "team1", now)  # a team role on tower
    assert [p.id for p in team.projects] == [world.tower]
    assert pages.portfolio_page(session, "finance1", now).total == 0
    with pytest.raises(Forbidden) as refused:
        pages.project_page(_engine(clock), session, world.crm, "pm2")
    assert refused.value.code == "access.no_access"
    assert pages.project_page(_engine(clock), session, world.crm, "pm1").project.id == world.crm


def test_risks_and_escalations_follow_their_projects(session, clock, world):
    from workflows.records import pages

    now, eng = clock.now(), _engine(clock)
    assert [r.id for r in pages.risk_register(session, "pm2", now).risks] == [world.low_risk]
    mine = pages.risk_register(session, "pm1", now)
    assert [r.id for r in mine.risks] == [world.high_risk, world.medium_risk]
    assert sum(mine.matrix.values()) == 2 and [p.id for p in mine.projects] == [world.crm]
    assert pages.risk_register(session, "team2", now).total == 0
    with pytest.raises(Forbidden):
        pages.risk_page(eng, session, world.high_risk, "pm2")
    assert pages.risk_page(eng, session, world.low_risk, "pm2").risk.id == world.low_risk
    # the escalation on crm names tower as affected: tower's PM and team see it
    for user in ("pm1", "pm2", "team1", "pmohead", "steer1"):
        log = pages.escalation_log(eng, session, user)
        assert [e.id for e in log.escalations] == [world.escalation], user
        assert pages.escalation_page(eng, session, world.escalation, user)
    for user in ("team2", "finance1"):
        log = pages.escalation_log(eng, session, user)
        assert log.total == 0 and log.status_counts == {}, user
        with pytest.raises(Forbidden):
            pages.escalation_page(eng, session, world.escalation, user)


def test_published_lessons_for_everyone_drafts_for_their_project(session, clock, world):
    from workflows.records import pages

    now = clock.now()
    for user in ("finance1", "team2", "pm2"):
        found = pages.lesson_library(session, user, now, query="接口")
        assert [x.id for x in found.lessons] == [world.interface_lesson], user
        assert pages.lesson_page(session, world.supplier_lesson, user, now)
        with pytest.raises(Forbidden):
            pages.lesson_page(session, world.draft_lesson, user, now)
    assert pages.lesson_page(session, world.draft_lesson, "pm1", now)  # PM of crm
    assert pages.lesson_page(session, world.draft_lesson, "team1", now)  # its author
    pmo = pages.lesson_library(session, "reviewer1", now, query="接口", published_only=False)
    assert {x.id for x in pmo.lessons} == {world.interface_lesson, world.draft_lesson}


def test_sponsor_picker_lists_only_sponsors(session, people):
    from engine.pages import directory

    with_role = [p.username for p in directory(session).people if "sponsor" in p.global_roles]
    assert with_role == ["sponsor1"]


def _engine(clock):
    from engine.api import Engine

    return Engine(clock=clock)


def test_a_proposal_names_only_a_sponsor_as_sponsor(pmo_app, pmo_client):
    from engine.errors import InvalidData
    from tests.webui.conftest import login, parse_html
    from tests.workflows.factories import proposal
    from webui.extensions import db

    login(pmo_client, "pm1")
    html = pmo_client.get("/processes/project_approval/start").get_data(as_text=True)
    picked = parse_html(html).xpath("//select[@name='sponsor']/option/@value")
    assert [v for v in picked if v] == ["sponsor1"]  # the picker: sponsors only
    eng = pmo_app.extensions["pmoflow"].engine
    with pmo_app.app_context(), pytest.raises(InvalidData) as refused:
        eng.start(db.session, "project_approval", "pm1",
                  proposal(expected_roi_pct=18.5, sponsor="pm2"))
    assert set(refused.value.errors) == {"sponsor"}
    assert refused.value.errors["sponsor"].code == "form.not_role_holder"
    # the form says so in the reader's language (Chinese here), naming the field's person
    pmo_client.post("/language", data={"lang": "zh", "csrf_token": _token(pmo_client)})
    form = {**_flat(proposal(expected_roi_pct="18.5", sponsor="pm2")),
            "csrf_token": _token(pmo_client)}
    answer = pmo_client.post("/processes/project_approval/start", data=form)
    assert "不能选择 pm2" in answer.get_data(as_text=True)


def _token(client) -> str:
    from tests.webui.conftest import csrf_token

    return csrf_token(client, "/tasks")


def _flat(data: dict) -> dict:
    out: dict = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out
