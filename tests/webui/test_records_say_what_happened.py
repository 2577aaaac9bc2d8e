"""Records say what happened (issue 13): the sponsor's acceptance reads as the decision it
was, a committee's stage change names the committee and its votes, an escalation shows
every decision it had."""

from __future__ import annotations

import json
from pathlib import Path

from webui.summary import summarize

FORMS = Path(__file__).resolve().parents[2] / "bpmn" / "forms"


def closure_fields() -> dict[str, dict]:
    """Field name -> schema over the closure's forms (the first form naming it wins), as
    the request page labels the request's data."""
    out: dict[str, dict] = {}
    for path in sorted(FORMS.glob("project_closure-*.schema.json")):
        for key, prop in json.loads(path.read_text("utf-8"))["properties"].items():
            out.setdefault(key, prop)
    return out


def text_of(items) -> str:
    return " | ".join(f"{i.label}: {i.text} [{text_of(i.children or [])}]" for i in items)


def test_a_signed_off_closure_does_not_read_as_refused(app):
    signed = {"acceptance": {"decision": "sign_off", "comment": "Accepted", "by": "sponsor1",
                             "at": "2026-03-02T09:00:00+00:00", "round": 1}}
    with app.test_request_context(headers={"Accept-Language": "en"}):
        en = text_of(summarize(signed, closure_fields(), "en"))
    assert "Refused" not in en and "Signed off" in en and "Accepted" in en
    assert "Sponsor's acceptance decision" in en
    with app.test_request_context():
        zh = text_of(summarize(signed, closure_fields(), "zh"))
        refused = text_of(summarize(
            {"acceptance": {**signed["acceptance"], "decision": "refuse",
                            "comment": "Manuals missing"}}, closure_fields(), "en"))
    assert "拒绝" not in zh and "已签字确认" in zh and "发起人验收结论" in zh
    assert "Refused" in refused and "Manuals missing" in refused
