"""Risk register: validation, three-level reviews, decisions, the portfolio matrix."""

from __future__ import annotations

import pytest

from engine.errors import Conflict, Forbidden, InvalidData, NotFound
from tests.workflows.factories import approved_project, proposal, risk_data
from workflows import records


@pytest.fixture
def project(session, people, clock):
    return approved_project(session, clock)


def _raise(session, clock, project, *, score=20, level="high", levels=3, **data):
    return records.raise_risk(session, project.id, risk_data(**data), actor="pm1",
                              now=clock.now(), score=score, level=level,
                              levels_required=levels)


def test_raise_and_round_trip(session, clock, project):
    r = _raise(session, clock, project)
    assert r.status == "under_review" and r.project_code == project.code
    assert (r.probability, r.impact, r.score, r.level, r.levels_required) == (4, 5, 20,
                                                                                "high", 3)
    assert r.urgent is True and r.raised_by == "pm1" and r.reviews == ()
    assert records.get_risk(session, r.id) == r
    with pytest.raises(NotFound):
        records.get_risk(session, 424242)


BAD_RISKS = [
    ({"probability": 7}, "probability"), ({"impact": 0}, "impact"),
    ({"probability": "high"}, "probability"), ({"category": "weather"}, "category"),
    ({"response": "ignore"}, "response"), ({"title": ""}, "title"),
    ({"owner": None}, "owner"), ({"urgent": "yes"}, "urgent"),
]


@pytest.mark.parametrize(("change", "field"), BAD_RISKS, ids=[f for _, f in BAD_RISKS])
def test_bad_risk_names_the_field(session, clock, project, change, field):
    with pytest.raises(InvalidData) as err:
        _raise(session, clock, project, **change)
    assert list(err.value.errors) == [field]


@pytest.mark.parametrize(("scoring", "field"), [
    ({"score": 30}, "score"), ({"level": "extreme"}, "level"), ({"levels": 4}, "levels_required"),
])
def test_bad_scoring_names_the_field(session, clock, project, scoring, field):
    with pytest.raises(InvalidData) as err:
        _raise(session, clock, project, **scoring)
    assert field in err.value.errors


def test_risks_only_on_running_projects(session, people, clock):
    p = records.propose_project(session, proposal(), pm="pm1", now=clock.now())
    with pytest.raises(Conflict, match="Proposed"):
        _raise(session, clock, p)


def test_three_levels_then_decision(session, clock, project):
    r = _raise(session, clock, project)
    for level, reviewer in ((1, "sponsor1"), (2, "pmohead")):
        clock.advance(hours=2)
        r = records.record_risk_review(session, r.id, level=level, reviewer=reviewer,
                                       outcome="approve", comment="ok", now=clock.now())
    with pytest.raises(Conflict, match="level 3"):
        records.decide_risk(session, r.id, decision="Approved", decided_by="pmohead",
                            level=2, response_plan="Move the tower", now=clock.now())
    clock.advance(hours=2)
    r = records.decide_risk(session, r.id, decision="Mitigation approved",
                            decided_by="steer1", level=3,
                            response_plan="Move tower 7 by 30 m; reserve 5%",
                            now=clock.now())
    assert (r.status, r.decided_by, r.decision_level) == ("accepted", "steer1", 3)
    assert r.decided_at == clock.now() and r.response_plan.startswith("Move tower 7")
    assert [(v.level, v.reviewer, v.outcome) for v in r.reviews] == [
        (1, "sponsor1", "approve"), (2, "pmohead", "approve")]
    with pytest.raises(Conflict):
        records.record_risk_review(session, r.id, level=3, reviewer="steer1",
                                   outcome="approve", now=clock.now())


