"""The PMO dashboard (/dashboard) and its API (/api/v1/dashboard): on a database with a
short demo year simulated through the engine; who sees it, filters, CSV, both languages."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from engine.clock import ManualClock
from pmoflow import demo_year, seed
from pmoflow.wiring import build
from tests.webui.conftest import (
    START,
    app_config,
    copy_database,
    login,
    make_app,
    one,
    parse_html,
)
from webui.extensions import db

MONTHS, WARMUP = 1, 10


def build_demo_database(path: Path, clock: ManualClock | None = None, months: int = MONTHS,
                        warmup: int = WARMUP) -> None:
    """``pmoflow init --demo``, then a one-month demo year ending at START (or ``months``
    ending at ``clock``'s time, after ``warmup`` days: scripts/screenshots.py)."""
    clock = clock or ManualClock(START)
    rt = build(app_config(path), clock)
    seed.upgrade_schema(rt)
    with rt.sessions() as session:
        seed.seed_demo_people(rt, session, log=lambda _line: None)
        demo_year.ensure_people(session, clock.now(), seed.DEMO_PASSWORD)
        seed.deploy_dir(rt, session, lambda _line: None)
        rt.engine.mark_demo_install(session, "test")
        start = demo_year.span_start(clock.now(), months, warmup)
        demo_year.backdate_definitions(session, start)
        for seeder in seed.demo_seeders():
            seeder(rt.engine, session, start)
        demo_year.run(rt.engine, session, end=clock.now(), months=months, seed=5,
                      warmup_days=warmup)
    with rt.db.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    rt.db.dispose()


@pytest.fixture(scope="session")
def demo_template_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo-year") / "demo.db"
    build_demo_database(path)
    return path


@pytest.fixture
def demo_app(tmp_path, demo_template_db) -> Iterator[Flask]:
    copy_database(demo_template_db, tmp_path / "demo.db")
    application = make_app(tmp_path / "demo.db", ManualClock(START))
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def demo_client(demo_app: Flask) -> FlaskClient:
    return demo_app.test_client()


FIGURES = ("cycle_trend", "cycle_time", "steps", "sla_by_role", "wip", "throughput",
           "approval_routes", "risk_grid", "escalations", "lessons")


@pytest.mark.parametrize("who", ["pmohead", "admin"])
def test_pmo_head_and_admin_see_every_figure_and_the_menu_link(demo_client, who):
    login(demo_client, who)
    page = demo_client.get("/dashboard")
    assert page.status_code == 200
    doc = parse_html(page.get_data(as_text=True))
    for name in FIGURES:
        one(doc, f"//*[@data-testid='figure-{name}']")
    rows = doc.xpath("//*[@data-testid='table-cycle_time']//tbody/tr")
    assert len(rows) >= 2  # approvals and risk reviews finished in the month
    assert "Project approval" in page.get_data(as_text=True) or "approval" in \
        page.get_data(as_text=True).lower()
    home = demo_client.get("/").get_data(as_text=True)
    assert 'data-testid="nav-dashboard"' in home


@pytest.mark.parametrize("who", ["pm1", "reviewer1", "finance1", "sponsor1"])
def test_others_get_403_and_no_menu_link(demo_client, who):
    login(demo_client, who)
    assert demo_client.get("/dashboard").status_code == 403
    assert demo_client.get("/dashboard/steps.csv").status_code == 403
    assert demo_client.get("/api/v1/dashboard").status_code == 403
    assert 'data-testid="nav-dashboard"' not in demo_client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(("query", "message"), [
    ("start=2026-02-30", "is not a date"),
    ("start=2026-02-20&end=2026-01-01", "before it starts"),
    ("start=2020-01-01&end=2026-01-01", "at most three years"),
    ("start=2027-01-01&end=2027-02-01", "after today"),
    ("category=space", "is not a project category"),
    ("department=Nowhere", "No project involves the department"),
])
def test_impossible_filters_say_why_without_a_500(demo_client, query, message):
    login(demo_client, "pmohead")
    page = demo_client.get(f"/dashboard?{query}")
    assert page.status_code == 422
    doc = parse_html(page.get_data(as_text=True))
    assert message in one(doc, "//*[@data-testid='dashboard-errors']").text_content()
    csv_answer = demo_client.get(f"/dashboard/steps.csv?{query}")
    assert csv_answer.status_code == 422 and message in csv_answer.get_data(as_text=True)
    api = demo_client.get(f"/api/v1/dashboard?{query}")
    assert api.status_code == 422
    assert api.get_json()["errors"][0]["message"].find(message) >= 0


def test_filters_narrow_the_figures(demo_client):
    login(demo_client, "pmohead")
    everything = demo_client.get("/api/v1/dashboard").get_json()
    assert everything["filters"]["end"] == START[:10]
    started = sum(r[2] for r in everything["figures"]["throughput"]["rows"])
    assert started >= 20
    week = demo_client.get("/api/v1/dashboard/throughput?start=2026-02-23&end=2026-03-01")
    assert 0 < sum(r[2] for r in week.get_json()["rows"]) < started
    it_only = demo_client.get("/api/v1/dashboard/cycle_time?category=it").get_json()
    total = {r[0]: r[1] for r in everything["figures"]["cycle_time"]["rows"]}
    for process, completed, *_ in it_only["rows"]:
        assert completed <= total[process]
    assert demo_client.get("/api/v1/dashboard/nope").status_code == 422


def test_csv_download_matches_the_table(demo_client):
    login(demo_client, "admin")
    answer = demo_client.get("/dashboard/steps.csv?start=2026-01-01&end=2026-03-02")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert 'filename="pmoflow-steps-2026-01-01-2026-03-02.csv"' in \
        answer.headers["Content-Disposition"]
    body = answer.get_data(as_text=True).lstrip("\ufeff")
    table = list(csv.reader(io.StringIO(body)))
    assert table[0][:3] == ["Process", "Step", "Step name"]
    api = demo_client.get("/api/v1/dashboard/steps?start=2026-01-01&end=2026-03-02").get_json()
    assert len(table) - 1 == len(api["rows"])
    assert [row[1] for row in table[1:]] == [row[1] for row in api["rows"]]
    assert demo_client.get("/dashboard/nope.csv").status_code == 404


def test_dashboard_in_chinese(demo_client):
    login(demo_client, "pmohead")
    page = demo_client.get("/dashboard", headers={"Accept-Language": "zh-CN"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "仪表板" in html and "各流程周期" in html


def test_openapi_lists_the_dashboard(demo_client):
    doc = demo_client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/dashboard" in doc["paths"]
    assert "/api/v1/dashboard/{figure}" in doc["paths"]


def test_heatmap_page_and_its_diagram_for_dashboard_readers_only(demo_client):
    login(demo_client, "pm1")
    assert demo_client.get("/dashboard/heatmap/project_approval").status_code == 403
    assert demo_client.get("/dashboard/heatmap/project_approval/1/diagram.bpmn"
                           ).status_code == 403
    login(demo_client, "pmohead")
    page = demo_client.get("/dashboard/heatmap/project_approval")
    assert page.status_code == 200
    doc = parse_html(page.get_data(as_text=True))
    box = one(doc, "//*[@data-testid='heatmap']")
    assert box.get("data-xml-url") == "/dashboard/heatmap/project_approval/1/diagram.bpmn"
    import json

    heat = json.loads(one(doc, "//script[@id='heat-data']").text)
    assert heat["check"]["visits"] >= 10 and heat["check"]["median"] > 0
    xml = demo_client.get(box.get("data-xml-url"))
    assert xml.status_code == 200 and b"project_approval" in xml.data
    assert demo_client.get("/dashboard/heatmap/project_approval?v=9").status_code == 404
    assert demo_client.get("/dashboard/heatmap/nope").status_code == 404
    bad = demo_client.get("/dashboard/heatmap/risk_review?start=2026-03-01&end=2026-01-01")
    assert bad.status_code == 422 and "before it starts" in bad.get_data(as_text=True)


def test_department_filter_in_the_page_the_api_and_the_csv(demo_client):
    login(demo_client, "pmohead")
    doc = parse_html(demo_client.get("/dashboard").get_data(as_text=True))
    offered = doc.xpath("//select[@id='f-department']/option/@value")
    assert offered[0] == "" and {"IT", "Sales"} <= set(offered[1:])
    everything = demo_client.get("/api/v1/dashboard/throughput").get_json()
    sales = demo_client.get("/api/v1/dashboard?department=Sales").get_json()
    assert sales["filters"]["department"] == "Sales"
    started = sum(r[2] for r in everything["rows"])
    in_sales = sum(r[2] for r in sales["figures"]["throughput"]["rows"])
    assert 0 < in_sales < started
    with demo_client.application.app_context():
        from sqlalchemy import select

        from webui.extensions import db
        from workflows.records.models import Project
        sales_projects = {pid for pid, deps in db.session.execute(
            select(Project.id, Project.departments)) if "Sales" in deps}
    assert sales_projects
    filtered = demo_client.get("/dashboard?department=Sales")
    assert filtered.status_code == 200
    page = parse_html(filtered.get_data(as_text=True))
    assert page.xpath("string(//select[@id='f-department']/option[@selected]/@value)") == \
        "Sales"
    csv_link = one(page, "//a[@data-testid='csv-throughput']").get("href")
    assert "department=Sales" in csv_link
    answer = demo_client.get(csv_link)
    assert answer.status_code == 200
    assert "-Sales.csv" in answer.headers["Content-Disposition"]
    body = answer.get_data(as_text=True).lstrip("\ufeff")
    assert sum(int(r[2]) for r in list(csv.reader(io.StringIO(body)))[1:]) == in_sales


def test_lessons_published_and_read_figure(demo_client):
    login(demo_client, "admin")
    fig = demo_client.get("/api/v1/dashboard/lessons").get_json()
    assert fig["columns"] == ["month", "published", "reads", "readers"]
    for _month, published, reads, readers in fig["rows"]:
        assert published >= 0 and reads >= readers >= 0 and (published or reads)
    page = demo_client.get("/dashboard", headers={"Accept-Language": "zh-CN"})
    assert "经验教训的发布与阅读" in page.get_data(as_text=True)


def test_heatmap_keeps_the_category_and_department(demo_client):
    login(demo_client, "pmohead")
    page = demo_client.get("/dashboard/heatmap/project_approval?department=Sales&category=it")
    assert page.status_code == 200
    doc = parse_html(page.get_data(as_text=True))
    form = one(doc, "//form[@data-testid='heat-filters']")
    assert form.xpath("string(.//input[@name='department']/@value)") == "Sales"
    assert form.xpath("string(.//input[@name='category']/@value)") == "it"
    summary = one(doc, "//*[@data-testid='heat-summary']").text_content()
    assert "Department: Sales" in summary and "Project category: IT" in summary
    everything = demo_client.get("/dashboard/heatmap/project_approval")
    total = int(one(parse_html(everything.get_data(as_text=True)),
                    "//*[@data-testid='heat-summary']").text_content().split()[0])
    assert int(summary.split()[0]) < total
    bad = demo_client.get("/dashboard/heatmap/project_approval?department=Nowhere")
    assert bad.status_code == 422 and "No project involves the department" in \
        bad.get_data(as_text=True)
