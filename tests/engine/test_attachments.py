"""Files uploaded with forms: stored, linked to the instance, readable by its readers."""

from __future__ import annotations

import pytest

from engine.attachments import clean_filename
from engine.errors import Forbidden, InvalidData
from tests.engine.driver import Driver


@pytest.fixture
def drv(engine, session, clock, people) -> Driver:
    d = Driver(engine, session, clock)
    d.deploy("approval3.bpmn")
    return d


def test_upload_attach_and_read(drv, session):
    meta = drv.engine.add_attachment(session, "pm1", "../../etc/charter.pdf",
                                     "application/pdf", b"%PDF-1.4 charter")
    assert meta.filename == "charter.pdf" and meta.size == 16 and meta.instance_id is None
    # Before it is attached only the uploader may read it.
    assert drv.engine.attachment(session, meta.id, "pm1")[1] == b"%PDF-1.4 charter"
    with pytest.raises(Forbidden):
        drv.engine.attachment(session, meta.id, "reviewer1")
    inst = drv.start("approval3", data={"title": "A", "budget": 1,
                                        "charter": {"attachment_id": meta.id,
                                                    "name": "charter.pdf"}})
    view, data = drv.engine.attachment(session, meta.id, "reviewer1")
    assert view.instance_id == inst.id and data == b"%PDF-1.4 charter"
    with pytest.raises(Forbidden):
        drv.engine.attachment(session, meta.id, "finance1")


def test_a_form_cannot_claim_someone_elses_file(drv, session):
    theirs = drv.engine.add_attachment(session, "pm2", "secret.xlsx", "application/x", b"x")
    with pytest.raises(InvalidData) as err:
        drv.start("approval3", data={"title": "A", "budget": 1,
                                     "docs": [{"attachment_id": theirs.id, "name": "s"}]})
    assert err.value.errors == {"docs.0": "This attachment does not exist or is not yours "
                                          "to attach."}
    with pytest.raises(InvalidData):
        drv.start("approval3", data={"title": "A", "budget": 1,
                                     "doc": {"attachment_id": 99999, "name": "x"}})
    assert drv.engine.instances(session) == []


def test_empty_and_oversized_files_are_refused(drv, session, engine):
    with pytest.raises(InvalidData, match="empty"):
        engine.add_attachment(session, "pm1", "a.txt", "text/plain", b"")
    object.__setattr__(engine.settings, "max_attachment_bytes", 10)
    with pytest.raises(InvalidData, match="larger"):
        engine.add_attachment(session, "pm1", "a.txt", "text/plain", b"x" * 11)


@pytest.mark.parametrize(("raw", "clean"), [
    ("report.pdf", "report.pdf"), ("C:\\\\Users\\\\x\\\\plan.docx", "plan.docx"),
    ("a\\x00b.txt", "a_b.txt"), ("", "file"), ("...", "file"), ("x" * 300 + ".pdf", None),
])
def test_clean_filename(raw, clean):
    result = clean_filename(raw.encode().decode("unicode_escape"))
    if clean is None:
        assert len(result) <= 200 and result.endswith(".pdf")
    else:
        assert result == clean
