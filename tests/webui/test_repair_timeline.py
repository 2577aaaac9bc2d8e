"""A repair is visible in the request's history, in the reader's language."""

from __future__ import annotations

from sqlalchemy import update

from engine.store.models import HumanTask
from tests.webui.conftest import login, parse_html
from webui.extensions import db


def test_a_repair_shows_in_the_history_with_its_reason(client, app, arrange):
    inst = arrange.start()
    with app.app_context():
        db.session.execute(update(HumanTask).where(HumanTask.instance_id == inst.id)
                           .values(status="completed"))
        db.session.commit()
        arrange.engine.repair(db.session, inst.id, "admin", "rerun", "review vanished")
    login(client, "pm1")
    doc = parse_html(client.get(f"/instances/{inst.id}").data)
    newest = doc.xpath('//*[@data-testid="history"]/li')[0]
    assert "repaired the request: its steps ran again" in newest.text_content()
    assert newest.xpath('string(.//*[@data-testid="comment"])').strip() == "review vanished"
    with app.app_context():
        arrange.engine.set_locale(db.session, "pm1", "zh")
    doc = parse_html(client.get(f"/instances/{inst.id}").data)
    assert "修复了该申请" in doc.xpath('//*[@data-testid="history"]/li')[0].text_content()
