"""Every code the Camunda 7 importer can emit is said in both languages: English exactly as
the engine's message, Chinese from the catalog (a new code without both fails here)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.support import Translations

from engine.camunda7 import import_camunda
from engine.camunda7.report import MESSAGES
from webui.camunda_wording import CAMUNDA_MESSAGES, FORM_KINDS, say_entry

ROOT = Path(__file__).resolve().parents[2]
ZH = Translations.load(str(ROOT / "webui" / "translations"), ["zh"])
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _msgid(lazy) -> str:
    with_args = getattr(lazy, "_args", None)
    return str(with_args[0]) if with_args else str(lazy)


def test_every_importer_code_has_an_english_and_a_chinese_text(client):
    assert set(CAMUNDA_MESSAGES) == set(MESSAGES)
    for code, english in MESSAGES.items():
        msgid = CAMUNDA_MESSAGES[code]
        if code == "camunda.note":  # the fallback: the engine's text as is
            assert msgid is None
            continue
        assert msgid is not None, code
        assert _msgid(msgid) == english, code
        with client.application.test_request_context():
            assert str(msgid) == english, code  # the English page says the engine's words
        chinese = ZH.ugettext(english)
        assert chinese != english, f"{code} has no Chinese translation"
        assert re.search(r"[\u4e00-\u9fff]", chinese), code
        assert sorted(PLACEHOLDER.findall(chinese)) == sorted(PLACEHOLDER.findall(english)), code
    for kind in FORM_KINDS:
        assert ZH.ugettext(_msgid(kind)) != _msgid(kind)


def test_an_english_entry_is_said_as_the_engine_wrote_it(client):
    source = (ROOT / "tests" / "webui" / "browser" / "data" / "camunda7_purchase.bpmn")
    result = import_camunda({"p.bpmn": source.read_bytes()})
    with client.application.test_request_context():
        assert [say_entry(e) for e in result.report] == [e.message for e in result.report]