def test_send_back_needs_comment_and_revision_reopens_review(session, clock, project):
    r = _raise(session, clock, project, score=4, level="low", levels=1)
    with pytest.raises(InvalidData) as err:
        records.record_risk_review(session, r.id, level=1, reviewer="sponsor1",
                                   outcome="send_back", comment="  ", now=clock.now())
    assert "comment" in err.value.errors
    r = records.record_risk_review(session, r.id, level=1, reviewer="sponsor1",
                                   outcome="send_back", comment="Plan is vague",
                                   now=clock.now())
    assert r.status == "sent_back"
    with pytest.raises(Conflict):
        records.decide_risk(session, r.id, decision="ok", decided_by="sponsor1", level=1,
                            response_plan="x", now=clock.now())
    r = records.revise_risk(session, r.id, {"contingency": "Second supplier on standby",
                                            "probability": 2},
                            actor="pm1", now=clock.now(), score=2, level="low",
                            levels_required=1)
    assert (r.status, r.probability, r.score) == ("under_review", 2, 2)
    assert r.contingency == "Second supplier on standby" and r.title == risk_data()["title"]


def test_escalate_raises_the_required_levels(session, clock, project):
    r = _raise(session, clock, project, score=4, level="low", levels=1)
    r = records.record_risk_review(session, r.id, level=1, reviewer="sponsor1",
                                   outcome="escalate", comment="Too big for me",
                                   now=clock.now())
    assert r.levels_required == 2 and r.status == "under_review"
    with pytest.raises(InvalidData) as err:
        records.record_risk_review(session, r.id, level=3, reviewer="steer1",
                                   outcome="escalate", now=clock.now())
    assert "outcome" in err.value.errors
    with pytest.raises(InvalidData) as err:
        records.record_risk_review(session, r.id, level=4, reviewer="steer1",
                                   outcome="maybe", now=clock.now())
    assert set(err.value.errors) == {"level", "outcome"}
    r = records.escalate_risk(session, r.id, to_level=3, now=clock.now())  # 48-hour timer
    assert r.levels_required == 3


def test_four_eyes_on_reviews_and_decisions(session, clock, project):
    r = _raise(session, clock, project, score=4, level="low", levels=1)
    with pytest.raises(Forbidden):
        records.record_risk_review(session, r.id, level=1, reviewer="pm1",
                                   outcome="approve", now=clock.now())
    with pytest.raises(Forbidden):
        records.decide_risk(session, r.id, decision="ok", decided_by="pm1", level=1,
                            response_plan="x", now=clock.now())


def test_decision_needs_text_and_close_needs_reason(session, clock, project):
    r = _raise(session, clock, project, score=4, level="low", levels=1)
    with pytest.raises(InvalidData) as err:
        records.decide_risk(session, r.id, decision="", decided_by="sponsor1", level=1,
                            response_plan="", now=clock.now())
    assert set(err.value.errors) == {"decision", "response_plan"}
    with pytest.raises(InvalidData):
        records.close_risk(session, r.id, actor="pm1", now=clock.now(), reason="")
    closed = records.close_risk(session, r.id, actor="pm1", now=clock.now(),
                                reason="Supplier replaced")
    assert closed.status == "closed" and closed.close_reason == "Supplier replaced"
    with pytest.raises(Conflict):
        records.close_risk(session, r.id, actor="pm1", now=clock.now(), reason="again")


def test_register_lists_and_matrix(session, people, clock, project):
    other = approved_project(session, clock, title="Second", pm="pm2")
    _raise(session, clock, project)
    _raise(session, clock, project, category="supplier", score=9, level="medium", levels=2)
    _raise(session, clock, other, category="supplier", score=12, level="medium", levels=2)
    gone = _raise(session, clock, other, category="cost", score=2, level="low", levels=1)
    records.close_risk(session, gone.id, actor="pm2", now=clock.now(), reason="n/a")
    assert records.risk_matrix(session) == {("technical", "high"): 1,
                                            ("supplier", "medium"): 2}
    assert records.risk_matrix(session, include_closed=True)[("cost", "low")] == 1
    rows, total = records.list_risks(session)
    assert total == 4 and [r.score for r in rows] == [20, 12, 9, 2]
    assert records.list_risks(session, project_id=other.id)[1] == 2
    assert records.list_risks(session, category="supplier", level="medium")[1] == 2
    assert records.list_risks(session, status="closed")[0][0].id == gone.id
    page, total = records.list_risks(session, limit=2, offset=2)
    assert total == 4 and [r.score for r in page] == [9, 2]
