"""Deadlines on the risk and escalation pages, on the shipped processes: when each open
step is due, what happens then (reminders, the urgent risk's 48-hour window, the triage's
one working day and the PMO head taking over), overdue marked once the clock passes."""

from __future__ import annotations

from tests.webui.conftest import Arrange, login, parse_html
from tests.webui.test_pmo_forms import escalation, project_id
from webui.extensions import db


def _text(html: str, testid: str) -> list[str]:
    doc = parse_html(html)
    return [" ".join(n.text_content().split()) for n in doc.xpath(f"//*[@data-testid='{testid}']")]


def _risk_id(app, instance_id: int) -> int:
    from workflows.records.pages import risk_register
    with app.app_context():
        risks = risk_register(db.session, "pmohead", app.extensions["pmoflow"].engine.clock.now(),
                              limit=100).risks
        return next(r.id for r in risks if r.instance_id == instance_id)


def test_urgent_risk_shows_its_review_due_and_the_48_hour_window(pmo_client, pmo_app,
                                                                  pmo_clock):
    data = {"project_id": project_id(pmo_app, "PRJ-2026-0001"), "title": "Karst cave",
            "description": "Found while drilling.", "category": "technical",
            "probability": 3, "impact": 4, "response": "mitigate", "contingency": "Move it.",
            "owner": "pm1", "urgent": True, "immediate_action": "Stopped drilling."}
    inst = Arrange(pmo_app).start("risk_review", "pm1", data, title="Karst cave")
    risk_id = _risk_id(pmo_app, inst.id)
    login(pmo_client, "pm1")
    html = pmo_client.get(f"/risks/{risk_id}").get_data(as_text=True)
    steps = _text(html, "deadline-step")
    assert len(steps) == 1 and "Sponsor review" in steps[0]
    # Eight hours around the clock (shown in UTC, the user's zone): Monday 09:00 + 8 h.
    assert "Due: 2026-03-02 17:00" in steps[0] and "overdue" not in steps[0].lower()
    assert "SLA passed → Remind, then tell next level" in steps[0]
    waits = " ".join(_text(html, "deadline-wait"))
    assert "Window over" in waits and "2026-03-04 09:00" in waits  # 48 hours after raising
    pmo_clock.advance(hours=9)
    html = pmo_client.get(f"/risks/{risk_id}").get_data(as_text=True)
    assert 'data-testid="overdue"' in html.split('data-testid="deadlines"')[1]


def test_escalation_page_shows_the_triage_due_in_one_working_day(pmo_client, pmo_app):
    esc = escalation(pmo_app, [project_id(pmo_app, "PRJ-2026-0002")])
    with pmo_app.app_context():
        task = Arrange(pmo_app).task(esc, "triage")
        assert task.due_at.isoformat() == "2026-03-03T09:00:00+00:00"  # one working day
        from workflows import records
        found, _total = records.list_escalations(db.session, limit=50)
        esc_id = next(e.id for e in found if e.instance_id == esc)
    login(pmo_client, "reviewer1")
    html = pmo_client.get(f"/escalations/{esc_id}").get_data(as_text=True)
    [step] = _text(html, "deadline-step")
    # Monday 17:00 in Shanghai + one working day = Tuesday 17:00 there, 09:00 UTC.
    assert "Triage escalation" in step and "Due: 2026-03-03 09:00" in step
    # What happens then: the reviewers are reminded, then the PMO head takes it over.
    assert "Reminder → Remind PMO reviewers" in step
    assert "2026-03-03 09:00: SLA passed → Hand over to PMO head · the step closes" in step



def test_the_inbox_row_shows_the_steps_next_timer(pmo_client, pmo_app):
    """The escalation's triage in a reviewer's inbox: the row names the step, its role and
    process, offers to claim it by name, and shows when its next timer fires and where
    that leads, as the request's page does."""
    esc = escalation(pmo_app, [project_id(pmo_app, "PRJ-2026-0002")])
    with pmo_app.app_context():
        task = Arrange(pmo_app).task(esc, "triage")
    login(pmo_client, "reviewer1")
    html = pmo_client.get("/tasks?tab=claimable").get_data(as_text=True)
    doc = parse_html(html)
    [row] = doc.xpath(f"//tr[@data-task-id='{task.id}']")
    text = " ".join(row.text_content().split())
    assert "Triage escalation" in text and "PMO reviewer" in text
    [wait] = row.xpath(".//*[@data-testid='wait-next']")
    # the soonest: the reminder four hours in (the page above lists it with the rest)
    assert " ".join(wait.text_content().split()) == (
        "2026-03-02 13:00: Reminder → Remind PMO reviewers")
    assert row.xpath(".//*[@data-testid='claim']/@aria-label") == ["Claim Triage escalation"]
    assert row.xpath(".//*[@data-testid='open']/@aria-label") == ["Open Triage escalation"]
