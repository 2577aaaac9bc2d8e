"""The task page: form, summary, history, diagram data; submit, errors, draft, access."""

from __future__ import annotations

import re

from tests.conftest import statements_on
from tests.webui.conftest import login, one, parse_html, post
from webui.extensions import db

PROPOSAL = {"title": "Tower upgrade", "budget": {"amount": "125000.50", "currency": "USD"},
            "category": "it", "milestones": [{"name": "Design", "weeks": 4}],
            "multi_department": True}


def field_html(html: str, name: str) -> str:
    """The markup of one form field block."""
    start = html.index(f'data-field="{name}"')
    return html[start:html.index('data-field="', start + 10)]


def static_fields(form) -> dict[str, str]:
    """Read-only fields of a form: name -> the text shown."""
    return {el.get("data-field"): " ".join(
        el.xpath('string(.//*[contains(@class, "static-value")])').split())
        for el in form.xpath('.//*[@data-testid="static-field"]')}


def test_task_page_shows_form_summary_history_and_diagram(client, arrange):
    inst = arrange.start(title="Tower upgrade")
    task = arrange.task(inst.id)
    login(client, "reviewer1")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-testid="task-name">Check completeness<' in html
    assert 'type="radio"' in html and 'value="rework"' in html
    assert '<label class="form-label" for="f-comment">Comment' in html
    summary = html[html.index('data-testid="summary"'):]
    assert "Tower upgrade" in summary and "1,200" in summary
    assert "<strong>Li Wei (PM)</strong> submitted the request" in html
    assert f'data-xml-url="/definitions/{inst.definition_id}/diagram.bpmn"' in html
    assert 'data-current=\'["review"]\'' in html and 'data-completed=\'{"start": 1}\'' in html
    assert 'data-focus="review"' in html
    assert 'data-testid="claim"' in html
    # reviewer1 is the only reviewer: nobody to hand the step to, and the page says so
    assert 'data-testid="delegate-form"' not in html and 'data-testid="no-handover"' in html


def test_task_and_request_pages_read_the_stored_workflow_once(app, client, arrange):
    """The instance row, with its stored workflow, is read once per page: the same
    statement brings its open steps for the page's header and waiting list."""
    inst = arrange.start(title="Tower upgrade")
    task = arrange.task(inst.id)
    login(client, "reviewer1")
    with app.app_context():
        bind = db.engine
    for url, step in ((f"/tasks/{task.id}", "task-name"), (f"/instances/{inst.id}", "waiting")):
        with statements_on(bind) as seen:
            html = client.get(url).get_data(as_text=True)
        assert len([s for s in seen if "process_instances.state" in s]) == 1, (url, seen)
        assert f'data-testid="{step}"' in html and "Check completeness" in html, url


def test_submit_completes_and_moves_the_request_on(client, arrange):
    inst = arrange.start()
    task = arrange.task(inst.id)
    login(client, "reviewer1")
    response = post(client, f"/tasks/{task.id}", {"decision": "accept", "comment": "Fine",
                                                  "action": "complete"})
    assert response.status_code == 302 and response.headers["Location"] == "/tasks"
    assert "Done: “Check completeness”" in client.get("/tasks").get_data(as_text=True)
    assert arrange.task(inst.id).element_id == "approve"


