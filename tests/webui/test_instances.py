"""The instance page: where it is, who has it, markers for the diagram, data, history."""

from __future__ import annotations

import json

from tests.webui.conftest import login, one, parse_html

PROPOSAL = {"title": "Robots", "budget": {"amount": "1250000", "currency": "USD"},
            "category": "rnd", "risk": "high", "multi_department": False,
            "departments": ["IT", "HR"], "sponsor": "sponsor1",
            "milestones": [{"name": "Pilot", "weeks": 6}, {"name": "Scale"}]}


def test_where_is_my_request_for_the_starter(client, arrange, web_clock):
    inst = arrange.start(title="Tower upgrade")
    web_clock.advance(hours=5)
    login(client, "pm1")
    html = client.get(f"/instances/{inst.id}").get_data(as_text=True)
    d = parse_html(html)
    where = one(d, '//*[@data-testid="waiting"]').text_content()
    assert "Check completeness" in where
    assert "Anyone with the role PMO reviewer" in where
    assert "Waiting for 5 hours" in where and "since 2026-03-02 09:00" in where
    assert "2026-03-04 09:00" in where
    assert one(d, '//*[@data-testid="withdraw-form"]') is not None
    assert "Running for 5 hours" in html


def test_where_shows_the_assignee_once_claimed(client, arrange):
    inst = arrange.start()
    arrange.claim(arrange.task(inst.id).id, "reviewer1")
    login(client, "pm1")
    html = client.get(f"/instances/{inst.id}").get_data(as_text=True)
    assert "Omar Haddad (PMO reviewer)" in html


def test_diagram_markers_follow_the_history(client, arrange):
    inst = arrange.start()
    arrange.complete(arrange.task(inst.id).id, "reviewer1", {"decision": "rework",
                                                             "comment": "More"})
    arrange.complete(arrange.task(inst.id).id, "pm1", {})
    login(client, "pm1")
    d = parse_html(client.get(f"/instances/{inst.id}").get_data(as_text=True))
    box = one(d, '//*[@data-diagram]')
    assert json.loads(box.get("data-completed")) == {"start": 1, "review": 1, "gw_review": 1,
                                                     "revise": 1}
    assert json.loads(box.get("data-current")) == ["review"]
    assert box.get("data-xml-url") == f"/definitions/{inst.definition_id}/diagram.bpmn"


def test_completed_instance(client, arrange):
    inst = arrange.start()
    arrange.complete(arrange.task(inst.id).id, "reviewer1", {"decision": "accept"})
    arrange.complete(arrange.task(inst.id).id, "pmohead", {"decision": "reject",
                                                           "comment": "Not this year"})
    login(client, "pm1")
    html = client.get(f"/instances/{inst.id}").get_data(as_text=True)
    assert 'data-testid="status"' in html and "Completed on 2026-03-02 09:00." in html
    assert 'data-testid="withdraw-form"' not in html
    assert "Not this year" in html and 'data-testid="outcome">Reject<' in html
    assert "The request was completed" in html


def test_data_summary_is_formatted_not_json(client, arrange):
    inst = arrange.start("widgets", data=PROPOSAL)
    login(client, "pm1")
    d = parse_html(client.get(f"/instances/{inst.id}").get_data(as_text=True))
    summary = {dd.get("data-field"): dd for dd in d.xpath('//dl[@data-testid="summary"]/dd')}
    assert summary["budget"].text_content().strip() == "$1,250,000.00"
    assert summary["category"].text_content().strip() == "R&D"
    assert summary["risk"].text_content().strip() == "High"
    assert summary["multi_department"].text_content().strip() == "No"
    assert summary["sponsor"].text_content().strip() == "Zhang Min (Sponsor)"
    assert summary["departments"].xpath(".//span/text()") == ["IT", "HR"]
    assert summary["milestones"].xpath(".//tbody/tr/td/text()") == ["Pilot", "—", "6",
                                                                   "Scale", "—", "—"]
    assert "initiator" not in summary and "{" not in d.xpath('string(//dl)')


def test_access_to_an_instance(client, arrange):
    inst = arrange.start()
    for username, status in (("team1", 403), ("pm2", 403), ("reviewer1", 200),
                             ("pmohead", 200), ("admin", 200)):
        c = client.application.test_client()
        login(c, username)
        assert c.get(f"/instances/{inst.id}").status_code == status, username


def test_unknown_instance_is_404(client):
    login(client, "pm1")
    assert client.get("/instances/12345").status_code == 404
