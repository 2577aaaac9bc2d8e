"""Issue 14's project pages and lessons that get read: the project timeline, the
portfolio's open risks and escalations, lesson read counts (once per reader, shown on the
list, the page and the dashboard), the proposal form's lessons of the same category."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.store.uow import unit_of_work
from tests.webui.conftest import login, one, parse_html
from tests.webui.test_portfolio import seed_records, seed_session
from webui.extensions import db
from workflows import records
from workflows.records.models import LessonRead


def test_project_timeline_lists_everything_in_time_order_with_links(client, app, web_clock):
    w = seed_records(app, web_clock)
    login(client, "steer1")  # the steering committee sees every project (need-to-know)
    doc = parse_html(client.get(f"/projects/{w.crm}").get_data(as_text=True))
    entries = doc.xpath("//*[@data-testid='timeline-entry']")
    kinds = [e.get("data-kind") for e in entries]
    # newest first: the lesson (published an hour later), then the escalation's decision...
    assert kinds[0] == "lesson"
    assert {"stage", "risk_raised", "risk_decided", "escalation_raised",
            "escalation_decided", "lesson"} <= set(kinds)
    assert kinds.count("stage") == 3 and kinds[-1] == "stage"  # the submission is oldest
    times = [e.xpath("string(.//time/@datetime)") for e in entries]
    assert times == sorted(times, reverse=True)
    links = doc.xpath("//*[@data-testid='timeline']//a/@href")
    assert f"/risks/{w.high_risk}" in links and f"/escalations/{w.escalation}" in links
    assert f"/lessons/{w.interface_lesson}" in links
    assert f"/lessons/{w.draft_lesson}" in links  # unpublished: for those who see the project
    raised = [e for e in entries if e.get("data-kind") == "risk_raised"]
    assert any("Geological surprise on site" in e.text_content() for e in raised)
    tower = parse_html(client.get(f"/projects/{w.tower}").get_data(as_text=True))
    named = tower.xpath("//*[@data-testid='timeline-entry'][@data-kind='escalation_raised']")
    assert len(named) == 1 and "naming this project" in named[0].text_content()
    client.post("/logout")
    login(client, "pm2")  # no role in the project: no timeline either
    assert client.get(f"/projects/{w.crm}").status_code == 403


def test_project_timeline_in_chinese(client, app, web_clock):
    w = seed_records(app, web_clock)
    login(client, "pm1")
    html = client.get(f"/projects/{w.crm}", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True)
    doc = parse_html(html)
    text = one(doc, "//*[@data-testid='project-timeline']").text_content()
    assert "时间线" in text and "提出了风险" in text and "经验教训已发布" in text


def test_portfolio_counts_open_risks_and_escalations_with_links(client, app, web_clock):
    w = seed_records(app, web_clock)
    login(client, "steer1")  # sees the whole portfolio (pm1 sees only pm1's projects)
    doc = parse_html(client.get("/portfolio").get_data(as_text=True))

    def cell(project: int, name: str):
        return one(doc, f"//tr[@data-project-id='{project}']/td[@data-testid='{name}']")

    crm_risks = cell(w.crm, "open-risks")
    assert crm_risks.text_content().split()[0] == "2" and "1 high" in crm_risks.text_content()
    assert crm_risks.xpath("string(.//a/@href)") == f"/risks?project={w.crm}"
    assert cell(w.tower, "open-risks").text_content().strip() == "1"
    assert cell(w.lake, "open-risks").text_content().strip() == "0"
    crm_esc = cell(w.crm, "open-escalations")
    assert crm_esc.text_content().strip() == "1"
    assert crm_esc.xpath("string(.//a/@href)") == f"/escalations?project={w.crm}"
    assert cell(w.tower, "open-escalations").text_content().strip() == "0"


def _reads(app, lesson_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(LessonRead).where(
            LessonRead.lesson_id == lesson_id)) or 0


def test_opening_a_published_lesson_counts_each_reader_once(client, app, web_clock):
    w = seed_records(app, web_clock)
    login(client, "pm1")
    for _ in range(2):
        page = client.get(f"/lessons/{w.interface_lesson}")
        assert page.status_code == 200
    assert _reads(app, w.interface_lesson) == 1
    shown = one(parse_html(page.get_data(as_text=True)), "//*[@data-testid='lesson-reads']")
    assert shown.text_content().strip() == "Read by 1 person"
    other = app.test_client()
    login(other, "pm2")
    other.get(f"/lessons/{w.interface_lesson}")
    author = app.test_client()
    login(author, "team1")  # the author's own reading does not count
    author.get(f"/lessons/{w.interface_lesson}")
    assert _reads(app, w.interface_lesson) == 2
    reviewer = app.test_client()
    login(reviewer, "reviewer1")  # the PMO opening an unpublished lesson is no read
    assert reviewer.get(f"/lessons/{w.draft_lesson}").status_code == 200
    assert _reads(app, w.draft_lesson) == 0
    listed = parse_html(client.get("/lessons").get_data(as_text=True))
    card = one(listed, f"//*[@data-lesson-id='{w.interface_lesson}']")
    assert card.xpath("string(.//*[@data-testid='lesson-reads'])").strip() == "2 reads"
    zh = parse_html(client.get(f"/lessons/{w.interface_lesson}",
                               headers={"Accept-Language": "zh-CN"}).get_data(as_text=True))
    assert "已有 2 人阅读" in one(zh, "//*[@data-testid='lesson-reads']").text_content()
    assert client.get("/lessons/99999").status_code == 404


def test_lessons_list_filters_by_category_and_tag(client, app, web_clock):
    w = seed_records(app, web_clock)
    login(client, "pm1")

    def listed(query: str) -> list[int]:
        doc = parse_html(client.get(f"/lessons?{query}").get_data(as_text=True))
        return [int(x) for x in doc.xpath("//*[@data-testid='lesson']/@data-lesson-id")]

    assert listed("") == [w.supplier_lesson, w.interface_lesson]
    assert listed("category=supplier") == [w.supplier_lesson]
    assert listed("tag=integration") == [w.interface_lesson]
    assert listed("tag=integration&category=supplier") == []
    assert listed("category=nonsense") == [w.supplier_lesson, w.interface_lesson]


def test_proposal_form_shows_lessons_of_each_category(pmo_client, pmo_app, pmo_clock):
    with pmo_app.app_context(), unit_of_work(db.session):
        w = seed_session(db.session, pmo_clock)
        records.record_read(db.session, w.interface_lesson, "pm2", pmo_clock.now())
    login(pmo_client, "pm1")
    html = pmo_client.get("/processes/project_approval/start").get_data(as_text=True)
    doc = parse_html(html)
    box = one(doc, "//*[@data-testid='related-lessons']")
    it = box.xpath(".//*[@data-category='it']")
    assert len(it) == 1
    titles = it[0].xpath(".//*[@data-testid='related-lesson']//a/text()")
    assert "Interface debugging" in titles and "Secret draft about 接口" not in html
    assert "1 read" in it[0].text_content()
    construction = box.xpath(".//*[@data-category='construction']")
    assert "Shared crane supplier" in construction[0].text_content()
    assert 'src="/static/js/related-lessons.js"' in html
    # a start form without a project category shows none
    risk = pmo_client.get("/processes/risk_review/start").get_data(as_text=True)
    assert 'data-testid="related-lessons"' not in risk
