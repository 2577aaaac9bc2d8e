"""A demo install explains itself: the sign-in page lists the demo users and what each
does; each user's start page suggests a first step.  A production install shows neither."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.webui.conftest import login
from webui.context import bpm
from webui.extensions import db
from workflows.roles import DEMO_USERS


def mark_demo(app: Flask) -> None:
    """What ``pmoflow init --demo`` does after seeding."""
    with app.app_context():
        bpm().mark_demo_install(db.session, "cli")


def demo_rows(html: str) -> list[str]:
    return re.findall(r'data-testid="demo-user"><td><code>([^<]+)</code>', html)


def test_demo_sign_in_page_lists_every_demo_user_with_what_they_do(pmo_app, pmo_client):
    mark_demo(pmo_app)
    html = pmo_client.get("/login").get_data(as_text=True)
    assert demo_rows(html) == list(DEMO_USERS)
    assert "every password is demo" in html
    row = html[html.index("<code>reviewer1</code>"):]
    row = row[:row.index("</tr>")]
    assert "Omar Haddad (PMO reviewer)" in row
    admin = html[html.index("<code>admin</code>"):]
    assert "Manages users, the calendar and the install." in admin[:admin.index("</tr>")]
    assert "Checks proposals are complete before they go for approval." in row


def test_demo_sign_in_page_in_chinese(pmo_app, pmo_client):
    mark_demo(pmo_app)
    html = pmo_client.get("/login", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True)
    assert "这是一个演示安装" in html
    assert "审批提案的预算。" in html  # finance


def test_a_production_install_lists_no_accounts_and_suggests_nothing(pmo_client):
    html = pmo_client.get("/login").get_data(as_text=True)
    assert 'data-testid="demo-users"' not in html and "pm1" not in html
    login(pmo_client, "pm1")
    assert 'data-testid="first-step"' not in pmo_client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(("user", "link", "words"), [
    ("pm1", "/processes", "start a Project approval request"),
    ("reviewer1", "/tasks?tab=claimable", "Open your inbox"),
    ("finance1", "/tasks?tab=claimable", "Claim one and work on it"),
    ("pmohead", "/portfolio", "look at the portfolio"),
    ("admin", "/admin", "users and their roles"),
    ("owner1", "/library", "process library"),
])
def test_each_demo_user_is_told_where_to_start(pmo_app, pmo_client: FlaskClient, user, link,
                                               words):
    mark_demo(pmo_app)
    login(pmo_client, user)
    html = pmo_client.get("/").get_data(as_text=True)
    step = html[html.index('data-testid="first-step"'):]
    step = step[:step.index("</div>")]
    assert words in step
    assert f'href="{link}"' in step.replace("&amp;", "&")
    assert pmo_client.get(link).status_code == 200  # the suggested page opens for them
