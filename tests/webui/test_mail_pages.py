"""The mail pages: my mail settings and out of office; the admin's mail catcher (403 for
everyone else)."""

from __future__ import annotations

from engine import notifications
from engine.store.uow import unit_of_work
from tests.webui.conftest import login, one, parse_html, post
from webui.extensions import db


def _notify(app, username: str, title: str) -> None:
    with app.app_context(), unit_of_work(db.session):
        notifications.write(db.session, notifications.Note(
            usernames=(username,), kind="assigned", title=title, body="Tower <b>upgrade</b>",
            link="/tasks/1"), app.extensions["pmoflow"].engine.clock.now())


def test_mail_catcher_lists_and_shows_mail_to_the_admin_only(client):
    _notify(client.application, "reviewer1", "New task: <Check>")
    login(client, "pm1")
    assert client.get("/admin/mail").status_code == 403
    assert client.get("/admin/mail/1").status_code == 403
    assert post(client, "/admin/mail/1/retry").status_code == 403

    fresh = client.application.test_client()
    login(fresh, "admin")
    assert 'data-testid="admin-mail-link"' in fresh.get("/admin").get_data(as_text=True)
    doc = parse_html(fresh.get("/admin/mail").get_data(as_text=True))
    rows = doc.xpath("//tr[@data-testid='mail-row']")
    assert rows and {r.get("data-status") for r in rows} == {"pending"}
    link = rows[-1].xpath(".//a/@href")[0]
    page = fresh.get(link)
    assert page.status_code == 200
    mail = parse_html(page.get_data(as_text=True))
    srcdoc = one(mail, "//iframe[@data-testid='mail-html']").get("srcdoc")
    assert "Open in PMOflow" in srcdoc and "/tasks/1" in srcdoc
    assert "Tower &lt;b&gt;upgrade&lt;/b&gt;" in srcdoc and "<b>upgrade" not in srcdoc
    assert "reviewer1@example.com" in one(mail, "//header").text_content()
    assert "New task: <Check>" in one(mail, "//*[@data-testid='mail-subject']").text_content()
    assert fresh.get("/admin/mail/999999").status_code == 404


def test_account_mail_mode_and_out_of_office(client):
    login(client, "pm1")
    page = client.get("/account/mail")
    assert page.status_code == 200 and "pm1@example.com" in page.get_data(as_text=True)
    assert post(client, "/account/mail/mode", {"mail_mode": "digest"}).status_code == 302
    doc = parse_html(client.get("/account/mail").get_data(as_text=True))
    assert one(doc, "//input[@id='mode-digest']").get("checked") is not None
    assert post(client, "/account/mail/mode", {"mail_mode": "weekly"}).status_code == 422

    bad = post(client, "/account/mail/away", {"starts_at": "2026-12-10", "ends_at": "2026-12-08",
                                              "delegate": "finance1"})
    assert bad.status_code == 422
    doc = parse_html(bad.get_data(as_text=True))
    assert doc.xpath("//*[@data-error-for='ends_at']")
    assert doc.xpath("//*[@data-error-for='delegate']")  # finance1 is no PM
    garbled = post(client, "/account/mail/away", {"starts_at": "soon", "ends_at": "2026-12-08",
                                                  "delegate": "pm2"})
    assert garbled.status_code == 422
    assert parse_html(garbled.get_data(as_text=True)).xpath("//*[@data-error-for='starts_at']")

    ok = post(client, "/account/mail/away", {"starts_at": "2026-12-08", "ends_at": "2026-12-10",
                                             "delegate": "pm2", "reason": "leave"})
    assert ok.status_code == 302
    doc = parse_html(client.get("/account/mail").get_data(as_text=True))
    assert "pm2" in one(doc, "//*[@data-testid='away-now']").text_content()
    assert post(client, "/account/mail/back").status_code == 302
    doc = parse_html(client.get("/account/mail").get_data(as_text=True))
    assert not doc.xpath("//*[@data-testid='away-now']")


def test_the_request_history_says_who_took_over_while_away(client, arrange):
    from datetime import timedelta

    with client.application.app_context():
        now = arrange.engine.clock.now()
        arrange.engine.set_out_of_office(db.session, "pm1", delegate="pm2", starts_at=now,
                                         ends_at=now + timedelta(days=3))
    inst = arrange.start()
    arrange.engine.clock.advance(timedelta(minutes=1))
    arrange.complete(arrange.task(inst.id).id, "reviewer1",
                     {"decision": "rework", "comment": "Add a plan"})
    assert arrange.task(inst.id, "revise").assignee == "pm2"  # pm1 is away
    login(client, "pm1")
    doc = parse_html(client.get(f"/instances/{inst.id}").get_data(as_text=True))
    [line] = doc.xpath("//li[contains(@class, 'kind-out_of_office_redirected')]")
    text = line.text_content()
    assert "went to" in text and "is out of office" in text
