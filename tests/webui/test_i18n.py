"""English and Chinese: the switch, its memory per user, a complete zh catalog."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.webui.conftest import csrf_token, login, post

ROOT = Path(__file__).resolve().parents[2]
ZH = ROOT / "webui" / "translations" / "zh" / "LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None,
            "_l": None, "N_": None}


def ui_strings() -> set[str]:
    """Every string the web UI marks for translation, extracted from the sources now."""
    found: set[str] = set()
    method_map = [("webui/**.py", "python"), ("webui/templates/**.html", "jinja2")]
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _key(value):
    """A message id or string; a plural entry's forms as a tuple."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_zh_catalog_is_complete_and_compiled():
    with (ZH / "messages.po").open("rb") as f:
        po = read_po(f, locale="zh")
    translated = {_key(m.id): _key(m.string) for m in po if m.id and m.string and not m.fuzzy}
    # a plural entry is keyed by its singular; every one of its forms must be translated
    singulars = {k[0] if isinstance(k, tuple) else k for k, v in translated.items()
                 if all(v) or isinstance(v, str)}
    missing = sorted(ui_strings() - singulars)
    assert missing == [], f"untranslated: {missing}"
    with (ZH / "messages.mo").open("rb") as f:
        mo = read_mo(f)
    compiled = {_key(m.id): _key(m.string) for m in mo if m.id}
    assert compiled == translated, "messages.mo is stale: run pybabel compile"


def test_switch_to_chinese_is_remembered_for_the_user(client):
    login(client, "pm1")
    response = post(client, "/language", {"lang": "zh", "next": "/tasks?tab=claimable"},
                    token_from="/")
    assert response.status_code == 302 and response.headers["Location"] == "/tasks?tab=claimable"
    html = client.get("/tasks").get_data(as_text=True)
    assert 'lang="zh-CN"' in html and "待办" in html and "分配给我的" in html
    assert "发起申请" in html and "我的申请" in html
    fresh = client.application.test_client()
    login(fresh, "pm1")
    assert "待办" in fresh.get("/tasks").get_data(as_text=True)
    post(fresh, "/language", {"lang": "en"}, token_from="/")
    assert "Inbox" in fresh.get("/tasks").get_data(as_text=True)


def test_language_on_the_sign_in_page_is_kept_in_the_session(client):
    token = csrf_token(client)
    client.post("/language", data={"lang": "zh", "next": "/login", "csrf_token": token})
    assert "登录 PMOflow" in client.get("/login").get_data(as_text=True)


def test_browser_language_is_the_default(client):
    html = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(
        as_text=True)
    assert "用户名" in html


def test_bad_language_and_outside_next(client):
    login(client, "pm1")
    assert post(client, "/language", {"lang": "fr"}, token_from="/").status_code == 400
    response = post(client, "/language", {"lang": "zh", "next": "https://evil.example/"},
                    token_from="/")
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("path", ["/", "/tasks", "/processes", "/requests"])
def test_pages_have_no_english_left_in_chinese(client, arrange, path):
    arrange.start()
    login(client, "pm1")
    post(client, "/language", {"lang": "zh"}, token_from="/")
    html = client.get(path).get_data(as_text=True)
    for english in ("Inbox", "Start a request", "My requests", "Sign out", "Assigned to me"):
        assert f">{english}<" not in html and f" {english}<" not in html


def test_task_form_labels_and_messages_in_chinese(client, arrange):
    inst = arrange.start("widgets", data={"title": "T", "budget": {"amount": "1",
                                                                   "currency": "CNY"},
                                          "category": "it"})
    task = arrange.task(inst.id)
    login(client, "reviewer1")
    post(client, "/language", {"lang": "zh"}, token_from="/")
    response = post(client, f"/tasks/{task.id}", {"decision": "reject"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "完整性检查" in html and "结论" in html and "退回修改" in html
    assert "此项为必填项。" in html and "请修改标出的字段。" in html
    assert "四眼原则" not in html and "提交" in html


def test_common_form_words_are_translated_when_the_schema_has_no_zh(client, arrange):
    task = arrange.task(arrange.start().id)
    login(client, "reviewer1")
    post(client, "/language", {"lang": "zh"}, token_from="/")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert ">接受<" in html and ">拒绝<" in html and "意见" in html and "审核" in html
