"""Files on forms: upload on start and on a task, keep after errors and in drafts, download."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from engine.spiff.bundle import SourceFile
from tests.support import instance_data as read_instance_data
from tests.webui.conftest import csrf_token, login, one, parse_html
from webui.extensions import db

HERE = Path(__file__).parent / "processes" / "attachments"
PDF = b"%PDF-1.4\n% a charter\n"


@pytest.fixture
def attach(app):
    """The ``attach`` process: a charter (and annexes) on start, a report on review."""
    files = [SourceFile("attach.bpmn", (HERE / "attach.bpmn").read_bytes())]
    files += [SourceFile(f"forms/{p.name}", p.read_bytes())
              for p in sorted((HERE / "forms").glob("*.json"))]
    with app.app_context():
        app.extensions["pmoflow"].engine.deploy(db.session, files, "owner1")
        db.session.remove()
    return "attach"


def upload(name: str, data: bytes = PDF, kind: str = "application/pdf") -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name, content_type=kind)


def send(client, path: str, fields: dict, token_from: str):
    """A multipart POST with a CSRF token, the way the browser sends the form.

    The body is encoded in memory: the test client would spool a large one to a temporary
    file it never closes.
    """
    form = MultiDict({"csrf_token": csrf_token(client, token_from)})
    for key, value in fields.items():
        for v in value if isinstance(value, list) else [value]:
            form.add(key, v if isinstance(v, FileStorage) else str(v))
    boundary, body = encode_multipart(form)
    return client.post(path, data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def start(client, fields: dict):
    return send(client, "/processes/attach/start", fields, "/processes/attach/start")


def instance_data(app, instance_id: int) -> dict:
    with app.app_context():
        return read_instance_data(app.extensions["pmoflow"].engine, db.session, instance_id)


def started(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def error_for(html: str, name: str) -> str:
    found = re.search(rf'data-error-for="{re.escape(name)}">([^<]*)<', html)
    assert found, f"no error beside {name}"
    return found.group(1)


def limit_files_to(app, max_bytes: int) -> None:
    eng = app.extensions["pmoflow"].engine
    eng.ctx.settings = dataclasses.replace(eng.settings, max_attachment_bytes=max_bytes)


def test_start_form_has_a_file_input_and_sends_multipart(client, attach):
    login(client, "pm1")
    d = parse_html(client.get("/processes/attach/start").get_data(as_text=True))
    assert one(d, '//form[@data-testid="start-form"]').get("enctype") == "multipart/form-data"
    charter = one(d, '//input[@id="f-charter"]')
    assert charter.get("type") == "file" and charter.get("name") == "charter"
    assert charter.get("multiple") is None and charter.get("disabled") is None
    assert one(d, '//input[@id="f-annexes"]').get("multiple") is not None
    assert one(d, '//label[@for="f-charter"]').text.startswith("Charter")


def test_upload_on_start_links_files_and_shows_download_links(client, app, attach):
    login(client, "pm1")
    instance_id = started(start(client, {
        "title": "Data centre", "charter": upload("charter.pdf"),
        "annexes": [upload("wbs.csv", b"a,b\n", "text/csv"), upload("risks.txt", b"r", "")],
    }))
    data = instance_data(app, instance_id)
    charter_id = data["charter"]["attachment_id"]
    assert data["charter"] == {"attachment_id": charter_id, "name": "charter.pdf"}
    assert [a["name"] for a in data["annexes"]] == ["wbs.csv", "risks.txt"]
    html = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    summary = parse_html(html).xpath('//*[@data-testid="summary"]')[0]
    links = summary.xpath('.//a[@data-testid="attachment-link"]')
    assert links[0].get("href") == f"/attachments/{charter_id}"
    assert [a.text_content().strip() for a in links] == ["charter.pdf", "wbs.csv", "risks.txt"]
    response = client.get(f"/attachments/{charter_id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline;")  # a PDF opens
    assert "filename*=UTF-8''charter.pdf" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_reviewer_downloads_from_the_task_page_and_a_stranger_may_not(client, app, arrange,
                                                                        attach):
    login(client, "pm1")
    instance_id = started(start(client, {"title": "Data centre",
                                         "charter": upload("charter.pdf")}))
    charter_id = instance_data(app, instance_id)["charter"]["attachment_id"]
    task = arrange.task(instance_id)
    reviewer = app.test_client()
    login(reviewer, "reviewer1")
    d = parse_html(reviewer.get(f"/tasks/{task.id}").get_data(as_text=True))
    # shown once: the read-only charter field of the form, not again in the summary
    summary = one(d, '//*[@data-testid="summary"]')
    assert not summary.xpath(f'.//a[@href="/attachments/{charter_id}"]')
    assert len(d.xpath(f'//a[@href="/attachments/{charter_id}"]')) == 1
    # the read-only charter field shows the link but submits nothing
    field = one(d, '//form//*[@data-field="charter"]')
    assert field.xpath(f'.//a[@href="/attachments/{charter_id}"]')
    assert not field.xpath('.//input')
    assert reviewer.get(f"/attachments/{charter_id}").data == PDF
    stranger = app.test_client()
    login(stranger, "finance1")
    assert stranger.get(f"/attachments/{charter_id}").status_code == 403
    assert stranger.get("/attachments/999999").status_code == 404
    anonymous = app.test_client()
    assert anonymous.get(f"/attachments/{charter_id}").status_code == 302  # to sign in


def test_upload_on_a_task_and_the_starter_can_read_it(client, app, arrange, attach):
    login(client, "pm1")
    instance_id = started(start(client, {"title": "T", "charter": upload("charter.pdf")}))
    task = arrange.task(instance_id)
    reviewer = app.test_client()
    login(reviewer, "reviewer1")
    d = parse_html(reviewer.get(f"/tasks/{task.id}").get_data(as_text=True))
    assert one(d, '//form[@data-testid="task-form"]').get("enctype") == "multipart/form-data"
    response = send(reviewer, f"/tasks/{task.id}", {
        "decision": "reject", "action": "complete",
        "report": upload("review.docx", b"PK\x03\x04 report",
                         "application/vnd.openxmlformats-officedocument."
                         "wordprocessingml.document")}, f"/tasks/{task.id}")
    assert response.status_code == 302, response.get_data(as_text=True)
    report = instance_data(app, instance_id)["report"]
    assert report["name"] == "review.docx"
    got = client.get(f"/attachments/{report['attachment_id']}")
    assert got.status_code == 200 and got.data == b"PK\x03\x04 report"


def test_missing_required_file_and_empty_file_are_shown_beside_the_field(client, attach):
    login(client, "pm1")
    response = start(client, {"title": "T"})
    assert response.status_code == 422
    assert error_for(response.get_data(as_text=True), "charter") == "This field is required."
    response = start(client, {"title": "T", "charter": upload("charter.pdf", b"")})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert error_for(html, "charter") == "The file is empty."
    assert one(parse_html(html), '//input[@id="f-charter"]').get("aria-invalid") == "true"
    assert 'href="#f-charter"' in html  # listed in the error summary


def test_too_large_file_is_shown_beside_the_field(client, app, attach):
    limit_files_to(app, 1024 * 1024)
    login(client, "pm1")
    response = start(client, {"title": "T",
                              "charter": upload("big.pdf", b"x" * (1024 * 1024 + 1))})
    assert response.status_code == 422
    assert error_for(response.get_data(as_text=True), "charter") == \
        "The file is larger than 1 MB."


def test_default_limit_file_over_10_mb_is_refused_beside_the_field(client, app, attach):
    assert app.extensions["pmoflow"].engine.settings.max_attachment_bytes == 10 * 1024 * 1024
    login(client, "pm1")
    response = start(client, {"title": "T",
                              "charter": upload("big.pdf", b"x" * (10 * 1024 * 1024 + 1))})
    assert response.status_code == 422
    assert error_for(response.get_data(as_text=True), "charter") == \
        "The file is larger than 10 MB."


def test_a_request_far_too_large_gets_the_error_page(client, app, attach):
    limit_files_to(app, 1024 * 1024)
    login(client, "pm1")
    response = start(client, {"title": "T", "charter": upload("huge.pdf", b"x" * 7_000_000)})
    assert response.status_code == 413
    assert "What you sent is too large." in response.get_data(as_text=True)


def test_uploaded_file_is_kept_after_a_validation_error(client, app, attach):
    login(client, "pm1")
    response = start(client, {"title": "", "charter": upload("charter.pdf")})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert error_for(html, "title") == "This field is required."
    d = parse_html(html)
    kept = one(d, '//input[@name="charter.attachment_id"]')
    assert kept.get("type") == "hidden"
    assert one(d, '//input[@name="charter.name"]').get("value") == "charter.pdf"
    remove = one(d, '//input[@name="charter.remove"]')
    assert one(d, f'//label[@for="{remove.get("id")}"]').text_content().startswith("Clear")
    attachment_id = int(kept.get("value"))
    assert client.get(f"/attachments/{attachment_id}").data == PDF  # still the uploader's
    instance_id = started(start(client, {"title": "T", "charter.attachment_id": attachment_id,
                                         "charter.name": "charter.pdf"}))
    assert instance_data(app, instance_id)["charter"]["attachment_id"] == attachment_id


def test_remove_box_drops_a_kept_file_and_a_new_file_replaces_it(client, app, attach):
    login(client, "pm1")
    html = start(client, {"title": "", "charter": upload("old.pdf")}).get_data(as_text=True)
    old_id = one(parse_html(html), '//input[@name="charter.attachment_id"]').get("value")
    response = start(client, {"title": "T", "charter.attachment_id": old_id,
                              "charter.name": "old.pdf", "charter.remove": "on"})
    assert response.status_code == 422
    assert error_for(response.get_data(as_text=True), "charter") == "This field is required."
    instance_id = started(start(client, {"title": "T", "charter.attachment_id": old_id,
                                         "charter.name": "old.pdf",
                                         "charter": upload("new.pdf")}))
    assert instance_data(app, instance_id)["charter"]["name"] == "new.pdf"


def test_kept_files_of_a_list_and_new_ones_add_up(client, app, attach):
    login(client, "pm1")
    html = start(client, {"title": "", "charter": upload("c.pdf"),
                          "annexes": [upload("a1.txt", b"1", "text/plain")]}
                 ).get_data(as_text=True)
    d = parse_html(html)
    annex = one(d, '//input[@name="annexes.0.attachment_id"]').get("value")
    charter = one(d, '//input[@name="charter.attachment_id"]').get("value")
    instance_id = started(start(client, {
        "title": "T", "charter.attachment_id": charter, "charter.name": "c.pdf",
        "annexes.0.attachment_id": annex, "annexes.0.name": "a1.txt",
        "annexes": [upload("a2.txt", b"2", "text/plain")]}))
    assert [a["name"] for a in instance_data(app, instance_id)["annexes"]] == ["a1.txt",
                                                                             "a2.txt"]


def test_someone_elses_file_id_is_refused_beside_the_field(client, app, attach):
    other = app.test_client()
    login(other, "pm2")
    html = start(other, {"title": "", "charter": upload("secret.pdf")}).get_data(as_text=True)
    foreign = one(parse_html(html), '//input[@name="charter.attachment_id"]').get("value")
    login(client, "pm1")
    assert client.get(f"/attachments/{foreign}").status_code == 403
    response = start(client, {"title": "T", "charter.attachment_id": foreign,
                              "charter.name": "mine.pdf"})
    assert response.status_code == 422
    assert "not yours to attach" in error_for(response.get_data(as_text=True), "charter")


def test_draft_keeps_the_uploaded_file(client, app, arrange, attach):
    login(client, "pm1")
    instance_id = started(start(client, {"title": "T", "charter": upload("charter.pdf")}))
    task = arrange.task(instance_id)
    reviewer = app.test_client()
    login(reviewer, "reviewer1")
    response = send(reviewer, f"/tasks/{task.id}", {
        "action": "draft", "report": upload("notes.txt", b"half done", "text/plain")},
        f"/tasks/{task.id}")
    assert response.status_code == 302
    d = parse_html(reviewer.get(f"/tasks/{task.id}").get_data(as_text=True))
    assert one(d, '//*[@data-testid="draft-restored"]') is not None
    kept = one(d, '//input[@name="report.attachment_id"]').get("value")
    assert one(d, '//form//*[@data-field="report"]//a[@data-testid="attachment-link"]'
               ).text_content().strip() == "notes.txt"
    response = send(reviewer, f"/tasks/{task.id}", {
        "action": "complete", "decision": "accept", "report.attachment_id": kept,
        "report.name": "notes.txt"}, f"/tasks/{task.id}")
    assert response.status_code == 302
    assert instance_data(app, instance_id)["report"]["attachment_id"] == int(kept)


def test_upload_error_on_a_task_shows_every_field_error(client, app, arrange, attach):
    login(client, "pm1")
    instance_id = started(start(client, {"title": "T", "charter": upload("charter.pdf")}))
    task = arrange.task(instance_id)
    login(client, "reviewer1")
    response = send(client, f"/tasks/{task.id}", {
        "action": "complete", "report": upload("empty.txt", b"", "text/plain")},
        f"/tasks/{task.id}")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert error_for(html, "report") == "The file is empty."
    assert error_for(html, "decision") == "This field is required."


def test_chinese_file_name_download_header(client, app, attach):
    login(client, "pm1")
    instance_id = started(start(client, {"title": "T", "charter": upload("项目章程.pdf")}))
    charter = instance_data(app, instance_id)["charter"]
    assert charter["name"] == "项目章程.pdf"
    header = client.get(f"/attachments/{charter['attachment_id']}").headers[
        "Content-Disposition"]
    assert header == ("inline; filename=\"attachment.pdf\"; "
                      f"filename*=UTF-8''{quote('项目章程.pdf')}")
    assert "filename*=UTF-8''%E9%A1%B9%E7%9B%AE%E7%AB%A0%E7%A8%8B.pdf" in header


def test_html_and_svg_are_never_served_inline(client, app, attach):
    login(client, "pm1")
    instance_id = started(start(client, {
        "title": "T", "charter": upload("page.html", b"<script>alert(1)</script>", "text/html"),
        "annexes": [upload("logo.svg", b"<svg onload='x()'/>", "image/svg+xml")]}))
    data = instance_data(app, instance_id)
    for ref, kind in ((data["charter"], "text/plain"),  # no markup signature: plain text
                      (data["annexes"][0], "application/octet-stream")):
        response = client.get(f"/attachments/{ref['attachment_id']}")
        assert response.headers["Content-Type"].split(";")[0] == kind
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]


def test_widgets_charter_is_a_link_on_the_reviewers_task(client, app, arrange):
    login(client, "pm1")
    response = send(client, "/processes/widgets/start", {
        "title": "Robots", "budget.amount": "100", "budget.currency": "CNY",
        "category": "it", "charter": upload("charter.pdf")}, "/processes/widgets/start")
    instance_id = started(response)
    task = arrange.task(instance_id)
    login(client, "reviewer1")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    summary = one(parse_html(html), '//*[@data-testid="summary"]')
    link = one(summary, './/a[@data-testid="attachment-link"]')
    assert link.text_content().strip() == "charter.pdf"
    assert client.get(link.get("href")).data == PDF


FILE = {"type": "object", "x-widget": "file"}
SCHEMA = {"type": "object", "properties": {
    "charter": FILE, "annexes": {"type": "array", "x-widget": "file", "items": FILE},
    "locked": {**FILE, "readOnly": True},
    "rows": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}, "doc": FILE}}}}}


def test_parser_reads_kept_files_and_which_inputs_take_uploads():
    from webui.formparse import parse_form, upload_field, with_uploads

    assert upload_field(SCHEMA, "charter") == FILE
    assert upload_field(SCHEMA, "rows.2.doc") == FILE
    assert upload_field(SCHEMA, "annexes")["type"] == "array"
    assert [upload_field(SCHEMA, n) for n in ("locked", "rows.2.name", "nope", "")] == [None] * 4
    form = with_uploads(MultiDict([("charter.attachment_id", "4"), ("charter.name", "old.pdf"),
                                   ("charter.remove", "on"), ("annexes.0.attachment_id", "5"),
                                   ("annexes.0.name", "a.txt"), ("rows.0.name", "x"),
                                   ("locked.attachment_id", "9")]),
                        {"charter": [{"attachment_id": 7, "name": "new.pdf"}],
                         "annexes": [{"attachment_id": 8, "name": "b.txt"}],
                         "rows.1.doc": [{"attachment_id": 6, "name": "r.pdf"}]},
                        {"annexes": True})
    data = parse_form(SCHEMA, form)
    assert data["charter"] == {"attachment_id": 7, "name": "new.pdf"}  # replaced, not removed
    assert data["annexes"] == [{"attachment_id": 5, "name": "a.txt"},
                               {"attachment_id": 8, "name": "b.txt"}]
    assert data["rows"] == [{"name": "x"}, {"doc": {"attachment_id": 6, "name": "r.pdf"}}]
    assert "locked" not in data
    bad = MultiDict([("charter.attachment_id", "x1"), ("annexes.0.attachment_id", "²"),
                     ("annexes.1.attachment_id", "3"), ("annexes.1.remove", "on")])
    assert parse_form(SCHEMA, bad) == {}


def test_file_field_renders_kept_files_and_their_errors():
    from webui.formview import build_form

    form = build_form(SCHEMA, {"charter": {"attachment_id": 3, "name": "c.pdf"},
                               "annexes": [{"attachment_id": 4, "name": "a"}, {"bad": 1}]},
                      {"annexes.0": "This attachment does not exist or is not yours to attach."})
    charter, annexes = form.fields[0], form.fields[1]
    assert [(o.value, o.label) for o in charter.options] == [("3", "c.pdf")]
    assert charter.attrs == {"multiple": False} and annexes.attrs == {"multiple": True}
    assert [o.value for o in annexes.options] == ["4"]
    assert annexes.error == "This attachment does not exist or is not yours to attach."
    assert form.other_errors == []


def test_the_type_comes_from_the_bytes_not_from_the_browser(client, app, attach):
    login(client, "pm1")
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
           b"\x00\x00\x00\x90wS\xde")
    instance_id = started(start(client, {
        "title": "T",
        "charter": upload("invoice.pdf", b"<html><script>alert(1)</script></html>",
                          "application/pdf"),
        "annexes": [upload("photo.txt", png, "text/plain"),
                    upload("notes.txt", "计划 plan\n".encode(), "application/x-msdownload")]}))
    data = instance_data(app, instance_id)
    disguised = client.get(f"/attachments/{data['charter']['attachment_id']}")
    assert disguised.headers["Content-Type"] == "application/octet-stream"
    assert disguised.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in disguised.headers["Content-Security-Policy"]
    image = client.get(f"/attachments/{data['annexes'][0]['attachment_id']}")
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["Content-Disposition"].startswith("inline;")
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    text = client.get(f"/attachments/{data['annexes'][1]['attachment_id']}")
    assert text.headers["Content-Type"].startswith("text/plain")
    assert text.headers["Content-Disposition"].startswith("attachment;")


def test_a_bidi_override_cannot_disguise_a_name(client, app, attach):
    login(client, "pm1")
    instance_id = started(start(client, {
        "title": "T", "charter": upload("invoice\u202egnp.exe", b"MZ\x90\x00" + b"\x00" * 64)}))
    charter = instance_data(app, instance_id)["charter"]
    assert charter["name"] == "invoicegnp.exe"
    response = client.get(f"/attachments/{charter['attachment_id']}")
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert "invoicegnp.exe" in response.headers["Content-Disposition"]


def test_over_the_upload_quota_is_an_error_beside_the_field(client, app, attach):
    object.__setattr__(app.extensions["pmoflow"].engine.settings, "upload_quota_bytes",
                       1024 * 1024)
    login(client, "pm1")
    big = b"x" * (700 * 1024)
    started(start(client, {"title": "T", "charter": upload("a.txt", big)}))  # attached
    response = start(client, {"charter": upload("b.txt", big)})  # no title: kept, unattached
    assert response.status_code == 422
    response = start(client, {"title": "T", "charter": upload("c.txt", big)})
    assert response.status_code == 422
    message = error_for(response.get_data(as_text=True), "charter")
    assert message.startswith("You have 0.7 MB of uploads not yet part of a submitted form; "
                              "the limit is 1 MB.")
