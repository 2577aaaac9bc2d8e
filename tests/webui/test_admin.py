"""The admin pages: users, roles, SLA defaults, the audit; 403 for everyone else."""

from __future__ import annotations

import pytest

from tests.webui.conftest import login, one, parse_html, post

ADMIN_POSTS = [
    ("/admin/users", {"username": "x1", "password": "long-enough"}),
    ("/admin/users/pm2", {"email": "a@b.cd"}),
    ("/admin/users/pm2/password", {"password": "long-enough"}),
    ("/admin/users/pm2/active", {"active": "0"}),
    ("/admin/users/pm2/roles", {"role": "pmo_admin"}),
    ("/admin/users/pm2/roles/revoke", {"role": "pm"}),
    ("/admin/sla", {"step": "approval3/approve", "duration": "P3D"}),
    ("/admin/sla/remove", {"process_key": "approval3", "element_id": "approve"}),
]


@pytest.mark.parametrize("username", ["pm1", "reviewer1", "owner1", "pmohead"])
def test_every_admin_route_is_403_for_non_admins(client, username):
    login(client, username)
    assert 'data-testid="nav-admin"' not in client.get("/tasks").get_data(as_text=True)
    assert client.get("/admin").status_code == 403
    assert client.get("/admin/users/pm2").status_code == 403
    for path, data in ADMIN_POSTS:
        assert post(client, path, data).status_code == 403, path
    fresh = client.application.test_client()
    assert login(fresh, "pm2").status_code == 302  # pm2 untouched: can still sign in
    assert 'data-testid="nav-admin"' not in fresh.get("/tasks").get_data(as_text=True)


def test_admin_sees_users_and_the_nav_link(client):
    login(client, "admin")
    html = client.get("/tasks").get_data(as_text=True)
    assert 'data-testid="nav-admin"' in html
    doc = parse_html(client.get("/admin").get_data(as_text=True))
    rows = doc.xpath("//tr[@data-testid='user-row']/@data-username")
    assert {"pm1", "sponsor1", "admin"} <= set(rows)
    sponsor = one(doc, "//tr[@data-username='sponsor1']")
    assert "Project sponsor" in sponsor.text_content()


def test_create_user_then_errors_named_by_field(client):
    login(client, "admin")
    response = post(client, "/admin/users", [
        ("username", "newpm"), ("display_name", "New PM"), ("email", "new@example.org"),
        ("locale", "zh"), ("time_zone", "Asia/Shanghai"), ("password", "long-enough"),
        ("roles", "pm"), ("roles", "finance")])
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users/newpm"
    page = client.get("/admin/users/newpm").get_data(as_text=True)
    doc = parse_html(page)
    assert doc.xpath("//ul[@data-testid='global-roles']/li/@data-role") == ["finance", "pm"]
    assert one(doc, "//input[@id='p-tz']").get("value") == "Asia/Shanghai"
    change = one(doc, "//tr[@data-testid='admin-change']")
    assert change.get("data-kind") == "user.created" and "admin" in change.text_content()

    again = post(client, "/admin/users", {"username": "newpm", "password": "long-enough",
                                          "time_zone": "Mars/Base", "email": "x"})
    assert again.status_code == 422
    doc = parse_html(again.get_data(as_text=True))
    assert "already taken" in one(doc, "//*[@data-error-for='username']").text_content()
    assert "not a time zone" in one(doc, "//*[@data-error-for='time_zone']").text_content()
    assert "not an e-mail" in one(doc, "//*[@data-error-for='email']").text_content()
    assert one(doc, "//input[@id='nu-tz']").get("value") == "Mars/Base"  # kept
    assert one(doc, "//input[@id='nu-password']").get("value") is None  # never echoed


