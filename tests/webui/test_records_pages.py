"""The risk register, the escalation log and the lessons library (records seeded through
``workflows.records``, see :func:`tests.webui.test_portfolio.seed_records`)."""

from __future__ import annotations

import pytest

from tests.webui.conftest import login, one, parse_html
from tests.webui.test_portfolio import ids, seed_records
from webui.lessons import excerpt, highlight


@pytest.fixture
def world(app, web_clock):
    return seed_records(app, web_clock)


def risk_ids(html: str) -> list[int]:
    return ids(html, "data-risk-id")


# --------------------------------------------------------------------------- risks


def test_risk_register_lists_every_risk_with_decision_and_plan(client, world):
    login(client, "steer1")
    html = client.get("/risks").get_data(as_text=True)
    assert risk_ids(html) == [world.high_risk, world.medium_risk, world.low_risk]  # by score
    row = one(parse_html(html), f"//tr[@data-risk-id='{world.high_risk}']")
    text = " ".join(row.text_content().split())
    for expected in ("PRJ-2026-0001", "Geological surprise on site", "20", "High", "Accepted",
                     "Move tower 7", "Wang Fang (Steering chair)", "level 3",
                     "Move the tower 30 m east."):
        assert expected in text


@pytest.mark.parametrize(("query", "expected"), [
    ("level=high", ["high_risk"]),
    ("category=supplier", ["medium_risk"]),
    ("status=accepted", ["high_risk"]),
    ("status=under_review&level=low", ["low_risk"]),
    ("level=bogus", ["high_risk", "medium_risk", "low_risk"]),
])
def test_risk_register_filters(client, world, query, expected):
    login(client, "steer1")
    html = client.get(f"/risks?{query}").get_data(as_text=True)
    assert risk_ids(html) == [getattr(world, name) for name in expected]


def test_risk_register_filters_by_project(client, world):
    login(client, "steer1")
    html = client.get(f"/risks?project={world.tower}").get_data(as_text=True)
    assert risk_ids(html) == [world.low_risk]
    assert 'data-testid="risks-empty"' in client.get(
        f"/risks?project={world.lake}").get_data(as_text=True)


def test_risk_matrix_counts_and_cells_filter_the_list(client, world):
    login(client, "reviewer1")
    doc = parse_html(client.get("/risks").get_data(as_text=True))
    cell = one(doc, "//a[@data-testid='cell-technical-high']")
    assert cell.text_content().strip() == "1"
    assert cell.get("href") == "/risks?category=technical&level=high"
    assert not doc.xpath("//a[@data-testid='cell-technical-low']")  # empty cells: no link
    html = client.get(cell.get("href")).get_data(as_text=True)
    assert risk_ids(html) == [world.high_risk]
    assert "selected" in one(parse_html(html), "//a[@data-testid='cell-technical-high']/..").get(
        "class")
    # the matrix counts the same status and project as the list
    doc = parse_html(client.get(f"/risks?project={world.tower}").get_data(as_text=True))
    assert doc.xpath("//a[@data-testid='cell-schedule-low']/@href") == [
        f"/risks?category=schedule&level=low&project={world.tower}"]
    assert not doc.xpath("//a[@data-testid='cell-technical-high']")


def test_risk_register_pages(client, world, monkeypatch):
    monkeypatch.setattr("webui.risks.PER_PAGE", 2)
    login(client, "steer1")
    first = client.get("/risks").get_data(as_text=True)
    second = client.get("/risks?page=2").get_data(as_text=True)
    assert risk_ids(first) == [world.high_risk, world.medium_risk]
    assert risk_ids(second) == [world.low_risk]
    assert "3–3 of 3" in second


def test_risk_page_shows_reviews_per_level(client, world):
    login(client, "steer1")
    response = client.get(f"/risks/{world.high_risk}")
    assert response.status_code == 200
    doc = parse_html(response.get_data(as_text=True))
    levels = {n: one(doc, f"//*[@data-testid='review-level-{n}']").text_content()
              for n in (1, 2, 3)}
    assert "Zhang Min (Sponsor)" in levels[1] and "Agreed" in levels[1]
    assert "Chen Jing (PMO head)" in levels[2] and "Fund the move" in levels[2]
    assert "Wang Fang (Steering chair)" in levels[3] and "Approved" in levels[3]
    assert "Move the tower 30 m east." in one(doc, "//*[@data-testid='risk-decision']"
                                              ).text_content()
    pending = parse_html(client.get(f"/risks/{world.medium_risk}").get_data(as_text=True))
    assert "Not reviewed at this level yet." in one(
        pending, "//*[@data-testid='review-level-2']").text_content()


def test_unknown_risk_is_404(client):
    login(client, "pm1")
    assert client.get("/risks/999").status_code == 404


# --------------------------------------------------------------------------- escalations


