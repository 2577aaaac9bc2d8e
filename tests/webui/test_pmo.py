"""PMO pages: all running requests; a PMO administrator reassigns any open task."""

from __future__ import annotations

import re

from tests.webui.conftest import login, parse_html, post

WIDGETS = {"title": "W", "budget": {"amount": "1", "currency": "CNY"}, "category": "it"}


def test_all_running_for_the_pmo(client, arrange, web_clock):
    a = arrange.start(title="From pm1")
    web_clock.advance(days=1)
    b = arrange.start("widgets", actor="pm2", data=WIDGETS, title="From pm2")
    done = arrange.start(title="Withdrawn")
    with client.application.app_context():
        from webui.extensions import db

        arrange.engine.cancel(db.session, done.id, "pm1", "no")
    login(client, "pmohead")
    html = client.get("/pmo/instances").get_data(as_text=True)
    found = [int(i) for i in re.findall(r'data-instance-id="(\d+)"', html)]
    assert found == [b.id, a.id]
    assert "Sara Novak (PM)" in html and "1 day" in html and "Check the proposal" in html
    only = client.get("/pmo/instances?process=widgets").get_data(as_text=True)
    assert [int(i) for i in re.findall(r'data-instance-id="(\d+)"', only)] == [b.id]


def test_all_running_is_for_pmo_roles_only(client):
    login(client, "pm1")
    assert client.get("/pmo/instances").status_code == 403
    assert "All running" not in client.get("/").get_data(as_text=True)


def test_admin_reassigns_any_open_task_with_a_reason(client, arrange):
    inst = arrange.start()
    task = arrange.task(inst.id)
    arrange.claim(task.id, "reviewer1")
    arrange.add_user("reviewer2", "pmo_reviewer", name="Second reviewer")
    login(client, "admin")
    page = client.get(f"/instances/{inst.id}").get_data(as_text=True)
    assert 'data-testid="reassign"' in page
    # only people who may do the step are offered: the role's holders, not its assignee
    offered = parse_html(page).xpath(f"//select[@id='reassign-to-{task.id}']/option/@value")
    assert offered == ["", "reviewer2"]
    response = post(client, f"/tasks/{task.id}/reassign",
                    {"to_user": "reviewer2", "reason": "Omar is on leave",
                     "next": f"/instances/{inst.id}"})
    assert response.status_code == 302 and response.headers["Location"] == f"/instances/{inst.id}"
    assert arrange.task(inst.id).assignee == "reviewer2"
    html = client.get(f"/instances/{inst.id}").get_data(as_text=True)
    assert "was reassigned to reviewer2" in html
    assert "reassigned “Check completeness” to Second reviewer" in html
    assert "Omar is on leave" in html


def test_reassign_is_for_the_admin_only_and_needs_a_reason(client, arrange):
    inst = arrange.start()
    task = arrange.task(inst.id)
    login(client, "pmohead")
    assert 'data-testid="reassign"' not in client.get(f"/instances/{inst.id}").get_data(
        as_text=True)
    assert post(client, f"/tasks/{task.id}/reassign",
                {"to_user": "pmohead", "reason": "mine"}).status_code == 403
    admin = client.application.test_client()
    login(admin, "admin")
    response = post(admin, f"/tasks/{task.id}/reassign",
                    {"to_user": "reviewer1", "reason": "", "next": f"/instances/{inst.id}"})
    assert response.headers["Location"] == f"/instances/{inst.id}"
    assert "Please give a reason." in admin.get(f"/instances/{inst.id}").get_data(as_text=True)
    post(admin, f"/tasks/{task.id}/reassign", {"to_user": "ghost", "reason": "x"})
    assert "There is no user named “ghost”." in admin.get("/pmo/instances").get_data(
        as_text=True)
    assert arrange.task(inst.id).assignee is None
