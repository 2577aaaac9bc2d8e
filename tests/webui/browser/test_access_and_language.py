"""Access in Chromium: 403 for a stranger, 409 for the slower of two reviewers; 中文."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_stranger_gets_403_on_a_guessed_task_url(new_page, arrange):
    task = arrange.task(arrange.start().id)
    stranger = new_page("team1")
    response = stranger.goto(f"/tasks/{task.id}")
    assert response.status == 403
    expect(stranger.locator("[data-testid=error-title]")).to_have_text("Not allowed")
    expect(stranger.locator("body")).not_to_contain_text("Traceback")
    expect(stranger.locator("[data-testid=task-form]")).to_have_count(0)


def test_two_reviewers_complete_the_same_task(new_page, arrange):
    arrange.add_user("reviewer2", "pmo_reviewer", name="Second Reviewer")
    task = arrange.task(arrange.start(title="Contested").id)
    first, second = new_page("reviewer1"), new_page("reviewer2")
    for page in (first, second):
        page.goto(f"/tasks/{task.id}")
    first.check("input[name=decision][value=accept]")
    second.check("input[name=decision][value=reject]")
    second.fill("#f-comment", "Budget not broken down")
    first.click("[data-testid=submit]")
    expect(first.locator("[data-testid=flash]")).to_contain_text("Done")
    with second.expect_response(lambda r: r.request.method == "POST") as answer:
        second.click("[data-testid=submit]")
    assert answer.value.status == 409
    lost = second.locator("[data-testid=lost-input]")
    expect(lost).to_contain_text("Someone else was quicker")
    expect(lost).to_contain_text("Nothing you entered was saved")
    # What the slower reviewer typed is shown back so it can be copied.
    expect(second.locator("[data-testid=kept-input]")).to_contain_text("Budget not broken down")
    # ...and it says who was quicker, and when.
    expect(second.locator("[data-testid=lost-by]")).to_contain_text(
        "Omar Haddad (PMO reviewer) completed this step on")
    assert arrange.task(task.instance_id).element_id == "approve"


def test_the_same_reviewer_in_two_tabs_is_told_it_was_them(new_page, arrange, tmp_path):
    """The 409 page does not blame "someone else" for the user's own other tab; what they
    typed in the slower tab is kept to copy, and a link leads back to the request."""
    task = arrange.task(arrange.start(title="Twice").id)
    tab1 = new_page("reviewer1")
    tab2 = tab1.context.new_page()  # same browser, same sign-in: another tab
    for tab in (tab1, tab2):
        tab.goto(f"/tasks/{task.id}")
    tab1.check("input[name=decision][value=accept]")
    tab1.click("[data-testid=submit]")
    expect(tab1.locator("[data-testid=flash]")).to_contain_text("Done")
    tab2.check("input[name=decision][value=reject]")
    tab2.fill("#f-comment", "Typed in the second tab")
    with tab2.expect_response(lambda r: r.request.method == "POST") as answer:
        tab2.click("[data-testid=submit]")
    assert answer.value.status == 409
    lost = tab2.locator("[data-testid=lost-input]")
    expect(lost).to_contain_text("You already completed this step, in another tab or window.")
    expect(lost).not_to_contain_text("Someone else")
    expect(tab2.locator("[data-testid=kept-input]")).to_contain_text("Typed in the second tab")
    tab2.screenshot(path=str(tmp_path / "409-same-user.png"), full_page=True)
    tab2.locator("[data-testid=lost-ways-back] a").first.click()
    expect(tab2).to_have_url(re.compile(rf"/instances/{task.instance_id}$"))


def test_language_switch_to_chinese(new_page):
    pm = new_page("pm1")
    pm.click("[data-testid=lang-zh]")
    expect(pm.locator("[data-testid=nav-inbox]")).to_contain_text("待办")
    expect(pm.locator("h1")).to_contain_text("欢迎")
    pm.goto("/processes/widgets/start")
    expect(pm.locator("label[for=f-title]")).to_contain_text("项目名称")
    expect(pm.locator("label[for=f-start]")).to_have_text("计划开始")
    expect(pm.locator("[data-testid=submit]")).to_contain_text("提交申请")
    pm.click("[data-testid=submit]")
    expect(pm.locator("[data-error-for=title]")).to_have_text("此项为必填项。")
    pm.click("[data-testid=lang-en]")
    expect(pm.locator("label[for=f-title]")).to_contain_text("Title")