def test_roles_password_deactivation_through_the_pages(client, app):
    login(client, "admin")
    assert post(client, "/admin/users/pm2/roles", {"role": "sponsor", "project": "3"}
                ).status_code == 302
    bad = post(client, "/admin/users/pm2/roles", {"role": "wizard"})
    assert bad.status_code == 422
    assert "Unknown role" in bad.get_data(as_text=True)
    doc = parse_html(client.get("/admin/users/pm2").get_data(as_text=True))
    assert doc.xpath("//ul[@data-testid='project-roles']/li/@data-project") == ["3"]
    assert post(client, "/admin/users/pm2/password", {"password": "short"}).status_code == 422
    assert post(client, "/admin/users/pm2/password",
                {"password": "brand-new-pw"}).status_code == 302
    other = app.test_client()
    assert login(other, "pm2", "brand-new-pw").status_code == 302
    assert post(client, "/admin/users/pm2/active", {"active": "0", "reason": "left"}
                ).status_code == 302
    assert other.get("/tasks").status_code in (302, 401)  # the open session ends too
    assert login(app.test_client(), "pm2", "brand-new-pw").status_code != 302
    kinds = parse_html(client.get("/admin").get_data(as_text=True)).xpath(
        "//tr[@data-testid='admin-change']/@data-kind")
    assert kinds[:3] == ["user.deactivated", "user.password_reset", "project_role.granted"]
    assert post(client, "/admin/users/admin/active", {"active": "0"}).status_code == 403


def test_sla_default_form(client):
    login(client, "admin")
    bad = post(client, "/admin/sla", {"step": "approval3/approve", "duration": "soon"})
    assert bad.status_code == 422
    doc = parse_html(bad.get_data(as_text=True))
    assert "not a duration" in one(doc, "//*[@data-error-for='duration']").text_content()
    assert post(client, "/admin/sla", {"step": "approval3/approve", "duration": "P3D"}
                ).status_code == 302
    doc = parse_html(client.get("/admin").get_data(as_text=True))
    assert one(doc, "//tr[@data-step='approval3/approve']").xpath("td[3]")[0].text == "P3D"
    options = doc.xpath("//select[@id='sla-step']/option/text()")
    assert any("Check completeness (diagram: P2D)" in o for o in options)
    row = one(doc, "//tr[@data-step='approval3/approve']")
    assert row.xpath(".//*[@data-testid='sla-escalate-after']")[0].text == "1 working day"


def test_sla_default_second_period(client):
    login(client, "admin")
    bad = post(client, "/admin/sla", {"step": "approval3/approve", "duration": "P3D",
                                      "escalate_after": "-1"})
    assert bad.status_code == 422
    doc = parse_html(bad.get_data(as_text=True))
    assert "not a duration" in one(doc, "//*[@data-error-for='escalate_after']").text_content()
    assert post(client, "/admin/sla", {"step": "approval3/approve", "duration": "P3D",
                                       "escalate_after": "PT4H"}).status_code == 302
    doc = parse_html(client.get("/admin").get_data(as_text=True))
    row = one(doc, "//tr[@data-step='approval3/approve']")
    assert row.xpath(".//*[@data-testid='sla-escalate-after']")[0].text == "PT4H"


def test_a_users_time_zone_is_used_for_their_times(client, app, arrange):
    inst = arrange.start(title="Zoned")  # started at 09:00 UTC
    login(client, "admin")
    assert post(client, "/admin/users/pm1", {"time_zone": "Asia/Shanghai"}).status_code == 302
    pm = app.test_client()
    login(pm, "pm1")
    html = pm.get(f"/instances/{inst.id}").get_data(as_text=True)
    assert "2026-03-02 17:00" in html and "2026-03-02 09:00" not in html


def test_errors_in_chinese(client):
    login(client, "admin")
    post(client, "/language", {"lang": "zh"}, token_from="/")
    response = post(client, "/admin/users", {"username": "pm1", "password": "long-enough",
                                             "time_zone": "Mars/Base"})
    assert response.status_code == 422
    doc = parse_html(response.get_data(as_text=True))
    assert one(doc, "//*[@data-error-for='time_zone']").text_content() == (
        "Mars/Base 不是有效的时区（例如 Asia/Shanghai）。")
    assert one(doc, "//*[@data-error-for='username']").text_content() == "用户名 pm1 已被占用。"
    assert "系统管理" in response.get_data(as_text=True)
