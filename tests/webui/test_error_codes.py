"""The web layer says engine errors by code (English and Chinese), never by parsing the
engine's English text; a Chinese user sees field and access messages in Chinese."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask

from engine.errors import CODES, FieldError, Forbidden, NotReady, Problem, TaskFailed
from tests.webui.conftest import login, post
from webui import messages
from webui.messages import MESSAGES, VERBATIM, say

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "webui" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
#: Params enough to fill any template.
PARAMS = {"task_id": 7, "instance_id": 3, "user": "ann", "role": "pmo_reviewer", "limit": 5,
          "allowed": "a, b", "format": "email", "key": "k", "process": "P", "name": "N",
          "count": 2, "detail": "d", "held_mb": 1, "limit_mb": 2, "definition_id": 4,
          "attachment_id": 5, "token_id": 6, "job_id": 8, "kind": "timer",
          "expected": "number", "starter": "ann", "own": False, "status": "completed",
          "by": "bob"}


def zh_catalog() -> dict[str, str]:
    with PO.open("rb") as f:
        return {m.id: m.string for m in read_po(f, locale="zh")
                if m.id and m.string and not m.fuzzy}


def test_every_code_has_a_template_a_special_rule_or_is_verbatim():
    special = set(messages._SPECIAL)
    assert set(MESSAGES) | special | VERBATIM == set(CODES), "codes without a web text"
    assert set(MESSAGES) <= set(CODES)
    assert VERBATIM <= set(CODES)  # noqa: SIM300
    assert not (VERBATIM & (set(MESSAGES) | special))


def test_every_template_has_a_chinese_translation():
    catalog = zh_catalog()
    missing = sorted(code for code, text in MESSAGES.items() if text._args[0] not in catalog)
    assert missing == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_code_renders_in_both_languages(app: Flask, lang: str):
    with app.test_request_context("/", headers={"Accept-Language": lang}):
        for code in sorted(set(CODES) - VERBATIM):
            english = FieldError("english default", code, **PARAMS)
            text = say(english)
            assert text and text != "english default" and "%(" not in text, code
            if lang == "zh":
                assert any("\u4e00" <= ch <= "\u9fff" for ch in text), (code, text)


def test_say_translates_by_code_and_params_not_by_text(app: Flask):
    odd = FieldError("whatever the engine wrote", "form.minimum", limit=3, field="x")
    reason = FieldError("engine words", "access.role_missing", role="pmo_reviewer")
    lost = NotReady("task 7 (Review) is already completed by bob",
                    code="task.already_completed", task_id=7, status="completed", by="bob")
    with app.test_request_context("/", headers={"Accept-Language": "zh"}):
        assert say(odd) == "不能小于 3。"
        assert say(reason) == "此任务需要“PMO 审核员”角色。"
        assert say(lost) == "任务 7 已由 bob 完成。"
        assert say(FieldError("Say why.", "form.required", custom="Say why.")) == "Say why."
        assert say("a plain string") == "a plain string"
        assert say(FieldError("bad xml at line 3", "deploy.bad_xml")) == "bad xml at line 3"
    with app.test_request_context("/"):
        assert say(odd) == "Must be at least 3."
        assert say(lost) == "Task 7 is already completed by bob."
        assert say(Forbidden("x", code="access.four_eyes", own=True)).startswith(
            "Four-eyes rule: you submitted")
        failed = TaskFailed("division by zero", element_id="Calc", line=2)
        assert say(failed) == "A step of the process failed: division by zero"


# --------------------------------------------------------------------------- no regex


def _modules(*dirs: str):
    for name in dirs:
        for path in (ROOT / name).rglob("*.py"):
            if "translations" not in path.parts and "migrations" not in path.parts:
                yield path


#: Words of engine messages: a regex holding one of them would be parsing engine text.
_ENGINE_WORDS = ("required", "four-eyes", "Must be", "assigned to", "needs the role",
                 "Choose one of", "uploads not yet", "already", "reason")


def test_no_module_applies_a_regex_to_an_error_message():
    offenders = []
    for path in _modules("engine", "webui"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"):
                continue
            for arg in node.args[:1]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and any(
                        w.lower() in arg.value.lower() for w in _ENGINE_WORDS):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
    for name in ("webui/messages.py", "webui/api/problems.py", "webui/errors.py",
                 "engine/forms.py", "engine/errors.py"):
        tree = ast.parse((ROOT / name).read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                    for a in n.names}
        assert "re" not in imported, name


# --------------------------------------------------------------------------- pages


def test_a_chinese_user_sees_field_messages_in_chinese(client):
    login(client, "pm1")
    post(client, "/language", {"lang": "zh"}, token_from="/")
    response = post(client, "/processes/approval3/start", {"title": "", "budget": "-5",
                                                           "start": "2026-13-40"},
                    token_from="/processes/approval3/start")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'data-error-for="title">此项为必填项。' in html
    assert 'data-error-for="budget">不能小于 0。' in html
    assert 'data-error-for="start">必须是有效日期（YYYY-MM-DD）。' in html
    assert "This field is required" not in html and "Must be at least" not in html


def test_a_chinese_user_sees_why_they_may_not_act(client, arrange):
    task = arrange.task(arrange.start().id)
    login(client, "pm1")
    post(client, "/language", {"lang": "zh"}, token_from="/")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "此任务需要“PMO 审核员”角色。" in html and "needs the role" not in html


def test_a_chinese_user_sees_a_lost_claim_in_chinese(client, arrange):
    arrange.add_user("reviewer2", "pmo_reviewer")
    inst = arrange.start()
    task = arrange.task(inst.id)
    arrange.claim(task.id, "reviewer1")
    login(client, "reviewer2")
    post(client, "/language", {"lang": "zh"}, token_from="/")
    response = post(client, f"/tasks/{task.id}/claim", {}, token_from=f"/tasks/{task.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and f"任务 {task.id} 已被 reviewer1 认领。" in html


def test_a_decision_table_note_names_the_table_in_both_languages(app: Flask):
    note = Problem("d.bpmn", "english", "rules", code="diagram.unasked_field",
                   params={"name": "budget", "decision": "slas"})
    with app.test_request_context("/", headers={"Accept-Language": "zh"}):
        assert say(note) == "决策表 slas 读取 budget，但本流程没有任何表单询问它。"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert say(note) == ("The decision table slas reads budget, which no form of this "
                             "process asks for.")


def test_a_diagram_from_another_tool_names_it_in_both_languages(app: Flask):
    camunda = Problem("a.bpmn", "english", code="diagram.foreign_extensions",
                      params={"tool": "Camunda 7", "settings": "candidateGroups, class",
                              "advice": "import_camunda7",
                              "namespace": "http://camunda.org/schema/1.0/bpmn"})
    signavio = Problem("a.bpmn", "english", code="diagram.foreign_extensions",
                       params={"tool": "Signavio", "settings": "signavioMetaData",
                               "advice": "", "namespace": "http://www.signavio.com"})
    with app.test_request_context("/", headers={"Accept-Language": "zh"}):
        assert say(camunda) == ("此图是为 Camunda 7 绘制的：引擎不读取其 Camunda 7 设置"
                                "（candidateGroups, class）。请使用“从 Camunda 7 导入”，"
                                "它会转换能转换的部分并列出其余部分。")
        assert say(signavio).startswith("此图是用 Signavio 绘制的")
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert say(camunda).endswith("Use Import from Camunda 7, which converts what it can "
                                     "and lists the rest.")
        assert say(signavio).startswith("This diagram was drawn in Signavio")
