"""The inbox: tabs, filters, sort, paging, claim, unclaim, delegate, nav counts."""

from __future__ import annotations

import re

from tests.webui.conftest import login, parse_html, post

WIDGET_DATA = {"title": "Widget proposal", "budget": {"amount": "10", "currency": "CNY"},
               "category": "it"}


def rows(html: str) -> list[str]:
    """Task ids of the inbox rows, in order."""
    return re.findall(r'data-testid="task-row" data-task-id="(\d+)"', html)


def test_inbox_needs_sign_in(client):
    response = client.get("/tasks")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_open_for_my_roles_lists_the_task_with_its_context(client, arrange):
    inst = arrange.start(title="Tower upgrade")
    task = arrange.task(inst.id)
    login(client, "reviewer1")
    html = client.get("/tasks?tab=claimable").get_data(as_text=True)
    assert rows(html) == [str(task.id)]
    assert "Check completeness" in html and "Tower upgrade" in html
    assert "Three-step approval" in html and f"#{inst.id}" in html
    assert "2026-03-04 09:00" in html  # due: two working days
    assert 'aria-selected="true"' in html and 'role="tab"' in html and 'role="tabpanel"' in html
    mine = client.get("/tasks").get_data(as_text=True)
    assert rows(mine) == [] and 'data-testid="inbox-empty"' in mine


def test_a_pm_who_also_reviews_is_not_offered_their_own_review(client, arrange):
    """Four eyes in the inbox, not only at the submit: the own review is neither listed
    nor counted nor claimable from its page, someone else's is."""
    arrange.add_user("pmrev", "pm", "pmo_reviewer")
    own = arrange.task(arrange.start(actor="pmrev", title="Mine").id)
    theirs = arrange.task(arrange.start(actor="pm1", title="Theirs").id)
    login(client, "pmrev")
    html = client.get("/tasks?tab=claimable").get_data(as_text=True)
    assert rows(html) == [str(theirs.id)]
    assert re.search(r'data-testid="count-claimable".*?</span>1</span>', html, re.S)
    page = client.get(f"/tasks/{own.id}").get_data(as_text=True)
    assert 'data-testid="claim"' not in page and 'data-testid="cannot-act"' in page
    assert 'data-testid="delegate-form"' not in page


def test_nav_shows_task_counts(client, arrange):
    arrange.start()
    login(client, "reviewer1")
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'data-testid="count-claimable".*?</span>1</span>', html, re.S)
    assert 'data-testid="count-mine"' not in html


def test_filter_by_process_and_role(client, arrange):
    a = arrange.start()
    w = arrange.start("widgets", data=WIDGET_DATA)
    ta, tw = arrange.task(a.id), arrange.task(w.id)
    login(client, "reviewer1")
    assert set(rows(client.get("/tasks?tab=claimable").get_data(as_text=True))) == {
        str(ta.id), str(tw.id)}
    only_w = client.get("/tasks?tab=claimable&process=widgets").get_data(as_text=True)
    assert rows(only_w) == [str(tw.id)]
    assert "No task matches these filters." in client.get(
        "/tasks?tab=claimable&role=pmo_head").get_data(as_text=True)
    assert len(rows(client.get("/tasks?tab=claimable&role=pmo_reviewer").get_data(
        as_text=True))) == 2


def test_overdue_filter_and_red_due_date(client, arrange, web_clock):
    old = arrange.start(title="Old one")
    web_clock.advance(days=3)
    new = arrange.start(title="New one")
    login(client, "reviewer1")
    html = client.get("/tasks?tab=claimable&overdue=1").get_data(as_text=True)
    assert rows(html) == [str(arrange.task(old.id).id)]
    assert 'data-testid="overdue"' in html and "table-row-overdue" in html
    assert str(arrange.task(new.id).id) in client.get("/tasks?tab=claimable").get_data(
        as_text=True)


def test_sort_orders(client, arrange, web_clock):
    first = arrange.start(title="First")
    web_clock.advance(hours=1)
    second = arrange.start("widgets", data=WIDGET_DATA)
    t1, t2 = str(arrange.task(first.id).id), str(arrange.task(second.id).id)
    login(client, "reviewer1")

    def order(sort):
        return rows(client.get(f"/tasks?tab=claimable&sort={sort}").get_data(as_text=True))

    assert order("created") == [t1, t2]
    assert order("-created") == [t2, t1]
    assert order("name") == [t1, t2]  # "Check completeness" < "Check the proposal"
    assert order("due") == [t2, t1]  # widgets: one working day, approval3: two
    assert order("nonsense") == order("due")


def test_pagination_pages_through_the_inbox(client, arrange):
    for n in range(27):
        arrange.start(title=f"Request {n}")
    login(client, "reviewer1")
    first = client.get("/tasks?tab=claimable").get_data(as_text=True)
    second = client.get("/tasks?tab=claimable&page=2").get_data(as_text=True)
    assert len(rows(first)) == 25 and len(rows(second)) == 2
    assert not set(rows(first)) & set(rows(second))
    assert "1–25 of 27" in first and "26–27 of 27" in second
    assert 'href="/tasks?tab=claimable&amp;page=2"' in first
    assert len(rows(client.get("/tasks?tab=claimable&page=x").get_data(as_text=True))) == 25


