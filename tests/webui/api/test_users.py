"""`/api/v1/users`: PMO administrators list and create users; everyone else gets 403."""

from __future__ import annotations

import pytest

from tests.webui.api.conftest import assert_problem


@pytest.mark.parametrize("username", ["pm1", "reviewer1", "owner1"])
def test_users_api_is_403_for_non_admins(as_user, username):
    caller = as_user(username)
    assert_problem(caller.get("/api/v1/users"), 403, "forbidden")
    made = caller.post("/api/v1/users", json={"username": "sneaky", "password": "long-enough"})
    assert_problem(made, 403, "forbidden")
    admin = as_user("admin")
    assert "sneaky" not in [u["username"] for u in admin.get(
        "/api/v1/users?limit=100").get_json()["items"]]


def test_admin_lists_and_creates_users(as_user):
    admin = as_user("admin")
    listed = admin.get("/api/v1/users?limit=100").get_json()
    pm1 = next(u for u in listed["items"] if u["username"] == "pm1")
    assert pm1["roles"] == ["pm"] and pm1["active"] is True and "password" not in str(pm1)
    made = admin.post("/api/v1/users", json={
        "username": "apiuser", "password": "long-enough", "display_name": "API User",
        "time_zone": "Europe/Berlin", "locale": "en", "roles": ["finance"]})
    assert made.status_code == 201, made.get_json()
    assert made.get_json() == {"username": "apiuser", "display_name": "API User",
                               "email": None, "locale": "en", "time_zone": "Europe/Berlin",
                               "active": True, "roles": ["finance"], "project_roles": []}
    again = admin.post("/api/v1/users", json={"username": "apiuser", "password": "long-enough",
                                              "time_zone": "Atlantis/City",
                                              "roles": ["wizard"]})
    body = assert_problem(again, 422, "invalid-data")
    assert {e["field"] for e in body["errors"]} == {"username", "time_zone", "roles"}


def test_admin_edits_deactivates_and_grants_through_the_api(as_user, app):
    admin, pm2 = as_user("admin"), as_user("pm2")
    assert pm2.get("/api/v1/me").status_code == 200
    changed = admin.client.patch("/api/v1/users/pm2", json={"time_zone": "Asia/Tokyo"},
                                 headers={"Authorization": f"Bearer {admin.token}"})
    assert changed.status_code == 200 and changed.get_json()["time_zone"] == "Asia/Tokyo"
    granted = admin.client.put("/api/v1/users/pm2/roles/sponsor?project_id=5",
                               headers={"Authorization": f"Bearer {admin.token}"})
    assert granted.get_json()["project_roles"] == [{"project_id": 5, "role": "sponsor"}]
    bad = admin.client.put("/api/v1/users/pm2/roles/finance?project_id=5",
                           headers={"Authorization": f"Bearer {admin.token}"})
    assert_problem(bad, 422, "invalid-data")
    revoked = admin.delete("/api/v1/users/pm2/roles/pm")
    assert revoked.get_json()["roles"] == []
    off = admin.client.put("/api/v1/users/pm2/active", json={"active": False,
                                                             "reason": "left"},
                           headers={"Authorization": f"Bearer {admin.token}"})
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert pm2.get("/api/v1/me").status_code == 401  # their token stops working
    pm1 = as_user("pm1")
    headers = {"Authorization": f"Bearer {pm1.token}"}
    assert_problem(pm1.client.patch("/api/v1/users/pm2", json={"email": "a@b.cd"},
                                    headers=headers), 403, "forbidden")
    assert_problem(pm1.client.put("/api/v1/users/pm1/roles/pmo_admin", headers=headers),
                   403, "forbidden")
    assert_problem(pm1.delete("/api/v1/users/pm2/roles/pm"), 403, "forbidden")
    assert_problem(pm1.client.put("/api/v1/users/pm2/active", json={"active": True},
                                  headers=headers), 403, "forbidden")
