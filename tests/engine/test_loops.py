"""Loops beyond SpiffWorkflow's 1,000-level depth limit run and stay small."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import TaskFailed
from engine.spiff.bundle import SourceFile
from engine.store.models import ProcessInstance
from tests.engine.driver import HERE, Driver
from tests.support import instance_data, visited_elements


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    return Driver(engine, session, clock)


def _state_size(session, instance_id: int) -> int:
    session.expire_all()
    return len(session.get(ProcessInstance, instance_id).state)


def test_user_loop_1001_passes_completes_with_bounded_state(drv, session):
    drv.deploy("loop_user.bpmn")
    inst = drv.start("loop_user")
    sizes = {}
    for n in range(1, 1002):
        drv.complete(inst.id, "work", "pm1", {"again": n < 1001, "last": n})
        if n in (10, 100, 1000):
            sizes[n] = _state_size(session, inst.id)
    done = drv.instance(inst.id)
    assert done.status == "completed"
    assert instance_data(drv.engine, session, inst.id)["last"] == 1001
    assert visited_elements(drv.engine, session, inst.id)["work"] == 1001
    # Pruned before every save: the state does not grow with the pass count.
    assert sizes[1000] <= sizes[10] * 1.2, sizes
    assert sizes[1000] < 20_000, sizes


def test_automatic_loop_3000_passes_in_one_step(drv, session):
    drv.deploy("loop_auto.bpmn")
    inst = drv.start("loop_auto", data={"limit": 3000})
    assert drv.task(inst.id, "done").name == "Look at result"
    data = instance_data(drv.engine, session, inst.id)
    assert data["n"] == 3000 and data["total"] == 3000 * 3001 // 2
    assert _state_size(session, inst.id) < 20_000
    drv.complete(inst.id, "done", "pm1")
    assert drv.instance(inst.id).status == "completed"


def test_visit_cap_fails_loudly_and_rolls_back(drv, session):
    drv.deploy("loop_auto.bpmn")
    with pytest.raises(TaskFailed) as err:
        drv.start("loop_auto", data={"limit": 10_000})
    assert err.value.element_id == "step"
    assert "more than 5000 times" in str(err.value)
    assert session.scalars(select(ProcessInstance)).all() == []


def test_engine_default_cap_applies_without_process_setting(drv, session, engine):
    xml = (HERE / "loop_auto.bpmn").read_text().replace(
        '<spiffworkflow:property name="maxElementVisits" value="5000"/>', "")
    drv.engine.deploy(session, [SourceFile("loop_auto.bpmn", xml.encode())], "owner1")
    object.__setattr__(engine.settings, "max_element_visits", 50)
    with pytest.raises(TaskFailed, match="more than 50 times"):
        drv.start("loop_auto", data={"limit": 51})
    inst = drv.start("loop_auto", data={"limit": 50})
    assert drv.task(inst.id, "done")
