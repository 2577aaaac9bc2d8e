"""A Camunda 7 approval, imported and run end to end by the engine (SQLite and PostgreSQL).

The diagram (``data/approval.bpmn``) is what Camunda Modeler saves: candidate groups,
generated forms, JUEL conditions, a boundary timer, a multi-instance sign-off over
``camunda:collection`` and a Java delegate.  The owner maps the groups to roles and binds
the delegate to a registered operation; the converted files deploy as they are.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.camunda7 import import_camunda
from engine.errors import Forbidden
from engine.services import ServiceCall
from engine.spiff.bundle import SourceFile
from tests.engine.driver import Driver
from tests.support import instance_data, visited_elements

DATA = Path(__file__).parent / "data"
ROLES = {"management": "pmo_head", "directors": "steering", "*": "team"}


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    orders: list[dict] = []

    def place_order(call: ServiceCall) -> dict:
        orders.append(dict(call.params))
        return {"order": len(orders)}

    engine.services.register("place_order", place_order)
    driver = Driver(engine, session, clock)
    driver.orders = orders  # type: ignore[attr-defined]
    return driver


def _deploy(drv: Driver) -> None:
    result = import_camunda(
        {"approval.bpmn": (DATA / "approval.bpmn").read_bytes()},
        group_roles=ROLES,
        operations={"order": "place_order"},
        known_operations=drv.engine.services.names(),
        known_roles={"pmo_head", "steering", "team", "pm"},
    )
    assert result.status == {"approval.bpmn": "needs_decision"}, [str(e) for e in result.report]
    files = [SourceFile(name, content) for name, content in result.files.items()]
    assert drv.engine.validate(drv.session, files) == []
    drv.engine.deploy(drv.session, files, "owner1")


def test_small_purchase_approved_goes_to_the_mapped_role_and_the_bound_operation(drv, session):
    _deploy(drv)
    inst = drv.start("purchase_approval", data={"item": "Laptop", "amount": 1200})
    review = drv.task(inst.id, "review")
    assert review.role == "pmo_head"
    with pytest.raises(Forbidden):
        drv.complete(inst.id, "review", "team1", {"approved": True})
    drv.complete(inst.id, "review", "pmohead", {"approved": True, "comment": "ok"})
    assert drv.instance(inst.id).status == "completed"
    assert drv.orders == [{"what": "Laptop"}]
    data = instance_data(drv.engine, session, inst.id)
    assert data["requester"] == "pm1"  # camunda:initiator
    assert "ordered" in visited_elements(drv.engine, session, inst.id)


def test_rejection_takes_the_other_branch(drv, session):
    _deploy(drv)
    inst = drv.start("purchase_approval", data={"item": "Yacht", "amount": 90000})
    drv.complete(inst.id, "review", "pmohead", {"approved": False})
    assert drv.instance(inst.id).status == "completed"
    visited = visited_elements(drv.engine, session, inst.id)
    assert "rejected" in visited and "ordered" not in visited
    assert drv.orders == []


def test_large_purchase_signed_off_by_each_signer(drv, session):
    _deploy(drv)
    inst = drv.start(
        "purchase_approval",
        data={"item": "Server", "amount": 25000, "signers": ["team1", "steer1"]},
    )
    drv.complete(inst.id, "review", "pmohead", {"approved": True})
    tasks = [t for t in drv.open_tasks(inst.id) if t.element_id == "signoff"]
    assert sorted(t.assignee for t in tasks) == ["steer1", "team1"]
    for task in tasks:
        drv.engine.complete(session, task.id, task.assignee, {"agree": True})
    assert drv.instance(inst.id).status == "completed"
    assert drv.orders == [{"what": "Server"}]


def test_review_late_after_two_days_escalates_to_directors(drv, session):
    _deploy(drv)
    inst = drv.start("purchase_approval", data={"item": "Desk", "amount": 300})
    drv.advance_and_fire(days=1)
    assert drv.task(inst.id, "review")
    drv.advance_and_fire(days=1, minutes=1)
    assert [t.element_id for t in drv.open_tasks(inst.id)] == ["escalated"]
    assert drv.task(inst.id, "escalated").role == "steering"
    drv.complete(inst.id, "escalated", "steer1", {"approved": True})
    assert drv.instance(inst.id).status == "completed"
    assert drv.orders == [{"what": "Desk"}]
