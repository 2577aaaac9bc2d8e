"""Project registry: proposals, validation per field, approval codes, stage transitions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.errors import Conflict, Forbidden, InvalidData, NotFound
from tests.workflows.factories import approved_project, proposal
from workflows import records


def test_proposal_is_registered_as_proposed_without_code(session, people, clock):
    p = records.propose_project(session, proposal(budget={"amount": "1000.5",
                                                          "currency": "usd"}),
                                pm="pm1", now=clock.now(), instance_id=None)
    assert p.stage == "Proposed" and p.code is None and p.approved_at is None
    assert p.budget == records.Money(Decimal("1000.50"), "USD")
    assert p.budget_reporting == records.Money(Decimal("7203.60"), "CNY")
    assert p.planned_start == date(2026, 4, 1) and p.departments == ("IT", "Sales")
    assert p.expected_roi_pct == Decimal("18.50")
    history = records.stage_history(session, p.id)
    assert [(h.from_stage, h.to_stage, h.by) for h in history] == [(None, "Proposed", "pm1")]
    again = records.get_project(session, p.id)
    assert again == p  # the view of a fresh row equals the view of the reloaded row


BAD_PROPOSALS = [
    ({"budget": {"amount": "-5", "currency": "CNY"}}, "budget.amount", "negative"),
    ({"budget": {"amount": "12.345", "currency": "CNY"}}, "budget.amount", "2 decimals"),
    ({"budget": {"amount": 1000.5, "currency": "CNY"}}, "budget.amount", "decimal string"),
    ({"budget": {"amount": "100", "currency": "XYZ"}}, "budget.currency", "Unknown currency"),
    ({"budget": {"amount": "100"}}, "budget.currency", "required"),
    ({"budget": None}, "budget", "required"),
    ({"planned_end": "2026-03-01"}, "planned_end", "before the planned start"),
    ({"planned_start": "2026-02-30"}, "planned_start", "YYYY-MM-DD"),
    ({"sponsor": "pm1"}, "sponsor", "other than the project manager"),
    ({"sponsor": "nobody"}, "sponsor", "No active user"),
    ({"title": "   "}, "title", "required"),
    ({"business_case": None}, "business_case", "required"),
    ({"expected_roi_pct": "5000"}, "expected_roi_pct", "between"),
    ({"expected_roi_pct": "abc"}, "expected_roi_pct", "number"),
    ({"category": "space"}, "category", "one of"),
    ({"risk_rating": "extreme"}, "risk_rating", "one of"),
    ({"headcount": -1}, "headcount", "between"),
    ({"headcount": True}, "headcount", "whole number"),
    ({"departments": []}, "departments", "required"),
]


@pytest.mark.parametrize(("change", "field", "words"), BAD_PROPOSALS,
                         ids=[f"{f}-{w}" for _, f, w in BAD_PROPOSALS])
def test_bad_proposal_names_the_field(session, people, clock, change, field, words):
    with pytest.raises(InvalidData) as err:
        records.propose_project(session, proposal(**change), pm="pm1", now=clock.now())
    assert field in err.value.errors, err.value.errors
    assert words.lower() in err.value.errors[field].lower()


def test_flat_budget_fields_name_themselves(session, people, clock):
    flat = proposal(budget=None, budget_amount="-1", currency="EUR")
    with pytest.raises(InvalidData) as err:
        records.propose_project(session, flat, pm="pm1", now=clock.now())
    assert set(err.value.errors) == {"budget_amount"}
    flat = proposal(budget=None, budget_amount="10", currency="ABC")
    with pytest.raises(InvalidData) as err:
        records.propose_project(session, flat, pm="pm1", now=clock.now())
    assert set(err.value.errors) == {"currency"}
    flat = proposal(budget=None, budget_amount="10", currency="eur")
    p = records.propose_project(session, flat, pm="pm1", now=clock.now())
    assert p.budget_reporting.amount == Decimal("78.00")


def test_every_problem_is_reported_at_once(session, people, clock):
    data = proposal(title="", headcount=-3, planned_end="2020-01-01", sponsor="pm1")
    with pytest.raises(InvalidData) as err:
        records.propose_project(session, data, pm="pm1", now=clock.now())
    assert {"title", "headcount", "planned_end", "sponsor"} <= set(err.value.errors)


def test_approval_allocates_code_and_moves_to_initiation(session, people, clock):
    first = approved_project(session, clock)
    second = approved_project(session, clock, title="ERP")
    assert (first.code, second.code) == ("PRJ-2026-0001", "PRJ-2026-0002")
    assert first.stage == "Initiation" and first.approved_at == clock.now()
    assert records.get_project_by_code(session, "prj-2026-0002").id == second.id
    clock.set("2027-01-04T09:00:00+00:00")
    assert approved_project(session, clock).code == "PRJ-2027-0001"


def test_pm_cannot_approve_or_reject_own_proposal(session, people, clock):
    p = records.propose_project(session, proposal(), pm="pm1", now=clock.now())
    with pytest.raises(Forbidden):
        records.approve_project(session, p.id, actor="pm1", now=clock.now())
    with pytest.raises(Forbidden):
        records.reject_project(session, p.id, actor="pm1", now=clock.now(), reason="no")


def test_rejection_needs_a_reason_and_is_final(session, people, clock):
    p = records.propose_project(session, proposal(), pm="pm1", now=clock.now())
    with pytest.raises(InvalidData) as err:
        records.reject_project(session, p.id, actor="pmohead", now=clock.now(), reason=" ")
    assert "reason" in err.value.errors
    rejected = records.reject_project(session, p.id, actor="pmohead", now=clock.now(),
                                      reason="No strategic fit")
    assert rejected.stage == "Rejected" and rejected.code is None
    with pytest.raises(Conflict, match="cannot go from Rejected to Initiation"):
        records.approve_project(session, p.id, actor="pmohead", now=clock.now())
    assert records.stage_history(session, p.id)[-1].reason == "No strategic fit"


def test_full_lifecycle_and_history(session, people, clock):
    p = approved_project(session, clock)
    for stage in ("Executing", "Closing"):
        clock.advance(days=30)
        records.set_stage(session, p.id, stage, actor="pm1", now=clock.now())
    with pytest.raises(InvalidData) as err:
        records.set_stage(session, p.id, "Executing", actor="sponsor1", now=clock.now())
    assert "reason" in err.value.errors  # a closure sent back carries a comment
    records.set_stage(session, p.id, "Executing", actor="sponsor1", now=clock.now(),
                      reason="Acceptance test 4 failed")
    records.set_stage(session, p.id, "Closing", actor="pm1", now=clock.now())
    closed = records.set_stage(session, p.id, "Closed", actor="pmo_reviewer", now=clock.now())
    assert closed.stage == "Closed" and closed.closed_at == clock.now()
    stages = [(h.from_stage, h.to_stage) for h in records.stage_history(session, p.id)]
    assert stages == [(None, "Proposed"), ("Proposed", "Initiation"),
                      ("Initiation", "Executing"), ("Executing", "Closing"),
                      ("Closing", "Executing"), ("Executing", "Closing"),
                      ("Closing", "Closed")]


@pytest.mark.parametrize(("path", "target"), [
    ((), "Executing"), ((), "Closed"), (("Initiation",), "Proposed"),
    (("Initiation", "Executing"), "Withdrawn"), (("Initiation", "Executing"), "Initiation"),
    (("Initiation", "Closing", "Closed"), "Executing"), (("Initiation",), "Initiation"),
])
def test_illegal_transitions_conflict(session, people, clock, path, target):
    p = records.propose_project(session, proposal(), pm="pm1", now=clock.now())
    for stage in path:
        records.set_stage(session, p.id, stage, actor="pmohead", now=clock.now())
    with pytest.raises(Conflict) as err:
        records.set_stage(session, p.id, target, actor="pmohead", now=clock.now())
    assert f"to {target}" in str(err.value) and "allowed" in str(err.value)


def test_unknown_stage_and_project(session, people, clock):
    p = records.propose_project(session, proposal(), pm="pm1", now=clock.now())
    with pytest.raises(InvalidData) as err:
        records.set_stage(session, p.id, "Done", actor="pmohead", now=clock.now())
    assert "stage" in err.value.errors
    with pytest.raises(NotFound):
        records.get_project(session, 999_999)


def test_set_stage_to_initiation_allocates_code_too(session, people, clock):
    p = records.propose_project(session, proposal(), pm="pm1", now=clock.now())
    moved = records.set_stage(session, p.id, "Initiation", actor="pmohead", now=clock.now())
    assert moved.code == "PRJ-2026-0001"


def test_rework_updates_the_proposal_only_while_proposed(session, people, clock):
    p = records.propose_project(session, proposal(), pm="pm1", now=clock.now())
    clock.advance(days=1)
    revised = records.update_proposal(
        session, p.id, {"budget": {"amount": "90000", "currency": "CNY"}, "headcount": 4},
        actor="pm1", now=clock.now())
    assert revised.budget.amount == Decimal("90000.00") and revised.headcount == 4
    assert revised.title == p.title and revised.updated_at == clock.now()
    with pytest.raises(InvalidData) as err:
        records.update_proposal(session, p.id, {"planned_end": "2025-01-01"}, actor="pm1",
                                now=clock.now())
    assert "planned_end" in err.value.errors
    records.approve_project(session, p.id, actor="pmohead", now=clock.now())
    with pytest.raises(Conflict):
        records.update_proposal(session, p.id, {"headcount": 5}, actor="pm1", now=clock.now())


def test_withdraw_from_proposed_or_initiation_only(session, people, clock):
    p = records.propose_project(session, proposal(), pm="pm1", now=clock.now())
    assert records.withdraw_project(session, p.id, actor="pm1", now=clock.now()).stage == \
        "Withdrawn"
    q = approved_project(session, clock)
    records.set_stage(session, q.id, "Executing", actor="pm1", now=clock.now())
    with pytest.raises(Conflict):
        records.withdraw_project(session, q.id, actor="pm1", now=clock.now())


def test_record_actuals(session, people, clock):
    p = approved_project(session, clock)
    done = records.record_actuals(session, p.id, {
        "actual_end": "2027-01-15", "actual_cost": {"amount": "30000", "currency": "USD"},
        "customer_satisfaction": 4}, actor="pm1", now=clock.now())
    assert done.actual_end == date(2027, 1, 15)
    assert done.actual_cost == records.Money(Decimal("30000.00"), "USD")
    assert done.actual_cost_reporting == records.Money(Decimal("216000.00"), "CNY")
    with pytest.raises(InvalidData) as err:
        records.record_actuals(session, p.id, {"customer_satisfaction": 9,
                                               "actual_cost": {"amount": "1", "currency": "X"}},
                               actor="pm1", now=clock.now())
    assert set(err.value.errors) == {"customer_satisfaction", "actual_cost.currency"}


def test_portfolio_list_filters_counts_and_escapes(session, people, clock):
    a = approved_project(session, clock, title="Data centre 100% renewal")
    b = approved_project(session, clock, title="Tower rollout", pm="pm2")
    c = records.propose_project(session, proposal(title="Mobile app"), pm="pm2",
                                now=clock.now())
    rows, total = records.list_projects(session)
    assert total == 3 and [r.id for r in rows] == [c.id, b.id, a.id]
    assert records.list_projects(session, stage="Proposed")[1] == 1
    assert {r.id for r in records.list_projects(session, pm="pm2")[0]} == {b.id, c.id}
    assert records.list_projects(session, sponsor="sponsor1")[1] == 3
    assert [r.id for r in records.list_projects(session, q="TOWER")[0]] == [b.id]
    assert [r.id for r in records.list_projects(session, q="prj-2026-0001")[0]] == [a.id]
    assert [r.id for r in records.list_projects(session, q="%")[0]] == [a.id]
    assert records.list_projects(session, q="_")[1] == 0
    page, total = records.list_projects(session, limit=1, offset=1)
    assert total == 3 and [r.id for r in page] == [b.id]


def test_to_reporting_and_json():
    assert records.to_reporting(Decimal("100"), "usd") == Decimal("720.00")
    assert records.to_reporting(Decimal("0.005"), "CNY") == Decimal("0.01")  # half up
    assert records.to_reporting(Decimal("1000"), "JPY") == Decimal("48.00")
    with pytest.raises(InvalidData) as err:
        records.to_reporting(Decimal("1"), "BTC")
    assert "currency" in err.value.errors
    money = records.Money(Decimal("7"), "CNY")
    assert records.to_json({"m": money, "d": date(2026, 1, 2), "x": (Decimal("1.5"),)}) == {
        "m": {"amount": "7.00", "currency": "CNY"}, "d": "2026-01-02", "x": ["1.5"]}


def test_project_view_as_task_data(session, people, clock):
    p = approved_project(session, clock)
    data = records.to_json(p)
    assert data["budget"] == {"amount": "250000.00", "currency": "CNY"}
    assert data["planned_start"] == "2026-04-01" and data["code"] == "PRJ-2026-0001"
    assert data["approved_at"] == "2026-03-02T09:00:00+00:00"
    assert data["expected_roi_pct"] == "18.50" and data["departments"] == ["IT", "Sales"]
