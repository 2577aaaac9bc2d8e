"""A process owner's Camunda 7 import kept between visits (both databases): files kept as
uploaded, choices checked and kept, converted again with them, saved as drafts."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import Forbidden, InvalidData, NotFound
from engine.services import ServiceRegistry

DIAGRAM = (Path(__file__).resolve().parents[1] / "webui" / "browser" / "data"
           / "camunda7_purchase.bpmn").read_bytes()


@pytest.fixture
def engine_with_op(clock, settings):
    from engine.api import Engine

    return Engine(clock=clock, settings=settings,
                  services=ServiceRegistry([("send_note", lambda call: None)]))


def test_import_choose_convert_again_and_save(session, people, engine_with_op) -> None:
    engine = engine_with_op
    import_id = engine.start_camunda_import(session, "owner1", {"p.bpmn": DIAGRAM})
    first = engine.camunda_import(session, "owner1", import_id)
    assert first.file_names == ("p.bpmn",)
    assert first.result.status["p.bpmn"] == "cannot_run"
    assert first.result.unknown_groups == ("management",)
    assert "pmo_reviewer" in first.roles and first.known_operations == ("send_note",)
    assert engine.camunda_import_file(session, "owner1", import_id, "p.bpmn") == DIAGRAM

    with pytest.raises(InvalidData) as refused:
        engine.choose_camunda_mapping(session, "owner1", import_id,
                                      group_roles={"management": "nobody"},
                                      operations={"notify": "fax"})
    assert set(refused.value.errors) == {"role:management", "operation:notify"}

    engine.choose_camunda_mapping(session, "owner1", import_id,
                                  group_roles={"management": "pmo_reviewer"},
                                  operations={"notify": "send_note"})
    again = engine.camunda_import(session, "owner1", import_id)
    assert again.result.status["p.bpmn"] == "converted", [str(e) for e in again.result.report]
    assert again.group_roles == {"management": "pmo_reviewer"}

    [draft] = engine.save_camunda_import(session, "owner1", import_id)
    assert draft.process_key == "c7_purchase"
    xml = engine.process_draft(session, "owner1", draft.id).xml
    assert engine.validate_draft(session, xml.encode(), "owner1") == []

    # the next import starts with this mapping
    second = engine.start_camunda_import(session, "owner1", {"p.bpmn": DIAGRAM})
    assert engine.camunda_import(session, "owner1", second).result.unknown_groups == ()


def test_imports_are_the_owners_own(session, people, engine_with_op) -> None:
    engine = engine_with_op
    import_id = engine.start_camunda_import(session, "owner1", {"p.bpmn": DIAGRAM})
    with pytest.raises(Forbidden):
        engine.camunda_import(session, "pm1", import_id)  # not a process owner
    with pytest.raises(NotFound):
        engine.camunda_import_file(session, "owner1", import_id, "other.bpmn")
    with pytest.raises(InvalidData):
        engine.start_camunda_import(session, "owner1", {})
    with pytest.raises(InvalidData):
        engine.start_camunda_import(session, "owner1", {"a.txt": b"x"})