def test_escalation_log_shows_projects_decision_and_counts(client, world):
    login(client, "pm2")
    html = client.get("/escalations").get_data(as_text=True)
    assert ids(html, "data-escalation-id") == [world.escalation]
    row = " ".join(one(parse_html(html), "//tr[@data-testid='escalation-row']")
                   .text_content().split())
    for expected in ("Tower supplier serves three projects at once", "Resource conflict",
                     "PRJ-2026-0001", "Affects PRJ-2026-0002", "High", "Decided",
                     "Crew goes to CRM first", "Chen Jing (PMO head)", "PMO",
                     "Li Wei (PM)"):
        assert expected in row
    doc = parse_html(html)
    assert doc.xpath("string(//*[@data-testid='status-decided']//span[@class='count'])") == "1"


@pytest.mark.parametrize(("query", "found"), [
    ("status=decided", True), ("status=triage", False), ("kind=resource_conflict", True),
    ("kind=vendor", False), ("severity=high", True), ("severity=low", False),
])
def test_escalation_log_filters(client, world, query, found):
    login(client, "pm1")
    html = client.get(f"/escalations?{query}").get_data(as_text=True)
    assert ids(html, "data-escalation-id") == ([world.escalation] if found else [])


def test_escalation_log_filters_by_raising_project(client, world):
    login(client, "pm1")
    assert ids(client.get(f"/escalations?project={world.crm}").get_data(as_text=True),
               "data-escalation-id") == [world.escalation]
    assert ids(client.get(f"/escalations?project={world.tower}").get_data(as_text=True),
               "data-escalation-id") == []


def test_escalation_page_and_404(client, world):
    login(client, "steer1")
    html = client.get(f"/escalations/{world.escalation}").get_data(as_text=True)
    assert "Asked the supplier for a second crew; refused." in html
    assert "Tower site 2" in one(parse_html(html), "//*[@data-testid='affected']").text_content()
    assert "Crew goes to CRM first" in html and "Not resolved yet." in html
    assert client.get("/escalations/999").status_code == 404


# --------------------------------------------------------------------------- lessons


def lesson_ids(html: str) -> list[int]:
    return ids(html, "data-lesson-id")


def test_library_lists_published_lessons_newest_first(client, world):
    login(client, "pm1")
    html = client.get("/lessons").get_data(as_text=True)
    assert lesson_ids(html) == [world.supplier_lesson, world.interface_lesson]
    assert "Secret draft" not in html


def test_search_finds_a_two_character_chinese_term_and_highlights_it(client, world):
    login(client, "pm2")
    html = client.get("/lessons?q=接口").get_data(as_text=True)
    assert lesson_ids(html) == [world.interface_lesson]  # the unpublished draft stays hidden
    assert "第三方<mark>接口</mark>联调花了三周" in html
    assert "the <mark>接口</mark> tests early" in html
    assert lesson_ids(client.get("/lessons?q=接口联调").get_data(as_text=True)) == [
        world.interface_lesson]


def test_search_english_words_all_must_occur(client, world):
    login(client, "pm1")
    html = client.get("/lessons?q=Vendor").get_data(as_text=True)
    assert lesson_ids(html) == [world.interface_lesson]
    assert "<mark>vendor</mark> API" in html and "#<mark>vendor</mark>" in html
    assert lesson_ids(client.get("/lessons?q=shared+schedule").get_data(as_text=True)) == [
        world.supplier_lesson]
    assert lesson_ids(client.get("/lessons?q=shared+接口").get_data(as_text=True)) == []
    empty = client.get("/lessons?q=100%25_").get_data(as_text=True)
    assert lesson_ids(empty) == [] and 'data-testid="lessons-empty"' in empty


def test_highlighting_escapes_lesson_text(client, world):
    login(client, "pm1")
    html = client.get("/lessons?q=alert").get_data(as_text=True)
    assert lesson_ids(html) == [world.interface_lesson]
    assert "<script>alert" not in html
    assert "&lt;script&gt;<mark>alert</mark>(&#39;x&#39;)&lt;/script&gt;" in html
    page = client.get(f"/lessons/{world.interface_lesson}?q=script").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;<mark>script</mark>&gt;" in page


def test_highlight_and_excerpt_helpers():
    assert str(highlight("a <b> & B", ["b"])) == "a &lt;<mark>b</mark>&gt; &amp; <mark>B</mark>"
    assert str(highlight("x &amp; y", ["amp"])) == "x &amp;<mark>amp</mark>; y"
    assert str(highlight("<i>", [])) == "&lt;i&gt;"
    long = "a" * 300 + " needle " + "b" * 300
    cut = str(excerpt(long, ["needle"], width=100))
    assert cut.startswith("…") and cut.endswith("…") and "<mark>needle</mark>" in cut
    assert len(cut) < 140


def test_library_filters_by_category_and_tag(client, world):
    login(client, "pm1")
    assert lesson_ids(client.get("/lessons?category=supplier").get_data(as_text=True)) == [
        world.supplier_lesson]
    html = client.get("/lessons?tag=Vendor").get_data(as_text=True)
    assert lesson_ids(html) == [world.interface_lesson]
    tags = parse_html(html).xpath("//a[@data-testid='tag']/text()")
    assert "#vendor " in tags and "#supplier " in tags


