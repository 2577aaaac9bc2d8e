"""The rules pages (PMO admin) without a browser: every route refuses everyone else with
403; drafts, checks and publishing answer with the problems by rule row and column."""

from __future__ import annotations

import html

import pytest

from tests.webui.conftest import login, post

KEY = "approval_routing"
ROUTES = ["/rules/{key}/draft", "/rules/{key}/check", "/rules/{key}/test",
          "/rules/{key}/what-if", "/rules/{key}/publish"]


def published_xml(client) -> str:
    page = client.get(f"/rules/{KEY}").get_data(as_text=True)
    start = page.index('<textarea id="dmn-xml" hidden aria-hidden="true">') + len(
        '<textarea id="dmn-xml" hidden aria-hidden="true">')
    return html.unescape(page[start:page.index("</textarea>", start)])


@pytest.mark.parametrize("username", ["pm1", "reviewer1", "pmohead", "finance1"])
def test_every_rules_route_is_403_for_non_admins(pmo_client, username):
    login(pmo_client, username)
    assert pmo_client.get("/rules").status_code == 403
    assert pmo_client.get(f"/rules/{KEY}").status_code == 403
    assert "nav-rules" not in pmo_client.get("/tasks").get_data(as_text=True)
    for route in ROUTES:
        response = post(pmo_client, route.format(key=KEY), {"xml": "<x/>", "comment": "c"})
        assert response.status_code == 403, route


def test_admin_saves_checks_and_cannot_publish_a_broken_draft(pmo_client):
    login(pmo_client, "admin")
    assert "nav-rules" in pmo_client.get("/rules").get_data(as_text=True)
    xml = published_xml(pmo_client)
    broken = xml.replace('"finance"', '"finance" +')
    checked = post(pmo_client, f"/rules/{KEY}/check", {"xml": broken})
    text = html.unescape(checked.get_data(as_text=True))
    assert checked.status_code == 200 and "row 3, output 'Approver role': " in text
    saved = post(pmo_client, f"/rules/{KEY}/draft", {"xml": broken})
    assert saved.status_code == 302
    page = html.unescape(pmo_client.get(f"/rules/{KEY}").get_data(as_text=True))
    assert "Draft saved. Fix 1 problem(s) before publishing." in page
    assert 'data-testid="draft-badge"' in page and "row 3, output 'Approver role'" in page
    refused = post(pmo_client, f"/rules/{KEY}/publish", {"xml": broken, "comment": "try"})
    assert refused.status_code == 422
    no_comment = post(pmo_client, f"/rules/{KEY}/publish", {"xml": xml, "comment": " "})
    assert no_comment.status_code == 422 and "comment is required" in html.unescape(
        no_comment.get_data(as_text=True))
    not_dmn = post(pmo_client, f"/rules/{KEY}/draft", {"xml": "<html/>"})
    assert not_dmn.status_code == 422 and "not a DMN" in not_dmn.get_data(as_text=True)
    done = post(pmo_client, f"/rules/{KEY}/publish", {"xml": xml.replace(
        "&gt;= 100000", "&gt;= 50000"), "comment": "finance from 50k"})
    assert done.status_code == 302
    page = html.unescape(pmo_client.get(f"/rules/{KEY}").get_data(as_text=True))
    assert "Version 2 published" in page and "finance from 50k" in page
