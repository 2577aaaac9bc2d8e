"""My requests, and withdrawing one (only its starter may)."""

from __future__ import annotations

import re

from tests.webui.conftest import login, post


def ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-testid="instance-row" data-instance-id="(\d+)"',
                                       html)]


def test_my_requests_lists_what_i_started_with_status_and_step(client, arrange, web_clock):
    a = arrange.start(title="First")
    web_clock.advance(days=2)
    b = arrange.start(title="Second")
    arrange.start(actor="pm2", title="Not mine")
    arrange.complete(arrange.task(a.id).id, "reviewer1", {"decision": "accept"})
    arrange.complete(arrange.task(a.id).id, "pmohead", {"decision": "reject",
                                                        "comment": "No"})
    login(client, "pm1")
    html = client.get("/requests").get_data(as_text=True)
    assert ids(html) == [b.id, a.id]
    assert "Check completeness" in html and "Completed" in html and "Running" in html
    assert "2 days" in html  # age of the first one (it ended now)
    assert ids(client.get("/requests?status=running").get_data(as_text=True)) == [b.id]
    assert ids(client.get("/requests?status=completed").get_data(as_text=True)) == [a.id]
    assert ids(client.get("/requests?status=bogus").get_data(as_text=True)) == [b.id, a.id]


def test_empty_requests(client):
    login(client, "pm2")
    assert 'data-testid="requests-empty"' in client.get("/requests").get_data(as_text=True)


def test_home_page_shows_counts_and_latest_requests(client, arrange):
    arrange.start(title="Mine")
    login(client, "pm1")
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="stat-requests">1<' in html and "Mine" in html


def test_the_starter_withdraws_with_a_reason(client, arrange):
    inst = arrange.start()
    task = arrange.task(inst.id)
    login(client, "pm1")
    response = post(client, f"/requests/{inst.id}/withdraw", {"reason": "Budget cut"})
    assert response.status_code == 302 and response.headers["Location"] == f"/instances/{inst.id}"
    html = client.get(f"/instances/{inst.id}").get_data(as_text=True)
    assert "Your request was withdrawn." in html and "Budget cut" in html
    assert "withdrew the request" in html and "Withdrawn on" in html
    assert [t.status for t in arrange.tasks(inst.id)] == ["cancelled"]
    assert task.status == "open"


def test_withdraw_needs_a_reason(client, arrange):
    inst = arrange.start()
    login(client, "pm1")
    post(client, f"/requests/{inst.id}/withdraw", {"reason": "  "})
    assert "Please give a reason." in client.get(f"/instances/{inst.id}").get_data(as_text=True)
    assert arrange.task(inst.id).status == "open"


def test_only_the_starter_may_withdraw(client, arrange):
    inst = arrange.start()
    for username in ("pm2", "admin", "reviewer1"):
        c = client.application.test_client()
        login(c, username)
        assert post(c, f"/requests/{inst.id}/withdraw", {"reason": "x"}).status_code == 403
    assert arrange.task(inst.id).status == "open"
    login(client, "pm1")
    assert post(client, "/requests/999/withdraw", {"reason": "x"}).status_code == 404


def test_withdrawing_twice_is_409(client, arrange):
    inst = arrange.start()
    login(client, "pm1")
    post(client, f"/requests/{inst.id}/withdraw", {"reason": "Once"})
    assert post(client, f"/requests/{inst.id}/withdraw", {"reason": "Twice"}).status_code == 409
