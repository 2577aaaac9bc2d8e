"""Files uploaded with forms: stored, linked to the instance, readable by its readers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

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
                                     b"%PDF-1.4 charter")
    assert meta.filename == "charter.pdf" and meta.size == 16 and meta.instance_id is None
    assert meta.content_type == "application/pdf"
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
    theirs = drv.engine.add_attachment(session, "pm2", "secret.xlsx", b"x")
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
        engine.add_attachment(session, "pm1", "a.txt", b"")
    object.__setattr__(engine.settings, "max_attachment_bytes", 10)
    with pytest.raises(InvalidData, match="larger"):
        engine.add_attachment(session, "pm1", "a.txt", b"x" * 11)


@pytest.mark.parametrize(("raw", "clean"), [
    ("report.pdf", "report.pdf"), ("C:\\\\Users\\\\x\\\\plan.docx", "plan.docx"),
    ("a\\x00b.txt", "a_b.txt"), ("", "file"), ("...", "file"), ("x" * 300 + ".pdf", None),
    # Bidirectional overrides, isolates and marks cannot disguise an extension.
    ("invoice\\u202egnp.exe", "invoicegnp.exe"), ("a\\u2066b\\u2069\\u200e\\u200f\\u061c.pdf", "ab.pdf"),
    ("\\u202a\\u202b\\u202c\\u202d.txt", "txt"), ("zero\\u200bwidth\\ufeff.doc", "zerowidth.doc"),
    ("line\\u2028break\\x85.txt", "linebreak_.txt"), ("\\u62a5\\u544a\\u202e.pdf", "报告.pdf"),
])
def test_clean_filename(raw, clean):
    result = clean_filename(raw.encode().decode("unicode_escape"))
    if clean is None:
        assert len(result) <= 200 and result.endswith(".pdf")
    else:
        assert result == clean


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
       b"\x00\x00\x00\x90wS\xde")


@pytest.mark.parametrize(("name", "data", "kind"), [
    ("scan.pdf", PNG, "image/png"),  # the bytes decide, not the name
    ("photo.png", b"%PDF-1.7\n1 0 obj", "application/pdf"),
    ("page.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "text/html"),
    ("notes.txt", "Plain text, 中文 too.\n".encode(), "text/plain"),
    ("table.csv", b"a,b\n1,2\n", "text/csv"),
    ("legacy.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "application/msword"),
    ("blob.bin", b"\x00\x01\x02\x03 not anything", "application/octet-stream"),
])
def test_type_is_sniffed_from_the_bytes(drv, session, name, data, kind):
    assert drv.engine.add_attachment(session, "pm1", name, data).content_type == kind


def test_office_files_are_told_apart(drv, session):
    import io
    import zipfile

    def ooxml(part: str) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            z.writestr("[Content_Types].xml", "<Types/>")
            z.writestr(part, "<x/>")
        return out.getvalue()

    docx = drv.engine.add_attachment(session, "pm1", "plan.docx", ooxml("word/document.xml"))
    xlsx = drv.engine.add_attachment(session, "pm1", "wbs.xlsx", ooxml("xl/workbook.xml"))
    assert docx.content_type.endswith("wordprocessingml.document")
    assert xlsx.content_type.endswith("spreadsheetml.sheet")


def test_quota_of_unattached_uploads_per_person(drv, session, engine):
    object.__setattr__(engine.settings, "upload_quota_bytes", 25)
    first = engine.add_attachment(session, "pm1", "a.txt", b"x" * 20)
    with pytest.raises(InvalidData) as err:
        engine.add_attachment(session, "pm1", "b.txt", b"y" * 6)
    assert "limit" in err.value.errors["file"] and "0 MB" in err.value.errors["file"]
    engine.add_attachment(session, "pm2", "b.txt", b"y" * 6)  # someone else's quota
    drv.start("approval3", data={"title": "A", "budget": 1,
                                 "charter": {"attachment_id": first.id, "name": "a.txt"}})
    engine.add_attachment(session, "pm1", "b.txt", b"y" * 6)  # attached bytes do not count


def test_unattached_uploads_older_than_a_day_are_deleted(drv, session, engine, clock):
    from engine.store.models import Attachment, HumanTask

    old = engine.add_attachment(session, "pm1", "old.txt", b"old")
    kept = engine.add_attachment(session, "pm1", "draft.txt", b"in a draft")
    used = engine.add_attachment(session, "pm1", "used.txt", b"attached")
    inst = drv.start("approval3", data={"title": "A", "budget": 1,
                                        "charter": {"attachment_id": used.id, "name": "u"}})
    review = drv.task(inst.id, "review")
    session.get(HumanTask, review.id).draft = {"doc": {"attachment_id": kept.id, "name": "d"}}
    session.commit()
    clock.advance(hours=23)
    fresh = engine.add_attachment(session, "pm1", "fresh.txt", b"new")
    assert engine.purge_unlinked_uploads(session) == 0
    clock.advance(hours=2)
    assert engine.purge_unlinked_uploads(session) == 1
    session.expire_all()
    left = set(session.scalars(select(Attachment.id)))
    assert left == {kept.id, used.id, fresh.id} and old.id not in left
