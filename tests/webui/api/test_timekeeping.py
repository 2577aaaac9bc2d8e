"""`/api/v1/calendar`, `/api/v1/clock` and closing a wait early through the API, in the
same OpenAPI document; bad input is a problem with a registered code, nothing saved."""

from __future__ import annotations

from pathlib import Path

from engine.spiff.bundle import SourceFile
from tests.webui.api.conftest import assert_problem
from webui.extensions import db

CLOSABLE = Path(__file__).parents[2] / "engine" / "processes" / "timer_closable.bpmn"


def test_calendar_read_and_written_by_the_pmo_admin(as_user):
    admin = as_user("admin")
    got = admin.get("/api/v1/calendar").get_json()
    assert got == {"country": "CN", "time_zone": "Asia/Shanghai",
                   "working_hours": "09:00-18:00", "days": []}
    days = [{"day": "2026-03-06", "name": "Company day", "kind": "holiday"},
            {"day": "2026-03-07", "name": "Make-up day", "kind": "workday"}]
    saved = admin.put("/api/v1/calendar/days", json={"days": days})
    assert saved.status_code == 200 and saved.get_json()["days"] == days
    # A repeated date names the item; nothing changes.
    twice = admin.put("/api/v1/calendar/days", json={"days": [days[0], {**days[0],
                                                                      "name": "Again"}]})
    body = assert_problem(twice, 422, "invalid-data")
    assert body["errors"][0]["code"] == "calendar.date_repeated"
    assert body["errors"][0]["params"]["line"] == 2
    bad = admin.put("/api/v1/calendar/days",
                    json={"days": [{"day": "2026-02-30", "name": "X", "kind": "holiday"}]})
    assert_problem(bad, 422, "invalid-data")
    assert admin.get("/api/v1/calendar").get_json()["days"] == days
    hours = admin.put("/api/v1/calendar/working-hours", json={"working_hours": "08:30-17:30"})
    assert hours.get_json()["working_hours"] == "08:30-17:30"
    wrong = admin.put("/api/v1/calendar/working-hours", json={"working_hours": "17:00-08:00"})
    body = assert_problem(wrong, 422, "invalid-data")
    assert body["errors"][0]["code"] == "calendar.hours_invalid"


def test_calendar_is_for_the_pmo_admin_only(as_user):
    pm = as_user("pm1")
    assert_problem(pm.get("/api/v1/calendar"), 403, "forbidden")
    assert_problem(pm.put("/api/v1/calendar/days", json={"days": []}), 403, "forbidden")
    assert_problem(pm.put("/api/v1/calendar/working-hours",
                          json={"working_hours": "09:00-18:00"}), 403, "forbidden")


def test_clock_read_by_anyone_moved_only_on_a_demo_install(as_user, app):
    pm, admin = as_user("pm1"), as_user("admin")
    clock = pm.get("/api/v1/clock").get_json()
    assert clock["demo"] is False and clock["moved"] is False
    refused = admin.post("/api/v1/clock/advance", json={"duration": "2d"})
    assert assert_problem(refused, 403, "forbidden")["code"] == "clock.not_demo"
    with app.app_context():
        app.extensions["pmoflow"].engine.mark_demo_install(db.session, "cli")
    for bad, code in (("soon", "clock.duration_invalid"), ("-2d", "clock.duration_negative")):
        body = assert_problem(admin.post("/api/v1/clock/advance", json={"duration": bad}),
                              422, "invalid-data")
        assert body["errors"][0]["code"] == code
    assert_problem(pm.post("/api/v1/clock/advance", json={"duration": "2d"}), 403, "forbidden")
    moved = admin.post("/api/v1/clock/advance", json={"duration": "2d"}).get_json()
    assert moved["moved"] is True and moved["offset_seconds"] == 2 * 86400
    assert pm.get("/api/v1/clock").get_json()["offset_seconds"] == 2 * 86400
    back = admin.post("/api/v1/clock/reset").get_json()
    assert back["moved"] is False and back["offset_seconds"] == 0


def test_close_a_wait_early_through_the_api(as_user, arrange, app):
    with app.app_context():
        arrange.engine.deploy(db.session, [SourceFile(CLOSABLE.name, CLOSABLE.read_bytes())],
                              "owner1")
    inst = arrange.start("timer_closable", "pm1", {})
    other = as_user("pm2")
    assert_problem(other.post(f"/api/v1/instances/{inst.id}/close-wait",
                              json={"reason": "done"}), 403, "forbidden")
    pm = as_user("pm1")
    body = assert_problem(pm.post(f"/api/v1/instances/{inst.id}/close-wait",
                                  json={"reason": " "}), 422, "invalid-data")
    assert body["errors"][0]["code"] == "wait.reason_required"
    done = pm.post(f"/api/v1/instances/{inst.id}/close-wait", json={"reason": "All answered."})
    assert done.status_code == 200 and done.get_json() == {"closed": 1}
    again = pm.post(f"/api/v1/instances/{inst.id}/close-wait", json={"reason": "Again."})
    assert again.status_code in (409, 422)
    assert again.get_json()["code"] == "wait.not_closable"


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/calendar", "/api/v1/calendar/days", "/api/v1/calendar/working-hours",
                 "/api/v1/clock", "/api/v1/clock/advance", "/api/v1/clock/reset",
                 "/api/v1/instances/{instance_id}/close-wait"):
        assert path in paths, path
