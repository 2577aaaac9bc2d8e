"""A run through the four shipped processes, every page read in Chinese (issue 13).

The four processes are driven through the engine (the demo database: the shipped
diagrams, forms, tables and demo people), the data people type is Chinese, and then every
page the people of the run open (home, inbox, notifications, requests, each request and
task page, project, risk, escalation and lesson pages) is fetched with the test client in
Chinese. The visible text must hold no English word outside a short allow-list (proper
nouns, codes, units) and no raw key (``snake_case``): a string that misses the catalog, a
diagram name without ``pmoflow:name-zh`` or a stored key shown as is fails here, with the
page and the words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html

from engine.store.uow import unit_of_work
from tests.webui.conftest import Arrange, login
from webui.extensions import db
from workflows import records

#: Words a Chinese page may show in Latin letters: the product, codes, currencies, units,
#: the language switch's "English".
ALLOWED = {
    "pmoflow", "pmo", "pm", "prj", "esc", "roi", "sla", "wbs", "it", "utc", "id", "v",
    "cny", "usd", "eur", "gbp", "jpy", "hkd", "sgd", "aud", "chf", "en", "english", "crm",
}
#: Interface text that shows an English word on purpose (the lessons search's example).
EXAMPLES = ("英文或中文词，例如 supplier 接口",)
#: Tables whose text people typed (or the demo seed wrote): data, not interface words.
DATA_TABLES = ("users", "projects", "risks", "escalations", "lessons",
               "project_stage_changes")
#: The demo users with the roles the run needs.
PEOPLE = ("pm1", "reviewer1", "pmohead", "finance1", "sponsor1", "steer1", "team1")
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
RAW_KEY = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def visible_text(page: str) -> str:
    """What a reader sees: the body's text without scripts, styles and hidden parts,
    plus titles, placeholders and accessible labels. Left out: what a request page folds
    away as "recorded by the process" (the process's own working data, for the PMO)."""
    doc = lxml_html.fromstring(page)
    for bad in doc.xpath("//script | //style | //template | //noscript"
                         " | //*[@hidden] | //*[contains(@class, 'visually-hidden')]"
                         " | //*[@data-testid='recorded']"):
        bad.drop_tree()
    body = doc.find("body")
    parts = [" ".join((body if body is not None else doc).itertext())]
    for attr in ("title", "placeholder", "aria-label", "alt"):
        parts += doc.xpath(f"//@{attr}")
    return " ".join(parts)


def without(text: str, phrases: list[str]) -> str:
    """``text`` with every one of ``phrases`` (longest first, whole words) blanked out."""
    for phrase in phrases:
        text = re.sub(rf"(?<![A-Za-z]){re.escape(phrase)}(?![A-Za-z])", " ", text)
    return text


def english_words(text: str, allowed: set[str]) -> list[str]:
    """Latin-letter words that are not allowed names, codes or units."""
    return sorted({w for w in WORD.findall(text) if w.lower() not in allowed
                   and w.lower().strip("'’-") not in allowed})


def data_phrases(app: Flask) -> list[str]:
    """Every text value of the data tables (people's names, what the demo seed typed), and
    of the lists in them, longest first."""
    from sqlalchemy import text as sql

    found: set[str] = set()
    with app.app_context():
        for table in DATA_TABLES:
            for row in db.session.execute(sql(f"SELECT * FROM {table}")):
                for value in row:
                    if isinstance(value, str) and value.startswith("["):
                        found.update(v for v in json.loads(value) if isinstance(v, str))
                    elif isinstance(value, str) and value.strip():
                        found.add(value.strip())
        usernames = {u for (u,) in db.session.execute(sql("SELECT username FROM users"))}
        # what the PMO wrote into its decision tables (a rule's reason) is theirs too
        for (source,) in db.session.execute(sql("SELECT source FROM decision_definitions")):
            found.update(re.findall(r'<text>"([^"<]+)"</text>', source))
    # free text and names only: a lower-case word is a stored key (a category, a level),
    # which a page must show by its label
    return sorted({p for p in found if " " in p or not p.isascii() or p[:1].isupper()}
                  | usernames | set(EXAMPLES), key=len, reverse=True)


def raw_keys(text: str) -> list[str]:
    """``snake_case`` tokens: stored keys shown as they are."""
    return sorted(set(RAW_KEY.findall(text)))


def test_the_checks_notice_english_and_raw_keys():
    text = visible_text("<html><body><p>审批 Approve <b>mitigate</b> pmo_head PRJ-2026-0001"
                        "</p><script>var x_y = 1</script></body></html>")
    assert english_words(text, ALLOWED) == ["Approve", "head", "mitigate"]
    assert raw_keys(text) == ["pmo_head"]
    assert without("由 Li Wei 提交 Li Weiss", ["Li Wei"]) == "由   提交 Li Weiss"


# --------------------------------------------------------------------------- the run


def _project_id(app: Flask, title: str) -> int:
    with app.app_context():
        found, _ = records.list_projects(db.session, q=title)
        return next(p.id for p in found if p.title == title)


class Run(Arrange):
    """:class:`Arrange` that opens each task page, as the person who completes the task
    would, before completing it (``seen``: ``(user, path) -> page``)."""

    def __init__(self, app: Flask, clients: dict[str, FlaskClient]):
        super().__init__(app)
        self.clients = clients
        self.seen: dict[tuple[str, str], str] = {}

    def complete(self, task_id: int, actor: str, data: dict | None = None):
        path = f"/tasks/{task_id}"
        response = self.clients[actor].get(path)
        assert response.status_code == 200, (actor, path, response.status_code)
        self.seen[(actor, path)] = response.get_data(as_text=True)
        return super().complete(task_id, actor, data)


def run_four_processes(app: Flask, arrange: Arrange) -> list[int]:
    """Approval, risk review, escalation and closure, each to its end (Chinese data)."""
    approval = arrange.start("project_approval", "pm1", {
        "title": "客户门户二期", "business_case": "旧系统停止维护。",
        "strategic_objective": "客户留存", "category": "it",
        "budget": {"amount": "50000.00", "currency": "CNY"},
        "planned_start": "2026-04-01", "planned_end": "2026-12-31", "sponsor": "sponsor1",
        "expected_roi_pct": 18.5, "risk_rating": "low", "departments": ["IT"],
        "headcount": 3}, title="客户门户二期")
    arrange.complete(arrange.task(approval.id, "check").id, "reviewer1", {
        "decision": "accept", "charter_complete": True, "plan_attached": True,
        "budget_broken_down": True})
    arrange.complete(arrange.task(approval.id, "review_pmo_head").id, "pmohead",
                     {"decision": "approve", "comment": "同意立项。"})
    arrange.complete(arrange.task(approval.id, "kickoff").id, "pm1",
                     {"kickoff_date": "2026-03-02"})

    project = _project_id(app, "Warehouse automation")
    risk = arrange.start("risk_review", "pm1", {
        "project_id": project, "title": "供应商交付延迟", "description": "关键设备晚到两周。",
        "category": "supplier", "probability": 2, "impact": 2, "response": "mitigate",
        "contingency": "启用备选供应商。", "owner": "pm1", "urgent": False}, title="供应商交付延迟")
    arrange.complete(arrange.task(risk.id).id, "sponsor1",
                     {"decision": "approve", "comment": "同意应对计划。"})

    escalation = arrange.start("escalation", "pm1", {
        "project_id": project, "affected_project_ids": [], "title": "吊车重复预订",
        "kind": "resource_conflict", "severity": "high", "tried": "已联系供应商。",
        "needed_by": "2026-03-10"}, title="吊车重复预订")
    arrange.complete(arrange.task(escalation.id, "triage").id, "reviewer1",
                     {"decision": "resolve", "comment": "甲工地优先。"})
    arrange.complete(arrange.task(escalation.id, "confirm").id, "pm1",
                     {"decision": "resolved", "comment": "问题已解决。"})

    closure = arrange.start("project_closure", "pm1", {
        "project_id": project, "deliverables_accepted": True,
        "actual_cost": {"amount": "840000.00", "currency": "CNY"},
        "actual_end": "2026-03-02", "customer_satisfaction": 4, "open_items_count": 0,
        "lesson_team": ["team1"]}, title="结项")
    lesson = next(t for t in arrange.tasks(closure.id, "open") if t.element_id == "write_lesson")
    arrange.complete(lesson.id, "team1", {
        "title": "第三方接口联调", "category": "supplier", "tags": ["联调"],
        "what_went_well": "每日站会。", "what_did_not": "沙箱与生产环境不同。",
        "recommendation": "尽早预约联调窗口。"})
    curate = arrange.task(closure.id, "curate")
    with app.app_context():
        saved, _ = records.list_lessons(db.session, project_id=project)
    arrange.complete(curate.id, "reviewer1", {"publish_ids": [saved[0].id]})
    arrange.complete(arrange.task(closure.id, "sign_off").id, "sponsor1",
                     {"decision": "sign_off", "comment": "验收通过。"})
    arrange.complete(arrange.task(closure.id, "check_variance").id, "finance1",
                     {"decision": "accept"})
    return [approval.id, risk.id, escalation.id, closure.id]


def chinese(app: Flask) -> None:
    """Every demo person reads Chinese."""
    with app.app_context(), unit_of_work(db.session):
        for name in PEOPLE:
            app.extensions["pmoflow"].engine.set_locale(db.session, name, "zh")


def links(page: str, prefixes: tuple[str, ...]) -> Iterator[str]:
    """The same-site links of a page under ``prefixes`` (no query, no fragment)."""
    for href in lxml_html.fromstring(page).xpath("//a/@href"):
        path = href.split("#")[0].split("?")[0]
        if path.startswith(prefixes) and "/diagram" not in path and not path.endswith(
                ("/open", ".bpmn")):
            yield path


def crawl(client: FlaskClient, start: list[str], prefixes: tuple[str, ...]
          ) -> dict[str, str]:
    """Fetch ``start`` and every linked page under ``prefixes`` (200s only)."""
    seen: dict[str, str] = {}
    queue = list(start)
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        response = client.get(path)
        if response.status_code != 200 or "html" not in response.content_type:
            seen[path] = ""
            continue
        page = response.get_data(as_text=True)
        seen[path] = page
        queue += [p for p in links(page, prefixes) if p not in seen]
    return {p: t for p, t in seen.items() if t}


PAGES = ["/", "/tasks", "/tasks?tab=claimable", "/tasks?tab=done", "/notifications",
         "/requests", "/portfolio", "/risks", "/escalations", "/lessons", "/processes"]
FOLLOW = ("/instances/", "/tasks/", "/projects/", "/risks/", "/escalations/", "/lessons/",
          "/processes/")


@pytest.fixture(scope="module")
def pages(tmp_path_factory, pmo_template_db) -> dict[tuple[str, str], str]:
    """(user, path) -> the page's visible text without the demo data, for every person of
    the run, all in Chinese."""
    from engine.clock import ManualClock
    from tests.webui.conftest import START, copy_database, make_app

    path = tmp_path_factory.mktemp("zh-run") / "pmo.db"
    copy_database(pmo_template_db, path)
    app = make_app(path, ManualClock(START))
    seeded = data_phrases(app)
    chinese(app)
    clients = {name: app.test_client() for name in PEOPLE}
    for name, client in clients.items():
        login(client, name)
    run = Run(app, clients)
    run_four_processes(app, run)
    found = {key: without(visible_text(page), seeded) for key, page in run.seen.items()}
    for name, client in clients.items():
        for page_path, page in crawl(client, PAGES, FOLLOW).items():
            found[(name, page_path)] = without(visible_text(page), seeded)
    with app.app_context():
        db.engine.dispose()
    return found


def test_the_run_visits_the_pages_of_every_process(pages):
    paths = {p for _u, p in pages}
    assert sum(p.startswith("/instances/") for p in paths) >= 4
    assert sum(p.startswith("/tasks/") for p in paths) >= 8
    assert any(p.startswith("/projects/") for p in paths)
    assert any(p.startswith("/risks/") for p in paths)
    assert any(p.startswith("/escalations/") for p in paths)
    assert any(p.startswith("/lessons/") for p in paths)


def test_no_page_of_the_run_shows_english_or_raw_keys_in_chinese(pages):
    problems = {}
    for (user, path), text in sorted(pages.items()):
        words, keys = english_words(text, ALLOWED), raw_keys(text)
        if words or keys:
            problems[f"{user} {path}"] = (words, keys)
    assert problems == {}
