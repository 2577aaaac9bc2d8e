"""Escalation log: triage, PMO and steering decisions, hand-back, resolve, reopen."""

from __future__ import annotations

from datetime import date

import pytest

from engine.errors import Conflict, Forbidden, InvalidData
from tests.workflows.factories import approved_project, escalation_data
from workflows import records


@pytest.fixture
def projects(session, people, clock):
    return [approved_project(session, clock, title=f"Tower site {n}", pm=pm)
            for n, pm in ((1, "pm1"), (2, "pm2"), (3, "pm2"))]


def _raise(session, clock, projects, **data):
    data.setdefault("affected_project_ids", [projects[1].id, projects[2].id])
    return records.raise_escalation(session, projects[0].id, escalation_data(**data),
                                    actor="pm1", now=clock.now())


def test_raise_round_trip_and_recipients(session, clock, projects):
    e = _raise(session, clock, projects)
    assert e.status == "triage" and e.needed_by == date(2026, 3, 10)
    assert e.affected_project_ids == (projects[1].id, projects[2].id)
    assert e.project_code == projects[0].code and e.reopen_count == 0
    assert records.get_escalation(session, e.id) == e
    assert records.escalation_recipients(session, e.id) == ["pm1", "pm2"]


@pytest.mark.parametrize(("change", "field"), [
    ({"kind": "weather"}, "kind"), ({"severity": "urgent"}, "severity"),
    ({"needed_by": "2026-03-01"}, "needed_by"), ({"needed_by": "next week"}, "needed_by"),
    ({"tried": ""}, "tried"), ({"affected_project_ids": [999_999]}, "affected_project_ids"),
    ({"affected_project_ids": "7,8"}, "affected_project_ids"),
])
def test_bad_escalation_names_the_field(session, clock, projects, change, field):
    with pytest.raises(InvalidData) as err:
        _raise(session, clock, projects, **change)
    assert field in err.value.errors


def test_affected_projects_exclude_the_raising_one(session, clock, projects):
    with pytest.raises(InvalidData) as err:
        _raise(session, clock, projects, affected_project_ids=[projects[0].id])
    assert "affected_project_ids" in err.value.errors


def test_pmo_resolves_then_pm_confirms(session, clock, projects):
    e = _raise(session, clock, projects)
    with pytest.raises(Forbidden):
        records.record_escalation_decision(session, e.id, decision="mine", decided_by="pm1",
                                           level="pmo", now=clock.now())
    clock.advance(hours=5)
    e = records.record_escalation_decision(
        session, e.id, decision="Supplier serves site 1 first, then 2 and 3",
        decided_by="reviewer1", level="pmo", now=clock.now())
    assert (e.status, e.decision_level, e.decided_by) == ("decided", "pmo", "reviewer1")
    e = records.resolve_escalation(session, e.id, actor="pm1", now=clock.now(),
                                   resolution="Crew arrived")
    assert e.status == "resolved" and e.resolution == "Crew arrived"
    with pytest.raises(Conflict, match="from resolved"):
        records.reopen_escalation(session, e.id, actor="pm1", now=clock.now(), reason="x")


def test_steering_path_and_reopen_loop(session, clock, projects):
    e = _raise(session, clock, projects)
    e = records.set_escalation_status(session, e.id, "steering", actor="reviewer1",
                                      now=clock.now())
    with pytest.raises(Conflict, match="pmo level cannot decide"):
        records.record_escalation_decision(session, e.id, decision="x",
                                           decided_by="reviewer1", level="pmo",
                                           now=clock.now())
    e = records.record_escalation_decision(session, e.id, decision="Project 1 has priority",
                                           decided_by="steer1", level="steering",
                                           now=clock.now())
    assert (e.status, e.decision_level) == ("decided", "steering")
    with pytest.raises(InvalidData) as err:
        records.reopen_escalation(session, e.id, actor="pm1", now=clock.now(), reason="")
    assert "reason" in err.value.errors
    e = records.reopen_escalation(session, e.id, actor="pm1", now=clock.now(),
                                  reason="Supplier ignored the decision")
    assert (e.status, e.reopen_count) == ("reopened", 1)
    e = records.record_escalation_decision(session, e.id, decision="Talk to the supplier's "
                                           "account manager first", decided_by="reviewer1",
                                           level="pmo", outcome="handed_back",
                                           now=clock.now())
    assert e.status == "handed_back"
    e = records.resolve_escalation(session, e.id, actor="pm1", now=clock.now())
    assert e.status == "resolved"


def test_status_rules(session, clock, projects):
    e = _raise(session, clock, projects)
    with pytest.raises(InvalidData) as err:
        records.set_escalation_status(session, e.id, "decided", actor="x", now=clock.now())
    assert "record_escalation_decision" in err.value.errors["status"]
    with pytest.raises(InvalidData):
        records.set_escalation_status(session, e.id, "lost", actor="x", now=clock.now())
    with pytest.raises(Conflict):
        records.resolve_escalation(session, e.id, actor="pm1", now=clock.now())
    with pytest.raises(InvalidData) as err:
        records.record_escalation_decision(session, e.id, decision="", decided_by="steer1",
                                           level="board", outcome="done", now=clock.now())
    assert set(err.value.errors) == {"decision", "level", "outcome"}


def test_log_lists_with_filters(session, clock, projects):
    a = _raise(session, clock, projects)
    clock.advance(hours=1)
    b = _raise(session, clock, projects, kind="vendor", severity="critical")
    records.set_escalation_status(session, b.id, "pmo", actor="reviewer1", now=clock.now())
    rows, total = records.list_escalations(session)
    assert total == 2 and [r.id for r in rows] == [b.id, a.id]
    assert [r.id for r in records.list_escalations(session, status="pmo")[0]] == [b.id]
    assert records.list_escalations(session, kind="vendor", severity="critical")[1] == 1
    assert records.list_escalations(session, raised_by="pm2")[1] == 0
    assert records.list_escalations(session, project_id=projects[0].id)[1] == 2
