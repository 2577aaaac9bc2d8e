"""Import from Camunda 7 pages: upload, report by line, group -> role and service task ->
operation choices kept and converted again, saved as the owner's modeler draft."""

from __future__ import annotations

import io
import re
from pathlib import Path

from werkzeug.datastructures import MultiDict

from tests.webui.conftest import csrf_token, login, post

DIAGRAM = Path(__file__).parent / "browser" / "data" / "camunda7_purchase.bpmn"


def _upload(client, *files: tuple[str, bytes]):
    token = csrf_token(client, "/modeler/camunda")
    data = MultiDict([("csrf_token", token)]
                     + [("files", (io.BytesIO(c), n)) for n, c in files])
    return client.post("/modeler/camunda", data=data, content_type="multipart/form-data")


def test_import_pages_are_for_process_owners(client):
    login(client, "pm1")
    assert client.get("/modeler/camunda").status_code == 403


def test_upload_report_choose_and_save_as_draft(client):
    login(client, "owner1")
    answer = _upload(client, ("purchase.bpmn", DIAGRAM.read_bytes()))
    assert answer.status_code == 302
    url = answer.headers["Location"]
    html = client.get(url).get_data(as_text=True)
    lines = [int(n) for n in re.findall(r'data-testid="c7-entry"[^>]*data-line="(\d+)"', html)]
    assert lines and lines == sorted(lines)
    assert 'data-testid="c7-unknown-group"' in html  # management: no role yet
    assert 'data-status="cannot_run"' in html
    assert "camunda:class=com.acme.purchase.NotifyRequester" in html

    bad = post(client, url, {"role:management": "nobody", "action": "convert"}, token_from=url)
    assert bad.status_code == 422
    assert "nobody" in bad.get_data(as_text=True)

    again = post(client, url, {"role:management": "pmo_reviewer",
                               "operation:notify": "approval_withdrawn",
                               "action": "convert"}, token_from=url)
    assert again.status_code == 302
    html = client.get(url).get_data(as_text=True)
    assert 'data-testid="c7-unknown-group"' not in html
    assert 'data-status="converted"' in html
    assert re.search(r'<option value="approval_withdrawn" selected>', html)

    saved = post(client, url, {"role:management": "pmo_reviewer",
                               "operation:notify": "approval_withdrawn",
                               "action": "drafts"}, token_from=url)
    assert saved.status_code == 302 and "/modeler?draft=" in saved.headers["Location"]
    draft = client.get(saved.headers["Location"]).get_data(as_text=True)
    xml_url = re.search(r'data-source="([^"]+)"', draft).group(1)
    xml = client.get(xml_url).get_data(as_text=True)
    assert 'id="c7_purchase"' in xml and "approval_withdrawn" in xml


def test_a_new_import_starts_with_the_previous_group_mapping(client):
    login(client, "owner1")
    url = _upload(client, ("purchase.bpmn", DIAGRAM.read_bytes())).headers["Location"]
    post(client, url, {"role:management": "pmo_reviewer", "action": "convert"},
         token_from=url)
    second = _upload(client, ("purchase.bpmn", DIAGRAM.read_bytes())).headers["Location"]
    assert second != url
    html = client.get(second).get_data(as_text=True)
    assert 'data-testid="c7-unknown-group"' not in html


def test_upload_refuses_other_files_with_a_message(client):
    login(client, "owner1")
    answer = _upload(client, ("notes.txt", b"hello"))
    assert answer.status_code == 422
    assert 'data-testid="upload-errors"' in answer.get_data(as_text=True)


def test_another_owners_import_is_not_shown(client):
    login(client, "owner1")
    url = _upload(client, ("purchase.bpmn", DIAGRAM.read_bytes())).headers["Location"]
    client.post("/logout", data={"csrf_token": csrf_token(client, "/tasks")})
    login(client, "admin")
    assert client.get(url).status_code == 403


def test_the_report_page_speaks_chinese(client):
    login(client, "owner1")
    post(client, "/language", {"lang": "zh"}, token_from="/")
    url = _upload(client, ("purchase.bpmn", DIAGRAM.read_bytes())).headers["Location"]
    html = client.get(url).get_data(as_text=True)
    for text in ("导入报告", "Camunda 用户组与 PMOflow 角色", "重新转换", "无法运行", "尚无角色",
                 "第 15 行"):
        assert text in html
    assert "从 Camunda 7 导入" in client.get("/modeler").get_data(as_text=True)