def test_a_long_list_is_counted_up_to_a_cap(client, arrange, monkeypatch):
    """Issue 16: the inbox counts a list only up to ``COUNT_CAP`` ("of 1000+"), so a page
    costs the same however many tasks a role has; the pages up to the cap stay reachable."""
    from webui import inbox

    monkeypatch.setattr(inbox, "COUNT_CAP", 26)
    for n in range(27):
        arrange.start(title=f"Request {n}")
    login(client, "reviewer1")
    first = client.get("/tasks?tab=claimable").get_data(as_text=True)
    second = client.get("/tasks?tab=claimable&page=2").get_data(as_text=True)
    assert "1–25 of 26+" in first and 'href="/tasks?tab=claimable&amp;page=2"' in first
    assert len(rows(second)) == 2  # the page itself is not capped
    monkeypatch.setattr(inbox, "COUNT_CAP", 1000)
    assert "1–25 of 27" in client.get("/tasks?tab=claimable").get_data(as_text=True)


def test_claim_opens_the_task_and_moves_it_to_my_tab(client, arrange):
    task = arrange.task(arrange.start().id)
    login(client, "reviewer1")
    response = post(client, f"/tasks/{task.id}/claim")
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{task.id}"
    assert "You have claimed" in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert rows(client.get("/tasks").get_data(as_text=True)) == [str(task.id)]
    assert arrange.task(task.instance_id).assignee == "reviewer1"


def test_claim_of_a_task_someone_else_has_is_a_409_page(client, arrange):
    arrange.add_user("reviewer2", "pmo_reviewer")
    task = arrange.task(arrange.start().id)
    arrange.claim(task.id, "reviewer2")
    login(client, "reviewer1")
    response = post(client, f"/tasks/{task.id}/claim")
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "Someone else was quicker" in body and "already claimed by reviewer2" in body


def test_claim_without_the_role_is_403(client, arrange):
    task = arrange.task(arrange.start().id)
    login(client, "pm2")
    assert post(client, f"/tasks/{task.id}/claim").status_code == 403


def test_unclaim_returns_the_task_to_the_pool(client, arrange):
    task = arrange.task(arrange.start().id)
    arrange.claim(task.id, "reviewer1")
    login(client, "reviewer1")
    response = post(client, f"/tasks/{task.id}/unclaim", {"next": "/tasks?tab=mine"})
    assert response.status_code == 302 and response.headers["Location"] == "/tasks?tab=mine"
    assert arrange.task(task.instance_id).assignee is None
    assert "back in the pool" in client.get("/tasks").get_data(as_text=True)


def test_unclaim_by_someone_else_is_403_and_next_cannot_leave_the_site(client, arrange):
    task = arrange.task(arrange.start().id)
    arrange.claim(task.id, "reviewer1")
    login(client, "pmohead")
    assert post(client, f"/tasks/{task.id}/unclaim").status_code == 403
    client2 = client.application.test_client()
    login(client2, "reviewer1")
    response = post(client2, f"/tasks/{task.id}/unclaim", {"next": "//evil.example/"})
    assert response.headers["Location"] == "/tasks"


def test_delegate_to_a_named_user_with_a_reason(client, arrange):
    arrange.add_user("reviewer2", "pmo_reviewer", name="Ines Costa (PMO reviewer)")
    task = arrange.task(arrange.start().id)
    login(client, "reviewer1")
    response = post(client, f"/tasks/{task.id}/delegate",
                    {"to_user": "reviewer2", "reason": "Needs a second eye"})
    assert response.status_code == 302 and response.headers["Location"] == "/tasks"
    assert arrange.task(task.instance_id).assignee == "reviewer2"
    assert "was handed to reviewer2" in client.get("/tasks").get_data(as_text=True)
    history = client.get(f"/instances/{task.instance_id}").get_data(as_text=True)
    assert "handed “Check completeness” to Ines Costa (PMO reviewer)" in history
    assert "Needs a second eye" in history


def test_the_hand_over_list_holds_only_people_who_may_do_the_step(client, arrange):
    """Only holders of the step's role, never the requester on a four-eyes step; the
    engine refuses anyone else (without the role) even when the form is forged."""
    arrange.add_user("reviewer2", "pmo_reviewer")
    arrange.add_user("pmreviewer", "pm", "pmo_reviewer")
    task = arrange.task(arrange.start(actor="pmreviewer").id)
    login(client, "reviewer1")
    doc = parse_html(client.get(f"/tasks/{task.id}").get_data())
    offered = doc.xpath("//select[@id='delegate-to']/option/@value")
    assert offered == ["", "reviewer2"]  # not pmohead (no role), not the requester, not me
    refused = post(client, f"/tasks/{task.id}/delegate", {"to_user": "pmohead", "reason": "x"})
    assert refused.status_code == 403
    assert "pmohead may not work on this task" in refused.get_data(as_text=True)
    assert arrange.task(task.instance_id).assignee is None


def test_delegate_without_reason_or_to_nobody_is_refused_with_a_message(client, arrange):
    task = arrange.task(arrange.start().id)
    login(client, "reviewer1")
    response = post(client, f"/tasks/{task.id}/delegate", {"to_user": "pmohead", "reason": " "})
    assert response.headers["Location"] == f"/tasks/{task.id}"
    assert "Please give a reason." in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    post(client, f"/tasks/{task.id}/delegate", {"to_user": "ghost", "reason": "x"})
    assert "There is no user named “ghost”." in client.get(f"/tasks/{task.id}").get_data(
        as_text=True)
    assert arrange.task(task.instance_id).assignee is None


def test_delegate_needs_access_and_csrf(client, arrange):
    task = arrange.task(arrange.start().id)
    login(client, "team1")
    assert post(client, f"/tasks/{task.id}/delegate",
                {"to_user": "team1", "reason": "mine now"}).status_code == 403
    response = client.post(f"/tasks/{task.id}/delegate", data={"to_user": "x", "reason": "y"})
    assert response.status_code == 400
