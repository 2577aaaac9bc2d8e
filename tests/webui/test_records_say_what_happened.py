"""Records say what happened (issue 13): the sponsor's acceptance reads as the decision it
was, a committee's stage change names the committee and its votes, an escalation shows
every decision it had."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tests.webui.conftest import login, parse_html
from tests.workflows.factories import proposal
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


def test_the_project_page_credits_the_committee_with_its_votes(pmo_app, pmo_client):
    from webui.extensions import db
    from workflows import records

    with pmo_app.app_context():
        project = records.propose_project(db.session, proposal(), pm="pm1",
                                          now=datetime(2026, 3, 2, 9, tzinfo=UTC))
        records.approve_project(db.session, project.id, actor="committee:steering",
                                now=datetime(2026, 3, 2, 10, tzinfo=UTC),
                                votes=[{"by": "steer1", "decision": "approve",
                                        "comment": "Strategic"},
                                       {"by": "steer2", "on_behalf_of": "steer3",
                                        "decision": "approve", "comment": ""}])
        db.session.commit()
        project_id = project.id
    login(pmo_client, "admin")
    doc = parse_html(pmo_client.get(f"/projects/{project_id}").get_data())
    latest = "".join(doc.xpath('//*[@data-testid="stage-change"]')[0].itertext())
    assert "Steering committee moved it from Proposed to Initiation" in " ".join(latest.split())
    votes = [" ".join("".join(li.itertext()).split())
             for li in doc.xpath('//*[@data-testid="committee-votes"]//li')]
    assert votes == ["Wang Fang (Steering chair): Approve — Strategic",
                     "David Kim (Steering) (for Aisha Bello (Steering)): Approve"]


def test_the_escalation_page_keeps_every_decision_of_a_reopened_escalation(pmo_app,
                                                                         pmo_client):
    from webui.extensions import db
    from workflows import records
    from workflows.records.models import Project

    at = datetime(2026, 3, 2, 10, tzinfo=UTC)
    with pmo_app.app_context():
        active = db.session.scalars(db.select(Project.id).where(
            Project.stage == "Executing")).first()
        esc = records.raise_escalation(db.session, active, {
            "title": "Tower crews double-booked", "kind": "resource_conflict",
            "severity": "high", "tried": "Asked both PMs.", "needed_by": "2026-03-20"},
            actor="pm1", now=at)
        reviewer = "pmohead"
        records.record_escalation_decision(db.session, esc.id, decision="Use the PMO pool.",
                                           decided_by=reviewer, level="pmo", now=at)
        records.reopen_escalation(db.session, esc.id, actor=esc.raised_by, now=at,
                                  reason="The pool has nobody free.")
        records.record_escalation_decision(db.session, esc.id, decision="Hire a contractor.",
                                           decided_by=reviewer, level="pmo", now=at)
        db.session.commit()
    login(pmo_client, "admin")
    doc = parse_html(pmo_client.get(f"/escalations/{esc.id}").get_data())
    entries = [" ".join("".join(li.itertext()).split())
               for li in doc.xpath('//*[@data-testid="escalation-log-entry"]')]
    assert len(entries) == 3
    assert "Decided" in entries[0] and "Use the PMO pool." in entries[0]
    assert "Reopened" in entries[1] and "The pool has nobody free." in entries[1]
    assert "Hire a contractor." in entries[2]
