"""The business calendar and clock page, the moved-clock banner, deadlines on screen and
closing a wait early through the request page."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.spiff.bundle import SourceFile
from tests.webui.conftest import login, post
from webui.extensions import db

CLOSABLE = Path(__file__).parents[1] / "engine" / "processes" / "timer_closable.bpmn"


@pytest.mark.parametrize("username", ["pm1", "reviewer1", "pmohead"])
def test_time_page_is_403_for_non_admins(client, username):
    login(client, username)
    assert client.get("/admin/time").status_code == 403
    assert post(client, "/admin/time/calendar", {"days": "2026-03-06, X, holiday"}
                ).status_code == 403
    assert post(client, "/admin/time/clock", {"duration": "2d"}).status_code == 403


def test_calendar_saved_or_the_bad_line_named(client, arrange):
    login(client, "admin")
    bad = post(client, "/admin/time/calendar",
               {"days": "2026-03-06, Company day, holiday\n2026-03-06, Again, workday"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Line 2" in html and 'data-error-for="days"' in html
    ok = post(client, "/admin/time/calendar",
               {"days": "2026-03-06, Company day, holiday\n2026-03-07, Make-up, workday"})
    assert ok.status_code == 302
    html = client.get("/admin/time").get_data(as_text=True)
    assert "2026-03-07, Make-up, workday" in html


def test_clock_moves_only_on_a_demo_install_and_shows_a_banner(client, arrange, app):
    login(client, "admin")
    refused = post(client, "/admin/time/clock", {"duration": "2d"})
    assert refused.status_code == 403
    assert 'data-testid="clock-banner"' not in client.get("/tasks").get_data(as_text=True)
    with app.app_context():
        arrange.engine.mark_demo_install(db.session, "cli")
    garbled = post(client, "/admin/time/clock", {"duration": "soon"})
    assert garbled.status_code == 422 and 'data-error-for="duration"' in garbled.get_data(
        as_text=True)
    negative = post(client, "/admin/time/clock", {"duration": "-2d"})
    assert negative.status_code == 422
    inst = arrange.start(title="Old one")  # due in two working days
    assert post(client, "/admin/time/clock", {"duration": "7d"}).status_code == 302
    login(client, "reviewer1")
    html = client.get("/tasks?tab=claimable&overdue=1").get_data(as_text=True)
    assert 'data-testid="clock-banner"' in html
    assert f'data-task-id="{arrange.task(inst.id).id}"' in html
    assert 'data-testid="overdue"' in html
    login(client, "admin")
    assert post(client, "/admin/time/clock/reset", {}).status_code == 302
    html = client.get("/admin/time").get_data(as_text=True)
    assert 'data-testid="clock-banner"' not in html and 'data-testid="reset-clock"' not in html


def test_working_hours_saved_or_named_as_wrong(client):
    login(client, "admin")
    assert 'value="09:00-18:00"' in client.get("/admin/time").get_data(as_text=True)
    bad = post(client, "/admin/time/hours", {"working_hours": "18:00-09:00"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'data-error-for="working_hours"' in html
    assert "18:00-09:00" in html
    assert post(client, "/admin/time/hours", {"working_hours": "08:30-17:30"}).status_code == 302
    assert 'value="08:30-17:30"' in client.get("/admin/time").get_data(as_text=True)
    login(client, "pm1")
    assert post(client, "/admin/time/hours", {"working_hours": "09:00-18:00"}).status_code == 403
    assert post(client, "/admin/time/clock/reset", {}).status_code == 403


def test_close_a_wait_early_on_the_request_page(client, arrange, app):
    with app.app_context():
        arrange.engine.deploy(db.session, [SourceFile(CLOSABLE.name, CLOSABLE.read_bytes())],
                              "owner1")
    inst = arrange.start("timer_closable", data={})
    login(client, "pm1")
    html = client.get(f"/instances/{inst.id}").get_data(as_text=True)
    assert 'data-testid="waits"' in html and "Lessons window" in html
    assert 'data-testid="close-wait-form"' in html
    login(client, "pm2")  # not the starter, not the PMO: no button, and refused
    assert 'data-testid="close-wait-form"' not in client.get(
        f"/instances/{inst.id}").get_data(as_text=True)
    assert post(client, f"/requests/{inst.id}/close-wait", {"reason": "x"}).status_code == 403
    login(client, "pm1")
    assert post(client, f"/requests/{inst.id}/close-wait", {"reason": "all answered"}
                ).status_code == 302
    assert arrange.task(inst.id).element_id == "act"
    history = client.get(f"/instances/{inst.id}").get_data(as_text=True)
    assert "all answered" in history
