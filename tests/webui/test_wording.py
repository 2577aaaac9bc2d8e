"""Notifications, history notes, names and stored sentences in the reader's language.

Notifications keep a message id and params (``engine.notifications``) and are rendered
when shown; rows written before keep only their English text and are still shown, in
Chinese when they are a sentence the code writes; diagrams name their elements in Chinese
with ``pmoflow:name-zh``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.pofile import read_po
from flask import Flask
from sqlalchemy import insert

from engine.clock import ManualClock
from engine.notifications import Note, english, note, write
from engine.store.models import Notification
from engine.store.uow import unit_of_work
from tests.webui.conftest import Arrange, login, parse_html, post
from webui.extensions import db
from webui.wording import STORED_SENTENCES, service_notes, stored_text

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "webui" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"


def titles(client) -> list[str]:
    doc = parse_html(client.get("/notifications").get_data(as_text=True))
    for hidden in doc.xpath("//*[contains(@class, 'visually-hidden')]"):
        hidden.drop_tree()
    return [" ".join(t.text_content().split())
            for t in doc.xpath("//*[contains(@class, 'note-title')]")]


def bodies(client) -> list[str]:
    doc = parse_html(client.get("/notifications").get_data(as_text=True))
    return [" ".join(t.text_content().split())
            for t in doc.xpath("//*[contains(@class, 'note-body')]")]


def chinese(client) -> None:
    post(client, "/language", {"lang": "zh"}, token_from="/")


def test_a_message_is_stored_with_its_english_and_shown_in_each_readers_language(
        client, app: Flask, web_clock: ManualClock):
    message = note(("pm1",), "reminder", "Reminder: %(step)s of %(code)s is due",
                   "The window closes at %(closes)s.",
                   params={"step": {"text": "Finance review"}, "code": "PRJ-2026-0001",
                           "closes": {"at": "2026-03-09T09:00:00+00:00"}})
    assert message.title == "Reminder: Finance review of PRJ-2026-0001 is due"
    assert message.body == "The window closes at 2026-03-09T09:00:00+00:00."
    with app.app_context(), unit_of_work(db.session):
        write(db.session, message, web_clock.now())
    login(client, "pm1")
    assert titles(client) == ["Reminder: Finance review of PRJ-2026-0001 is due"]
    assert bodies(client) == ["The window closes at 2026-03-09 09:00."]  # no raw ISO
    chinese(client)
    assert titles(client) == ["提醒：PRJ-2026-0001 的财务评审已到期"]
    assert bodies(client) == ["收集期于 2026-03-09 09:00 结束。"]


def test_an_old_notification_with_text_only_is_still_shown_and_translated_when_known(
        client, app: Flask, web_clock: ManualClock):
    with app.app_context(), unit_of_work(db.session):
        for title in ("New task: Finance review", "Something a plugin wrote"):
            db.session.execute(insert(Notification.__table__), {
                "username": "pm1", "kind": "assigned", "title": title, "body": "",
                "link": None, "instance_id": None, "human_task_id": None,
                "created_at": web_clock.now(), "read_at": None, "message": None})
    login(client, "pm1")
    chinese(client)
    assert titles(client) == ["Something a plugin wrote", "新任务：财务评审"]


def test_a_decision_notice_says_the_outcome_in_the_readers_language(client, arrange):
    inst = arrange.start()
    arrange.complete(arrange.task(inst.id).id, "reviewer1",
                     {"decision": "reject", "comment": "No budget"})
    login(client, "pm1")
    assert "Check completeness: reject by Omar Haddad (PMO reviewer)" in titles(client)
    chinese(client)  # the word of the outcome in Chinese, not its key
    assert "Check completeness：Omar Haddad (PMO reviewer) 驳回" in titles(client)


def test_a_message_names_people_read_one_by_one_once_per_request(app: Flask):
    from flask import g

    from webui.wording import param

    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert param({"users": ["pm1", "ghost", "pm1"]}) == "Li Wei (PM), ghost, Li Wei (PM)"
        assert param({"user": "sponsor1"}) == "Zhang Min (Sponsor)"
        # only the people named were read (never the directory), each once
        assert g._pmoflow_display_names == {"pm1": "Li Wei (PM)", "ghost": "ghost",
                                            "sponsor1": "Zhang Min (Sponsor)"}


def test_service_notes_use_their_keys_and_fall_back_to_the_stored_text(app: Flask):
    detail = {"notes": ["Reminded pm1 to write their lessons."],
              "note_keys": [{"msg": "Reminded %(member)s to write their lessons.",
                             "params": {"member": {"user": "pm1"}}}]}
    with app.test_request_context(headers={"Accept-Language": "zh"}):
        assert service_notes(detail)[0].startswith("已提醒 ")
        assert service_notes({"notes": ["Written before keys."]}) == ["Written before keys."]
        # a list of keys that does not match the notes (mixed writers): the notes as stored
        assert service_notes({**detail, "notes": ["a", "b"]}) == ["a", "b"]


def test_stored_sentences_translate_whole_matches_only(app: Flask):
    with app.test_request_context(headers={"Accept-Language": "zh"}):
        assert stored_text("Kick-off on 2026-03-02") == "于 2026-03-02 启动"
        assert stored_text("Response plan approved.") == "应对计划已批准。"
        assert stored_text("Not a sentence we write") == "Not a sentence we write"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert stored_text("Kick-off on 2026-03-02") == "Kick-off on 2026-03-02"


def test_english_rendering_fills_typed_params():
    params = {"who": {"user": "pm1"}, "people": {"users": []}, "day": {"date": "2026-03-02"},
              "routes": {"routes": [["pmo_head", 3]]}, "part": {"msg": ["budget %(a)s", {"a": 5}]}}
    assert english("%(who)s told %(people)s on %(day)s: %(routes)s, %(part)s", params) == (
        "pm1 told nobody on 2026-03-02: pmo_head (3 working days), budget 5")
    assert english("%(missing)s!", {}) == "!"


# --------------------------------------------------------------------------- the catalog


def _msgids_in(path: Path) -> set[str]:
    """String message ids passed to ``note``/``notify``/``_tell`` in a module."""
    def strings(node) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return [a + b for a in strings(node.left) for b in strings(node.right)]
        if isinstance(node, ast.IfExp):
            return strings(node.body) + strings(node.orelse)
        return []

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in ("note", "notify", "_tell"):
                found.update(s for a in node.args[:4] for s in strings(a)
                             if "%(" in s or (name == "note" and " " in s))
    return found


def test_every_message_the_glue_and_engine_write_has_its_chinese():
    with PO.open("rb") as f:
        translated = {m.id for m in read_po(f, locale="zh") if m.id and m.string}
    ids = set(STORED_SENTENCES)
    for path in [*sorted((ROOT / "workflows").glob("*.py")), ROOT / "engine" / "notifications.py",
                 ROOT / "engine" / "instances.py", ROOT / "engine" / "projection.py",
                 ROOT / "engine" / "tasks.py"]:
        ids |= _msgids_in(path)
    assert len(ids) > 80
    assert sorted(ids - translated) == []


def test_a_message_param_dict_stays_json(app: Flask, web_clock: ManualClock):
    from decimal import Decimal

    made = note(("pm1",), "info", "%(n)s", params={"n": Decimal("1.50")})
    assert made.message == {"title": "%(n)s", "body": "", "params": {"n": "1.50"}}
    assert isinstance(made, Note)


# --------------------------------------------------------------------------- names


def test_the_shipped_diagrams_name_every_named_step_in_chinese():
    from lxml import etree

    from engine.spiff.bpmn_markup import PMOFLOW_NS, translated_names

    for path in sorted((ROOT / "bpmn").glob("*.bpmn")):
        root = etree.parse(str(path)).getroot()
        names = translated_names(root)["zh"]
        for element in root.iter():
            local = etree.QName(element).localname if isinstance(element.tag, str) else ""
            if local in ("userTask", "process", "participant", "startEvent", "endEvent",
                         "boundaryEvent", "serviceTask", "subProcess") and element.get("name"):
                assert element.get(f"{{{PMOFLOW_NS}}}name-zh"), (path.name, element.get("id"))
        if path.name == "project_closure.bpmn":
            assert names["Sign off acceptance"] == "验收签字"


def test_pages_and_the_viewer_show_the_diagrams_names_in_chinese(pmo_client, pmo_app):
    login(pmo_client, "pm1")
    chinese(pmo_client)
    page = pmo_client.get("/processes").get_data(as_text=True)
    assert "立项审批" in page and "三级风险评审" in page and "Three-level" not in page
    with pmo_app.app_context():
        from engine.store.models import ProcessDefinition

        definition = db.session.query(ProcessDefinition).filter_by(key="project_closure").one()
    zh = pmo_client.get(f"/definitions/{definition.id}/diagram.bpmn?lang=zh").get_data(
        as_text=True)
    en = pmo_client.get(f"/definitions/{definition.id}/diagram.bpmn").get_data(as_text=True)
    assert 'name="验收签字"' in zh and 'name="Sign off acceptance"' in en


def test_a_403_names_the_process_and_the_role_in_the_readers_language(pmo_client):
    login(pmo_client, "finance1")
    chinese(pmo_client)
    response = pmo_client.get("/processes/escalation/start")
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "问题升级" in page and "项目经理" in page and "“pm”" not in page


# --------------------------------------------------------------------------- mail


class Catch:
    """A transport that keeps what it is handed."""

    def __init__(self) -> None:
        self.sent: list = []

    def send(self, message) -> None:
        self.sent.append(message)


def test_mail_is_worded_in_the_recipients_language(pmo_app):
    from sqlalchemy import update

    from engine.store.models import User
    from tests.webui.test_chinese_pages import run_four_processes

    with pmo_app.app_context(), unit_of_work(db.session):
        db.session.execute(update(User).values(email=User.username + "@example.com"))
        db.session.execute(update(User).where(User.username == "sponsor1").values(locale="zh"))
    run_four_processes(pmo_app, Arrange(pmo_app))
    catch = Catch()
    with pmo_app.app_context():
        pmo_app.extensions["pmoflow"].engine.send_mail(db.session, catch)
    subjects = {m["To"]: [] for m in catch.sent}
    for m in catch.sent:
        subjects[m["To"]].append(m["Subject"])
    assert "[PMOflow] 您是立项申请“客户门户二期”的发起人" in subjects["sponsor1@example.com"]
    assert any(s.startswith("[PMOflow] 项目已结项：PRJ-") for s in subjects["sponsor1@example.com"])
    assert not any(s.isascii() for s in subjects["sponsor1@example.com"])
    # an English reader's mail keeps the English words
    assert any(s.startswith("[PMOflow] Project closed: PRJ-") for s in subjects["pm1@example.com"])


def test_money_in_a_history_line_is_shown_by_currency_and_the_readers_locale(app: Flask):
    """Budgets in history lines ("budget 500000.00 CNY" before) are amounts of money:
    stored as {"money": [amount, currency]}, shown like every other amount."""
    detail = {"notes": ["budget 500000.00 CNY = 69444.44 USD"],
              "note_keys": [{"msg": "Proposal revised by %(who)s; %(budget)s.",
                             "params": {"who": {"user": "pm1"},
                                        "budget": {"msg": ["budget %(amount)s",
                                                           {"amount": {"money": ["500000.00",
                                                                                 "CNY"]}}]}}}]}
    with app.test_request_context(headers={"Accept-Language": "zh"}):
        (line,) = service_notes(detail)
        assert "预算 ¥500,000.00" in line and "CNY" not in line
    with app.test_request_context(headers={"Accept-Language": "en"}):
        (line,) = service_notes(detail)
        assert "budget CN¥500,000.00" in line
    assert english("%(b)s", {"b": {"money": ["500000.00", "CNY"]}}) == "500000.00 CNY"