def test_the_modelers_validate_names_camunda_sorted_by_line_in_the_readers_language(client):
    login(client, "owner1")
    token = csrf_token(client, "/tasks")
    body = {"xml": DIAGRAM.read_text(encoding="utf-8")}
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    found = client.post("/modeler/validate", json=body, headers=headers).get_json()["problems"]
    lines = [p["line"] or 0 for p in found]
    assert lines == sorted(lines)
    [named] = [p for p in found if p["code"] == "diagram.foreign_extensions"]
    assert named["message"].startswith("This diagram was drawn for Camunda 7")
    assert named["message"].endswith("Use Import from Camunda 7, which converts what it can "
                                     "and lists the rest.")
    notify = next(p for p in found if p["element_id"] == "notify")
    assert "is not bound to an operation (its camunda:class" in notify["message"]
    post(client, "/language", {"lang": "zh"}, token_from="/")
    found = client.post("/modeler/validate", json=body, headers=headers).get_json()["problems"]
    [named] = [p for p in found if p["code"] == "diagram.foreign_extensions"]
    assert named["message"].startswith("此图是为 Camunda 7 绘制的")


def test_a_broken_file_is_reported_not_a_server_error(client):
    login(client, "owner1")
    url = _upload(client, ("broken.bpmn", b"<bpmn:definitions xmlns:bpmn='x'><oops>"),
                  ("rules.dmn", b"<?xml version='1.0'?><definitions/>")).headers["Location"]
    answer = client.get(url)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert 'data-file="broken.bpmn" data-status="cannot_run"' in html
    assert 'data-testid="c7-others"' in html or 'data-testid="c7-entry"' in html
    assert client.get(url + "/original?file=nothing.bpmn").status_code == 404


def test_the_report_lines_are_in_chinese_on_a_chinese_page(client):
    login(client, "owner1")
    post(client, "/language", {"lang": "zh"}, token_from="/")
    url = _upload(client, ("purchase.bpmn", DIAGRAM.read_bytes())).headers["Location"]
    html = client.get(url).get_data(as_text=True)
    lines = re.findall(r'<span class="d-block"[^>]*>([^<]*)</span>', html)
    assert "&#39;Notify requester&#39; 上的 camunda:class=com.acme.purchase.NotifyRequester：" \
           "请将其绑定到一个操作或删除" in lines
    assert "&#39;Review purchase&#39; 上的 camunda:formData：表单 forms/purchase-review.schema.json，" \
           "共 1 个字段" in lines
    assert not [line for line in lines if "bind it to an operation" in line]
    assert len(lines) == 6 and all(re.search(r"[\u4e00-\u9fff]", line) for line in lines)
    post(client, "/language", {"lang": "en"}, token_from="/")
    html = client.get(url).get_data(as_text=True)
    assert ("camunda:class=com.acme.purchase.NotifyRequester on &#39;Notify requester&#39;: "
            "bind it to an operation or remove it") in html



def test_a_deploy_check_on_the_converted_file_is_said_by_its_engine_code(client):
    name = ("one-time-examples__2015-01-webinars__webinar-cmmn__src__main__resources__"
            "alternatives__underwriting-fully-bpmn.bpmn")
    source = Path(__file__).resolve().parents[1] / "conformance" / "camunda7-examples" / name
    login(client, "owner1")
    url = _upload(client, ("u.bpmn", source.read_bytes())).headers["Location"]
    english = client.get(url).get_data(as_text=True)
    post(client, "/language", {"lang": "zh"}, token_from="/")
    chinese = client.get(url).get_data(as_text=True)
    checks = [re.findall(r'<code>PMOflow check</code>\s*<span class="d-block"[^>]*>([^<]*)</span>',
                         page) for page in (english, chinese)]
    assert len(checks[0]) == len(checks[1]) >= 2
    assert checks[0] != checks[1]  # the not-executable check is said in Chinese
    assert any(re.search(r"[\u4e00-\u9fff]", line) for line in checks[1])
