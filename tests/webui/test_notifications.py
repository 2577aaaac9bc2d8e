"""The bell: unread count in the navigation, the notifications page, open and mark read."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from engine.clock import ManualClock
from engine.notifications import Note, write
from engine.store.models import Notification, User
from engine.store.uow import unit_of_work
from tests.conftest import statements_on
from tests.webui.conftest import login, one, parse_html, post
from webui.extensions import db


def notify(app: Flask, clock: ManualClock, username: str, title: str, link: str | None = None,
           body: str = "") -> int:
    """Write one notification; return its id."""
    with app.app_context(), unit_of_work(db.session):
        write(db.session, Note((username,), "info", title, body, link), clock.now())
        return db.session.scalar(select(func.max(Notification.id)))


def bell(client) -> str | None:
    """The badge number in the navigation bar (None without a badge)."""
    found = parse_html(client.get("/").get_data(as_text=True)).xpath(
        "//*[@data-testid='bell-count']")
    return found[0].text_content().strip() if found else None


def test_bell_counts_unread_and_mark_all_read_clears_it(client, app, web_clock):
    login(client, "pm1")
    assert bell(client) is None
    notify(app, web_clock, "pm1", "First")
    notify(app, web_clock, "pm1", "Second")
    notify(app, web_clock, "pm2", "Not for pm1")
    assert bell(client) == "2"
    html = client.get("/notifications").get_data(as_text=True)
    doc = parse_html(html)
    titles = [" ".join(t.text_content().split())
              for t in doc.xpath("//*[@data-testid='notification']//*[contains(@class, "
                                 "'note-title')]")]
    assert titles == ["Unread: Second", "Unread: First"]
    assert "Not for pm1" not in html
    response = post(client, "/notifications/read", {"next": "/notifications"})
    assert response.status_code == 302 and response.headers["Location"] == "/notifications"
    page = client.get("/notifications").get_data(as_text=True)
    assert "All notifications are marked read." in page and "You have read everything." in page
    assert 'data-testid="mark-all-read"' not in page
    assert bell(client) is None
    other = client.application.test_client()
    login(other, "pm2")
    assert bell(other) == "1"  # someone else's are untouched


def test_mark_all_read_needs_csrf(client):
    login(client, "pm1")
    assert client.post("/notifications/read").status_code == 400


def test_opening_a_notification_marks_it_read_and_follows_its_link(client, app, web_clock):
    first = notify(app, web_clock, "pm1", "New task", link="/tasks?tab=claimable")
    notify(app, web_clock, "pm1", "Other")
    login(client, "pm1")
    doc = parse_html(client.get("/notifications").get_data(as_text=True))
    link = one(doc, f"//li[@data-notification-id='{first}']//a")
    assert link.get("href") == f"/notifications/{first}/open"
    response = client.get(link.get("href"))
    assert response.status_code == 302 and response.headers["Location"] == "/tasks?tab=claimable"
    assert bell(client) == "1"
    doc = parse_html(client.get("/notifications?show=unread").get_data(as_text=True))
    assert [int(x) for x in doc.xpath("//li[@data-testid='notification']/@data-notification-id")
            ] != [first]
    assert "unread" not in one(parse_html(client.get("/notifications").get_data(as_text=True)),
                               f"//li[@data-notification-id='{first}']").get("class")
    # opening again still works (already read)
    assert client.get(f"/notifications/{first}/open").status_code == 302


def test_a_notification_without_a_safe_link_leads_to_the_list(client, app, web_clock):
    none = notify(app, web_clock, "pm1", "No link")
    evil = notify(app, web_clock, "pm1", "Evil", link="https://evil.example/")
    login(client, "pm1")
    assert client.get(f"/notifications/{none}/open").headers["Location"] == "/notifications"
    assert client.get(f"/notifications/{evil}/open").headers["Location"] == "/notifications"


def test_someone_elses_notification_cannot_be_opened(client, app, web_clock):
    theirs = notify(app, web_clock, "pm2", "For pm2", link="/tasks")
    login(client, "pm1")
    assert client.get(f"/notifications/{theirs}/open").status_code == 403
    assert client.get("/notifications/999/open").status_code == 404
    other = client.application.test_client()
    login(other, "pm2")
    assert bell(other) == "1"  # still unread


def test_notifications_need_sign_in(client):
    assert client.get("/notifications").status_code == 302


def test_a_process_notification_reaches_the_bell(client, arrange):
    inst = arrange.start()
    task = arrange.task(inst.id)
    arrange.complete(task.id, "reviewer1", {"decision": "reject", "comment": "No budget"})
    login(client, "pm1")
    assert bell(client) is not None
    html = client.get("/notifications").get_data(as_text=True)
    assert "No budget" in html


def test_notifications_in_chinese(client, app, web_clock):
    notify(app, web_clock, "pm1", "Hello")
    login(client, "pm1")
    post(client, "/language", {"lang": "zh"}, token_from="/")
    html = client.get("/notifications").get_data(as_text=True)
    assert "通知" in html and "全部标为已读" in html


def test_the_people_a_page_of_notifications_names_are_read_at_once(client, app, web_clock):
    """Fifty notifications used to name their people one read at a time: now one read
    names everyone the page shows (in params, lists of people and nested messages)."""

    messages = [
        {"title": "%(who)s asked for %(step)s", "params": {
            "who": {"user": "reviewer1"}, "step": {"text": "Check"}}},
        {"title": "Waiting on %(people)s", "params": {
            "people": {"users": ["sponsor1", "pmohead"]}}},
        {"title": "Note: %(inner)s", "params": {
            "inner": {"msg": ["%(by)s decided", {"by": {"user": "pm2"}}]}}},
        {"title": "%(who)s is unknown", "params": {"who": {"user": "ghost9"}}},
    ]
    with app.app_context(), unit_of_work(db.session):
        for message in messages:
            write(db.session, Note(("pm1",), "info", "stored", message=message), web_clock.now())
        names = dict(db.session.execute(select(
            User.username, User.display_name).where(User.username.in_(
                ["reviewer1", "sponsor1", "pmohead", "pm2"]))).all())
    login(client, "pm1")
    with app.app_context():
        bind = db.engine
    with statements_on(bind) as seen:
        html = client.get("/notifications").get_data(as_text=True)
    reads = [s for s in seen if s.startswith("SELECT users.username, users.display_name")]
    assert len(reads) == 1, reads
    doc = parse_html(html)
    titles = [" ".join(t.text_content().split()).removeprefix("Unread: ")
              for t in doc.xpath("//*[contains(@class, 'note-title')]")]
    assert titles == [
        "ghost9 is unknown",  # nobody of that name: the username as written
        f"Note: {names['pm2']} decided",
        f"Waiting on {names['sponsor1']}, {names['pmohead']}",
        f"{names['reviewer1']} asked for Check",
    ]
