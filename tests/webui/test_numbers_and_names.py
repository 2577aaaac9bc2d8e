"""Numbers and names (issue 13 point 5): money by currency and locale, projects by code and
title, cycle time of a request and its steps, each value once on the task page."""

from __future__ import annotations

from flask import Flask

from tests.webui.conftest import login, one, parse_html
from tests.webui.test_portfolio import seed_records
from webui.formatting import money
from webui.summary import make_item, summarize


def test_money_is_formatted_by_currency_and_locale(app: Flask):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert money({"amount": "500000", "currency": "CNY"}) == "CN¥500,000.00"
        assert money("1200.5", "EUR") == "€1,200.50"
        assert money({"amount": "900000", "currency": "USD"}, whole=True) == "$900,000"
        assert money("900000") == "900,000.00"  # no currency: grouped
        assert money("lots", "CNY") == "lots"  # not an amount: as given
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert money({"amount": "500000", "currency": "CNY"}) == "¥500,000.00"
        assert money("10", "USD") == "US$10.00"


def test_budget_rows_are_money_in_the_requests_currency(app: Flask):
    rows = {"type": "array", "x-widget": "rows", "items": {"type": "object", "properties": {
        "item": {"type": "string", "title": "Item"},
        "amount": {"type": "string", "title": "Amount"}}}}
    data = {"budget": {"amount": "900000", "currency": "CNY"},
            "budget_breakdown": [{"item": "Licences", "amount": "900000"}]}
    with app.test_request_context():
        items = {i.key: i for i in summarize(data, {"budget_breakdown": rows}, "en")}
        assert items["budget_breakdown"].table == [["Licences", "CN¥900,000.00"]]
        assert items["budget"].text == "CN¥900,000.00"
        alone = make_item("budget_breakdown", rows, data["budget_breakdown"], "en")
        assert alone.table == [["Licences", "900,000.00"]]  # no currency known


def test_inbox_shows_a_project_by_code_and_title_and_a_proposal_by_title(
        client, app, arrange, web_clock):
    w = seed_records(app, web_clock)
    arrange.start(title="CRM change", project_id=w.crm)
    arrange.start(title="Proposal step", project_id=w.lake)
    login(client, "reviewer1")
    doc = parse_html(client.get("/tasks?tab=claimable").get_data(as_text=True))
    cells = [" ".join(c.text_content().split())
             for c in doc.xpath("//*[@data-testid='task-project']")]
    assert "PRJ-2026-0001 CRM replacement" in cells
    assert not [c for c in cells if c.startswith("#")], cells


def test_request_page_shows_cycle_time_of_the_request_and_each_step(
        client, arrange, web_clock):
    inst = arrange.start(title="Tower upgrade")  # Monday 2026-03-02 09:00 UTC
    web_clock.advance(days=4)  # Friday
    arrange.complete(arrange.task(inst.id).id, "reviewer1", {"decision": "rework",
                                                              "comment": "Add a plan"})
    web_clock.advance(days=3)  # over the weekend to Monday
    login(client, "pm1")
    doc = parse_html(client.get(f"/instances/{inst.id}").get_data(as_text=True))
    section = one(doc, "//*[@data-testid='cycle-times']")
    total = " ".join(one(section, ".//*[@data-testid='cycle-total']").text_content().split())
    assert total == "Running for 7 days (5 working days) so far"
    steps = [[" ".join(" ".join(td.itertext()).split()) for td in tr.xpath("./td")]
             for tr in section.xpath(".//tr[@data-testid='step-cycle']")]
    assert steps[0] == ["Check completeness Omar Haddad (PMO reviewer)", "4 days",
                        "4 working days"]
    assert steps[1][1:] == ["3 days", "1 working day"] and "still open" in steps[1][0]


def test_project_page_shows_each_requests_cycle_time(client, app, arrange, web_clock):
    w = seed_records(app, web_clock)
    arrange.start(actor="pm1", title="Change request for CRM", project_id=w.crm)
    web_clock.advance(hours=36)
    login(client, "pm1")
    doc = parse_html(client.get(f"/projects/{w.crm}").get_data(as_text=True))
    cell = one(doc, "//tr[@data-testid='request-row']//*[@data-testid='request-cycle']")
    assert " ".join(cell.itertext()).split() and " ".join(" ".join(cell.itertext()).split()) == "1 day, 12 hours 1.5 working days so far"


def test_chinese_cycle_time_and_money(client, arrange, web_clock):
    inst = arrange.start(title="Tower upgrade")
    web_clock.advance(days=2)
    login(client, "pm1")
    html = client.get(f"/instances/{inst.id}", headers={"Accept-Language": "zh-CN"}
                      ).get_data(as_text=True)
    total = one(parse_html(html), "//*[@data-testid='cycle-total']").text_content()
    assert "2 个工作日" in total and "已运行" in total


def test_chinese_cycle_time_names_the_steps_as_the_diagram_does(pmo_app, pmo_client):
    from tests.webui.browser.test_rules_admin import propose_and_check
    from tests.webui.conftest import post

    inst_id = propose_and_check(pmo_app, "49999.99", "GDPR audit")
    login(pmo_client, "pm1")
    post(pmo_client, "/language", {"lang": "zh"}, token_from="/")
    doc = parse_html(pmo_client.get(f"/instances/{inst_id}").get_data(as_text=True))
    names = [(tr.xpath("./td")[0].text or "").strip()
             for tr in doc.xpath("//tr[@data-testid='step-cycle']")]
    assert names == ["完整性检查", "PMO 负责人审批"]