def test_pmo_may_include_unpublished_lessons_others_may_not(client, world):
    login(client, "reviewer1")
    html = client.get("/lessons?q=接口&all=1").get_data(as_text=True)
    assert lesson_ids(html) == [world.draft_lesson, world.interface_lesson]
    assert "Unpublished" in html
    assert client.get(f"/lessons/{world.draft_lesson}").status_code == 200
    pm = client.application.test_client()
    login(pm, "pm1")
    assert lesson_ids(pm.get("/lessons?q=接口&all=1").get_data(as_text=True)) == [
        world.interface_lesson]
    assert 'name="all"' not in pm.get("/lessons").get_data(as_text=True)
    assert pm.get(f"/lessons/{world.draft_lesson}").status_code == 200  # PM of its project
    other = client.application.test_client()
    login(other, "pm2")  # need-to-know: not their project
    assert other.get(f"/lessons/{world.draft_lesson}").status_code == 403
    assert pm.get("/lessons/999").status_code == 404


def test_library_pages(client, world, monkeypatch):
    monkeypatch.setattr("webui.lessons.PER_PAGE", 1)
    login(client, "pm1")
    assert lesson_ids(client.get("/lessons").get_data(as_text=True)) == [world.supplier_lesson]
    second = client.get("/lessons?page=2").get_data(as_text=True)
    assert lesson_ids(second) == [world.interface_lesson] and "2–2 of 2" in second


def test_lesson_page(client, world):
    login(client, "team3")
    html = client.get(f"/lessons/{world.interface_lesson}").get_data(as_text=True)
    assert "Interface debugging" in html and "PRJ-2026-0001 CRM replacement" in html
    assert "Curated by Omar Haddad (PMO reviewer)" in html


def test_record_pages_in_chinese(client, world):
    from tests.webui.conftest import post

    login(client, "pm1")
    post(client, "/language", {"lang": "zh"}, token_from="/")
    risks = client.get("/risks").get_data(as_text=True)
    assert "风险登记册" in risks and "技术" in risks and "已批准" in risks
    esc = client.get("/escalations").get_data(as_text=True)
    assert "问题升级记录" in esc and "资源冲突" in esc and "已决定" in esc
    lessons = client.get("/lessons?q=接口").get_data(as_text=True)
    assert "经验库" in lessons and "做得不好的" in lessons


# --------------------------------------------------------------------------- both databases


def test_read_models_on_sqlite_and_postgresql(session, engine, clock, people):
    """The page queries of engine/pmo_pages.py (JSON containment, group-bys, LIKE escapes)."""
    from engine import identity
    from engine.store.uow import unit_of_work
    from tests.webui.test_portfolio import seed_session
    from workflows.records import pages as pmo_pages

    with unit_of_work(session):
        w = seed_session(session, clock)
        identity.grant_project_role(session, w.tower, "team1", "team")
    page = pmo_pages.portfolio_page(session, "pmohead", clock.now(), pm="pm2")
    assert [p.id for p in page.projects] == [w.erp, w.tower]
    assert page.stage_counts["Initiation"] == 1 and page.stage_counts["Executing"] == 0
    assert str(page.budget_total.amount) == "970000.00"  # 250,000 CNY + 100,000 USD
    assert page.stats.active == 2 and page.stats.open_high_risks == 1
    assert [p.id for p in pmo_pages.portfolio_page(session, "pmohead", clock.now(), q="2026-000").projects] == [
        w.tower, w.crm]
    assert pmo_pages.portfolio_page(session, "pmohead", clock.now(), q="_").total == 0  # no wildcard
    tower = pmo_pages.project_page(engine, session, w.tower, "pm2")
    assert [e.id for e in tower.affected_by] == [w.escalation] and tower.escalations == []
    register = pmo_pages.risk_register(session, "pmohead", clock.now(), status="under_review")
    assert register.matrix == {("supplier", "medium"): 1, ("schedule", "low"): 1}
    assert [p.id for p in register.projects] == [w.crm, w.tower]
    assert [c.id for c in pmo_pages.project_choices(session, "team1")] == [w.tower]
    assert [c.id for c in pmo_pages.project_choices(session, "pmohead")] == [w.crm, w.tower]
    library = pmo_pages.lesson_library(session, "pm1", clock.now(), query="接口",
                                      published_only=False)
    assert [x.id for x in library.lessons] == [w.interface_lesson] and library.terms == ("接口",)
    assert dict(library.tags) == {"integration": 1, "vendor": 1, "supplier": 1}
    assert pmo_pages.lesson_library(session, "reviewer1", clock.now(), query="接口",
                                    published_only=False).total == 2
    log = pmo_pages.escalation_log(engine, session, "pmohead", kind="resource_conflict")
    assert log.total == 1 and log.status_counts == {"decided": 1}
    assert set(log.projects) == {w.crm, w.tower}