def test_errors_show_beside_their_fields_and_keep_the_input(client, arrange):
    task = arrange.task(arrange.start().id)
    login(client, "reviewer1")
    response = post(client, f"/tasks/{task.id}", {"decision": "rework", "comment": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    comment = field_html(html, "comment")
    assert "is-invalid" in comment and 'aria-invalid="true"' in comment
    assert 'data-error-for="comment">This field is required.' in comment
    assert re.search(r'value="rework" checked', html)
    assert 'data-testid="error-summary"' in html and 'href="#f-comment"' in html
    assert arrange.task(task.instance_id).id == task.id  # nothing completed


def test_widget_errors_on_money_rows_and_numbers_keep_input(client, arrange):
    login(client, "pm1")
    response = post(client, "/processes/widgets/start", {
        "title": "X", "budget.amount": "12.345", "budget.currency": "EUR", "category": "rnd",
        "headcount": "abc", "milestones.0.name": "", "milestones.0.weeks": "3",
        "tags": "alpha, beta"}, token_from="/processes/widgets/start")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'data-error-for="budget.amount">Use digits with up to two decimals' in html
    assert 'value="12.345"' in html and '<option value="EUR" selected>' in html
    assert 'data-error-for="headcount">Must be a whole number.' in html
    assert 'value="abc"' in html
    assert 'data-error-for="milestones.0.name">This field is required.' in html
    assert 'name="milestones.0.weeks"' in html and 'value="3"' in html
    assert 'value="alpha, beta"' in html and '<option value="rnd" selected>' in html


def test_a_stranger_gets_403_on_a_guessed_task_url(client, arrange):
    task = arrange.task(arrange.start().id)
    login(client, "team1")
    response = client.get(f"/tasks/{task.id}")
    assert response.status_code == 403
    assert "Not allowed" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert post(client, f"/tasks/{task.id}", {"decision": "accept"}).status_code == 403


def test_unknown_task_is_404(client):
    login(client, "reviewer1")
    assert client.get("/tasks/999").status_code == 404


def test_409_when_someone_else_completed_it_meanwhile(client, arrange):
    arrange.add_user("reviewer2", "pmo_reviewer", name="Second reviewer")
    task = arrange.task(arrange.start().id)
    login(client, "reviewer2")
    token_page = client.get(f"/tasks/{task.id}")
    assert token_page.status_code == 200
    arrange.complete(task.id, "reviewer1", {"decision": "accept"})
    response = post(client, f"/tasks/{task.id}", {"decision": "reject",
                                                  "comment": "Budget lines 4-7 are missing"})
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "Someone else was quicker" in body and "Nothing you entered was saved" in body
    doc = parse_html(body)
    who = "".join(one(doc, '//*[@data-testid="lost-by"]').itertext())
    assert re.search(r"Omar Haddad \(PMO reviewer\) completed this step on 2026-\d\d-\d\d "
                     r"\d\d:\d\d", who), who  # who and when
    kept = one(doc, '//*[@data-testid="kept-input"]')
    assert "Budget lines 4-7 are missing" in "".join(kept.itertext())  # shown back to copy
    ways = one(doc, '//*[@data-testid="lost-ways-back"]')
    assert ways.xpath(".//a/@href") == [f"/instances/{task.instance_id}", "/tasks"]
    again = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-testid="task-closed"' in again and "completed by Omar Haddad" in again


def test_409_when_the_same_person_completed_it_in_another_tab(client, arrange):
    """Not "someone else": the page says it was them, in another tab or window, and when;
    what they typed the second time is kept to copy."""
    task = arrange.task(arrange.start().id)
    login(client, "reviewer1")
    first = post(client, f"/tasks/{task.id}", {"decision": "accept", "comment": "Fine"})
    assert first.status_code == 302
    second = post(client, f"/tasks/{task.id}", {"decision": "reject",
                                                "comment": "Second thoughts on line 4"})
    assert second.status_code == 409
    body = second.get_data(as_text=True)
    assert "Someone else" not in body
    doc = parse_html(body)
    who = "".join(one(doc, '//*[@data-testid="lost-by"]').itertext())
    assert "You already completed this step, in another tab or window." in who
    assert re.search(r"That was on 2026-\d\d-\d\d \d\d:\d\d", who), who
    kept = "".join(one(doc, '//*[@data-testid="kept-input"]').itertext())
    assert "Second thoughts on line 4" in kept
    assert 'data-testid="task-closed"' not in body  # said once, in the warning


def test_save_draft_and_restore(client, arrange):
    task = arrange.task(arrange.start().id)
    login(client, "reviewer1")
    response = post(client, f"/tasks/{task.id}", {"decision": "reject", "comment": "Half way",
                                                  "action": "draft"})
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{task.id}"
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Draft saved" in html and 'data-testid="draft-restored"' in html
    assert ">Half way</textarea>" in html and 'value="reject" checked' in html
    assert arrange.task(task.instance_id).status == "open"


def test_draft_may_hold_invalid_input(client, arrange):
    login(client, "pm1")
    inst = arrange.start("widgets", data=PROPOSAL)
    task = arrange.task(inst.id)
    client2 = client.application.test_client()
    login(client2, "reviewer1")
    response = post(client2, f"/tasks/{task.id}", {"decision": "", "action": "draft"})
    assert response.status_code == 302


def test_rework_loop_does_not_prefill_the_earlier_decision(client, arrange):
    inst = arrange.start()
    arrange.complete(arrange.task(inst.id).id, "reviewer1",
                     {"decision": "rework", "comment": "Add a plan"})
    arrange.complete(arrange.task(inst.id, "revise").id, "pm1", {})
    again = arrange.task(inst.id, "review")
    login(client, "reviewer1")
    html = client.get(f"/tasks/{again.id}").get_data(as_text=True)
    assert " checked" not in field_html(html, "decision")
    assert "></textarea>" in field_html(html, "comment")
    assert "Add a plan" in html  # in the history, with its outcome
    assert 'data-testid="outcome">Rework<' in html


def test_task_without_form_is_marked_done_with_a_note(client, arrange):
    inst = arrange.start()
    arrange.complete(arrange.task(inst.id).id, "reviewer1",
                     {"decision": "rework", "comment": "Add a plan"})
    revise = arrange.task(inst.id, "revise")
    login(client, "pm1")
    html = client.get(f"/tasks/{revise.id}").get_data(as_text=True)
    assert "This step has no form" in html and "Mark as done" in html
    assert "Add a plan" in html
    response = post(client, f"/tasks/{revise.id}", {"comment": "Plan attached"})
    assert response.status_code == 302
    assert arrange.task(inst.id).element_id == "review"
    assert "Plan attached" in client.get(f"/instances/{inst.id}").get_data(as_text=True)


def test_the_starter_may_follow_but_not_review(client, arrange):
    task = arrange.task(arrange.start().id)
    login(client, "pm1")
    response = client.get(f"/tasks/{task.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-testid="cannot-act"' in html
    assert "This task needs the role “PMO reviewer”." in html
    assert 'data-testid="task-form"' not in html
    assert post(client, f"/tasks/{task.id}", {"decision": "accept"}).status_code == 403


def test_four_eyes_rule_is_explained(client, arrange):
    arrange.add_user("both", "pm", "pmo_reviewer")
    task = arrange.task(arrange.start(actor="both").id)
    login(client, "both")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Four-eyes rule: you submitted this request" in html
    assert 'data-testid="claim"' not in html


def test_someone_else_claimed_it_shows_who_has_it(client, arrange):
    arrange.add_user("reviewer2", "pmo_reviewer")
    task = arrange.task(arrange.start().id)
    arrange.claim(task.id, "reviewer1")
    login(client, "reviewer2")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "This task is assigned to reviewer1." in html
    assert 'data-testid="claim"' not in html


def test_read_only_fields_show_instance_data_and_are_not_submitted(client, arrange):
    inst = arrange.start("widgets", data=PROPOSAL)
    task = arrange.task(inst.id)
    login(client, "reviewer1")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    doc = parse_html(html)
    form = one(doc, '//form[@data-testid="task-form"]')
    # read-only fields are text (formatted like the summary), never inputs
    assert static_fields(form) == {"title": "Tower upgrade", "budget": "$125,000.50"}
    assert not form.xpath('.//input[@name="title"] | .//*[@id="f-title"][self::input]')
    assert "Completeness check" in html  # the form's title
    summary = html[html.index('data-testid="summary"'):]
    # each piece of data once: what the form shows is not repeated in the summary
    assert html.count("$125,000.50") == 1
    assert "$125,000.50" not in summary and ">IT<" in summary and "Yes" in summary
    assert "<th scope=\"col\">Milestone</th>" in summary and ">Design</td>" in summary
    invalid = post(client, f"/tasks/{task.id}", {"title": "Hacked", "decision": "rework"})
    assert invalid.status_code == 422
    form = one(parse_html(invalid.get_data(as_text=True)), '//form[@data-testid="task-form"]')
    assert static_fields(form)["title"] == "Tower upgrade"
    response = post(client, f"/tasks/{task.id}", {"title": "Hacked", "decision": "accept"})
    assert response.status_code == 302
    assert "Hacked" not in client.get(f"/instances/{inst.id}").get_data(as_text=True)
