#!/usr/bin/env python3
"""Take the product screenshots in docs/screenshots/ (run by hand, not by the tests).

Starts the web app on a temporary SQLite database with the demo users, the approval3
test process and the web tests' proposal form deployed, and a few requests in different
states, and a small portfolio of PMO records (projects, risks, an escalation, lessons);
then drives Debian's Chromium (Playwright, never a downloaded browser) and writes
``inbox.png``, ``task-form-errors.png``, ``instance.png`` (``--only tasks``) and
``portfolio.png``, ``lessons.png`` (``--only pmo``), ``admin-user.png`` (``--only admin``),
the sign-in page of a demo install listing its demo users, ``login-demo.png``
(``--only login``); and, on a database like ``pmoflow init --demo`` with proposals routed
by the approval rules, the rules page after a what-if, ``rules-what-if.png``, with the PMO
head's inbox ``demo-inbox.png`` and a proposal's request page ``demo-request.png`` of the
shipped processes (``--only rules``); and after a twelve-month demo year simulated through
the engine (``--only insight``, a few minutes), the PMO head's ``dashboard.png``, the
project approval's ``heatmap.png``, a closed project's ``project-timeline.png`` (the
timeline unfolded; on the page it scrolls in its card) and the PMO
admin's ``ops-console.png`` (a demo-year request with an incident to retry and a token to
move).

Each page is taken in English and in Chinese (``--lang en|zh|both``, default both): the
Chinese file is ``<name>-zh.png``. Signed-in pages switch with the navigation's language
buttons (which also save the user's choice), the sign-in page by the browser's language.

    PYTHONPATH=. python scripts/screenshots.py [--out docs/screenshots]
                                               [--only tasks|pmo|admin|login|rules|insight]
                                               [--lang en|zh|both]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from datetime import date
from pathlib import Path

from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import install  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.notifications import Note, write  # noqa: E402
from engine.store.uow import unit_of_work  # noqa: E402
from tests.webui.conftest import Arrange, build_database, make_app  # noqa: E402
from webui.extensions import db  # noqa: E402
from workflows import records  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
REQUESTS = [
    ("pm1", "ERP rollout, phase 2", 850000, "accept"),
    ("pm2", "Data centre cooling retrofit", 2400000, "claim"),
    ("pm1", "Supplier portal for tower parts", 120000, None),
    ("pm2", "GDPR compliance audit 2026", 60000, None),
    ("pm1", "Warehouse robotics pilot", 310000, "proposal"),
    ("pm2", "Customer 360 data platform", 990000, None),
    ("pm2", "Tower crane scheduling system", 460000, "proposal"),
]


def proposal(title: str, budget: int) -> dict:
    """Start data of the proposal form (tests/webui/processes/forms)."""
    return {"title": title, "budget": {"amount": f"{budget}.00", "currency": "CNY"},
            "category": "construction", "risk": "medium", "headcount": 12,
            "business_case": "Three projects share one tower crane supplier; a shared "
                              "schedule cuts idle days by a third.",
            "start": "2026-05-04", "multi_department": True, "sponsor": "sponsor1",
            "departments": ["Operations", "IT"], "tags": ["supplier", "schedule"],
            "milestones": [{"name": "Supplier workshop", "date": "2026-05-15", "weeks": 2},
                           {"name": "Pilot on site A", "date": "2026-07-01", "weeks": 6}]}


def seed(arrange: Arrange, clock: ManualClock) -> int:
    """Requests in several states; returns the one whose instance page is shown."""
    shown = 0
    for actor, title, budget, decision in REQUESTS:
        if decision == "proposal":
            arrange.start("widgets", actor=actor, data=proposal(title, budget), title=title)
            clock.advance(hours=19)
            continue
        inst = arrange.start(actor=actor, data={"title": title, "budget": budget,
                                                "start": "2026-04-01"}, title=title)
        clock.advance(hours=19)
        if decision == "accept":
            review = arrange.task(inst.id, "review")
            arrange.complete(review.id, "reviewer1", {
                "decision": "rework", "comment": "Please attach the milestone plan and "
                "break the budget down by quarter."})
            clock.advance(hours=6)
            arrange.complete(arrange.task(inst.id, "revise").id, actor,
                             {"comment": "Milestone plan attached, budget split by quarter."})
            clock.advance(hours=5)
            arrange.complete(arrange.task(inst.id, "review").id, "reviewer1",
                             {"decision": "accept", "comment": "Complete now."})
            shown = inst.id
        elif decision == "claim":
            arrange.claim(arrange.task(inst.id, "review").id, "reviewer1")
    return shown


#: (title, category, budget, currency, pm, sponsor, months, stage) of the portfolio.
PROJECTS = [
    ("Tower crane scheduling system", "construction", "460000", "CNY", "pm2", "sponsor1", 8,
     "Executing"),
    ("CRM replacement", "it", "250000", "CNY", "pm1", "steer2", 6, "Executing"),
    ("Substation retrofit, Pudong", "construction", "3200000", "CNY", "pm2", "steer3", 14,
     "Initiation"),
    ("GDPR compliance audit 2026", "compliance", "60000", "EUR", "pm1", "sponsor1", 3,
     "Closing"),
    ("Supplier portal for tower parts", "it", "120000", "USD", "pm1", "steer2", 5, "Closed"),
    ("Warehouse robotics pilot", "rnd", "310000", "CNY", "pm2", "sponsor1", 9, "Proposed"),
    ("Customer 360 data platform", "it", "990000", "CNY", "pm1", "steer3", 12, "Executing"),
    ("Brand refresh for the APAC launch", "marketing", "180000", "HKD", "pm2", "sponsor1", 4,
     "Rejected"),
]
#: (project index, title, category, probability, impact, level, decided by or None)
RISKS = [
    (0, "Crane supplier serves three sites at once", "supplier", 4, 4, "high", "steer1"),
    (0, "Karst cave under tower 7", "technical", 3, 5, "high", None),
    (1, "Legacy CRM data quality", "technical", 3, 3, "medium", "pmohead"),
    (2, "Grid outage window not confirmed", "schedule", 3, 4, "medium", None),
    (6, "Vendor API rate limits", "technical", 2, 3, "low", "sponsor1"),
    (6, "USD licence fees", "currency", 3, 2, "low", None),
    (2, "Permit for night works", "compliance", 2, 2, "low", None),
]
LESSONS = [
    (4, "Third-party interface debugging took three weeks", "technical", "integration, vendor",
     "", "第三方接口联调花了三周：供应商的测试环境与生产不一致，接口文档也过时了。",
     "Book the vendor's engineers for the 接口 tests in the plan, and insist on a "
     "production-like test environment before the first sprint."),
    (4, "Shared supplier calendar", "supplier", "supplier, schedule",
     "One calendar for the crane supplier across the three sites cut idle days by a third.",
     "", "Ask the PMO to arbitrate shared suppliers early."),
    (3, "Start the data inventory first", "compliance", "gdpr, data",
     "The data inventory made every later step faster.",
     "We found the 接口 logs of two old systems only in the last month.",
     "Inventory every system, including its interface logs, in week one."),
]


def seed_portfolio(app, clock: ManualClock) -> None:
    """Projects in every stage, risks across categories, an escalation, lessons."""
    with app.app_context(), unit_of_work(db.session):
        s = db.session
        ids = [_project(s, clock, *row) for row in PROJECTS]
        for index, title, category, p, i, level, decider in RISKS:
            risk = records.raise_risk(s, ids[index], {
                "title": title, "category": category, "probability": p, "impact": i,
                "response": "mitigate", "contingency": "Agree a fallback with the sponsor.",
                "owner": PROJECTS[index][4], "urgent": level == "high"},
                actor=PROJECTS[index][4], now=clock.now(), score=p * i, level=level,
                levels_required={"low": 1, "medium": 2, "high": 3}[level])
            if decider:
                records.decide_risk(s, risk.id, decision="Response plan approved",
                                    decided_by=decider, level=risk.levels_required,
                                    response_plan="Second crew booked; sites staggered.",
                                    now=clock.now())
        records.raise_escalation(s, ids[0], {
            "title": "Crane supplier double-booked in March", "kind": "resource_conflict",
            "severity": "high", "tried": "Asked for a second crew; refused.",
            "needed_by": "2026-03-20", "affected_project_ids": [ids[2]]},
            actor="pm2", now=clock.now())
        found = []
        for index, title, category, tags, well, did_not, rec in LESSONS:
            clock.advance(hours=1)
            found.append(records.add_lesson(s, ids[index], {
                "title": title, "category": category, "tags": tags, "what_went_well": well,
                "what_did_not": did_not, "recommendation": rec},
                author="team1", now=clock.now()).id)
        records.curate_lessons(s, publish_ids=found, curator="reviewer1", now=clock.now())
        write(s, Note(("pmohead",), "escalation", "Escalation on PRJ-2026-0001: crane "
                      "supplier double-booked", "Decision needed by 2026-03-20.",
                      "/escalations"), clock.now())
        write(s, Note(("pmohead",), "reminder", "Reminder: level-2 review of a high risk",
                      "Karst cave under tower 7", "/risks?level=high"), clock.now())


def _project(s, clock: ManualClock, title: str, category: str, budget: str, currency: str,
             pm: str, sponsor: str, months: int, stage: str) -> int:
    start = date(2026, 1 + len(title) % 6, 1)
    end = date(start.year + (start.month + months - 1) // 12,
               (start.month + months - 1) % 12 + 1, 28)
    data = {"title": title, "business_case": "Three sites share one tower crane supplier; "
            "a shared schedule cuts idle days by a third.", "strategic_objective":
            "Operational excellence", "category": category,
            "budget": {"amount": budget, "currency": currency},
            "planned_start": start.isoformat(), "planned_end": end.isoformat(),
            "sponsor": sponsor, "expected_roi_pct": "14.5", "risk_rating": "medium",
            "departments": ["Operations", "IT"], "headcount": 9}
    project = records.propose_project(s, data, pm=pm, now=clock.now())
    clock.advance(hours=2)
    if stage == "Rejected":
        records.reject_project(s, project.id, actor="pmohead", now=clock.now(),
                               reason="No budget this year")
    elif stage != "Proposed":
        records.approve_project(s, project.id, actor="pmohead", now=clock.now())
        path = {"Executing": ["Executing"], "Closing": ["Executing", "Closing"],
                "Closed": ["Executing", "Closing", "Closed"]}.get(stage, [])
        for step in path:
            clock.advance(hours=1)
            records.set_stage(s, project.id, step, actor=pm, now=clock.now())
    return project.id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--only", choices=("tasks", "pmo", "admin", "login", "rules",
                                           "insight"),
                        help="take only these shots")
    parser.add_argument("--lang", choices=("en", "zh", "both"), default="both",
                        help="the language of the pages (both: <name>.png and <name>-zh.png)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    langs = ("en", "zh") if args.lang == "both" else (args.lang,)
    from playwright.sync_api import sync_playwright

    if args.only in (None, "rules"):
        shoot_rules(out, langs)
    if args.only in (None, "insight"):
        shoot_insight(out, langs)
    if args.only in ("rules", "insight"):
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        clock = ManualClock("2026-02-23T01:30:00+00:00")
        build_database(Path(tmp) / "web.db", clock)
        app = make_app(Path(tmp) / "web.db", clock)
        arrange = Arrange(app)
        seed_portfolio(app, clock)
        shown = seed(arrange, clock)
        clock.set("2026-03-02T02:10:00+00:00")
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            for lang in langs:
                if args.only in (None, "tasks"):
                    shoot(browser, base, out, shown, lang)
                if args.only in (None, "pmo"):
                    shoot_pmo(browser, base, out, lang)
                if args.only in (None, "admin"):
                    shoot_admin(browser, base, out, lang, project=1 + langs.index(lang))
            if args.only in (None, "login"):
                # Last: a demo install also shows first steps on the signed-in pages.
                with app.app_context(), unit_of_work(db.session):
                    install.mark_demo(db.session, "admin", clock.now())
                for lang in langs:
                    shoot_login(browser, base, out, lang)
            browser.close()
        server.shutdown()
    print(f"wrote {', '.join(sorted(p.name for p in out.glob('*.png')))} to {out}")
    return 0


def png(out: Path, name: str, lang: str) -> str:
    """The file of shot ``name`` in ``lang`` (English unsuffixed, ``-zh`` for Chinese)."""
    return str(out / (f"{name}.png" if lang == "en" else f"{name}-{lang}.png"))


def browser_page(browser, base: str, lang: str, width: int = 1280):
    """A new browser page whose browser asks for ``lang``."""
    context = browser.new_context(base_url=base, viewport={"width": width, "height": 860},
                                  device_scale_factor=1,
                                  locale="zh-CN" if lang == "zh" else "en-GB")
    return context.new_page()


def session(browser, base: str, username: str, lang: str = "en", width: int = 1280):
    """A browser page signed in as ``username``, the pages in ``lang`` (the navigation's
    language button: it saves the choice for the user, so every run sets it). An admin's
    navigation needs ``width`` 1360 (at 1280 it runs past the window's edge)."""
    page = browser_page(browser, base, lang, width)
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", "demo")
    page.click("[data-testid=sign-in]")
    page.wait_for_selector("[data-testid=whoami]")
    page.click(f"[data-testid=lang-{lang}]")
    page.wait_for_selector(f"[data-testid=lang-{lang}][aria-pressed=true]")
    return page


def shoot_login(browser, base: str, out: Path, lang: str) -> None:
    """The sign-in page of a demo install, which lists the demo users."""
    page = browser_page(browser, base, lang)
    page.goto("/login")
    page.wait_for_selector("[data-testid=demo-users]")
    page.screenshot(path=png(out, "login-demo", lang), full_page=True)
    page.context.close()


def shoot(browser, base: str, out: Path, shown: int, lang: str) -> None:
    """The three screenshots."""
    page = session(browser, base, "reviewer1", lang)
    page.goto("/tasks?tab=claimable")
    page.screenshot(path=png(out, "inbox", lang), full_page=True)

    row = page.locator("[data-testid=task-row]", has_text="Warehouse robotics pilot")
    row.locator("[data-testid=task-link]").click()
    page.check("input[value=rework]")
    page.click("[data-testid=submit]")
    page.wait_for_selector("[data-diagram][data-ready]")
    page.screenshot(path=png(out, "task-form-errors", lang), full_page=True)
    page.context.close()

    page = session(browser, base, "pm1", lang)
    page.goto(f"/instances/{shown}")
    page.wait_for_selector("[data-diagram][data-ready=true]")
    page.screenshot(path=png(out, "instance", lang), full_page=True)
    page.context.close()


def shoot_pmo(browser, base: str, out: Path, lang: str) -> None:
    """The portfolio and a lessons search, as the PMO head sees them."""
    page = session(browser, base, "pmohead", lang)
    page.goto("/portfolio")
    page.screenshot(path=png(out, "portfolio", lang), full_page=True)
    page.goto("/lessons?q=接口")
    page.screenshot(path=png(out, "lessons", lang), full_page=True)
    page.context.close()


def shoot_admin(browser, base: str, out: Path, lang: str, project: int = 1) -> None:
    """A PMO admin makes pm2 the sponsor of one project (user page with its audit); each
    language grants another ``project`` (the n-th in the list) so the grant is new."""
    page = session(browser, base, "admin", lang, width=1360)
    page.goto("/admin/users/pm2")
    page.fill("#p-email", "sara.novak@example.org")
    page.fill("#p-tz", "Europe/Berlin")
    page.click("[data-testid=save-profile]")
    page.select_option("#g-role", "sponsor")
    page.select_option("#g-project", index=project)
    page.click("[data-testid=grant-role-submit]")
    page.wait_for_selector("[data-testid=project-roles] li[data-project]")
    page.screenshot(path=png(out, "admin-user", lang), full_page=True)
    page.context.close()


def shoot_rules(out: Path, langs: tuple[str, ...] = ("en",)) -> None:
    """The PMO admin's rules page: the finance threshold lowered to 50k in the editor and
    a what-if over 24 proposals the approval rules routed (the shipped processes)."""
    from playwright.sync_api import sync_playwright

    from tests.webui.browser.test_rules_admin import BELOW, BETWEEN, edit_cell, propose_and_check
    from tests.webui.conftest import build_pmo_database

    with tempfile.TemporaryDirectory() as tmp:
        clock = ManualClock("2026-03-02T01:00:00+00:00")
        build_pmo_database(Path(tmp) / "pmo.db", clock)
        app = make_app(Path(tmp) / "pmo.db", clock)
        titles = ["Intranet search", "Tower crane scheduling", "Supplier portal", "GDPR audit",
                  "Warehouse robotics", "Customer 360", "Payroll upgrade", "Badge readers"]
        for n, amount in enumerate(BELOW + BETWEEN + BETWEEN[:4]):
            clock.advance(hours=3)
            last = propose_and_check(app, amount, f"{titles[n % len(titles)]} ({n + 1})")
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            for lang in langs:
                page = session(browser, base, "admin", lang, width=1360)
                page.goto("/rules/approval_routing")
                page.wait_for_selector("#dmn-editor[data-ready=true]")
                edit_cell(page, ">= 100000", ">= 50000")
                page.click("[data-testid=run-what-if]")
                page.wait_for_selector("[data-testid=what-if-result]")
                page.screenshot(path=png(out, "rules-what-if", lang), full_page=True)
                page.context.close()
                # The shipped processes (their step names in both languages, from the
                # diagrams): the PMO head's inbox and the last proposal's request page.
                page = session(browser, base, "pmohead", lang)
                page.goto("/tasks?tab=claimable")
                page.screenshot(path=png(out, "demo-inbox", lang))  # the first rows
                page.goto(f"/instances/{last}")
                page.wait_for_selector("[data-diagram][data-ready=true]")
                page.screenshot(path=png(out, "demo-request", lang), full_page=True)
                page.context.close()
            browser.close()
        server.shutdown()


def shoot_insight(out: Path, langs: tuple[str, ...] = ("en",)) -> None:
    """After a twelve-month demo year: the dashboard, the approval's heatmap, the timeline
    of the closed project with the most risks and escalations, and the ops console on a
    request whose completeness check the inbox lost (an incident, as ``pmoflow doctor``
    finds it)."""
    from playwright.sync_api import sync_playwright
    from sqlalchemy import Integer, func, select, update

    from engine.store.models import HumanTask, ProcessInstance
    from tests.webui.test_dashboard import build_demo_database
    from workflows.records.models import Escalation, Lesson, Project, Risk

    with tempfile.TemporaryDirectory() as tmp:
        clock = ManualClock("2026-12-01T08:00:00+00:00")
        build_demo_database(Path(tmp) / "year.db", clock, months=12, warmup=60)
        app = make_app(Path(tmp) / "year.db", clock)
        with app.app_context():
            s = db.session
            risks = select(func.count()).where(Risk.project_id == Project.id) \
                .scalar_subquery()
            escalations = select(func.count()).where(
                Escalation.project_id == Project.id).scalar_subquery()
            busy = (risks > 0).cast(Integer) * 100 + risks + escalations
            published = select(Lesson.project_id).where(Lesson.published.is_(True))
            project = s.scalar(select(Project.id).where(Project.stage == "Closed",
                                                        Project.id.in_(published))
                               .order_by(busy.desc(), Project.id).limit(1))
            task = s.scalars(select(HumanTask).join(
                ProcessInstance, ProcessInstance.id == HumanTask.instance_id).where(
                HumanTask.status == "open", HumanTask.element_id == "check",
                ProcessInstance.status == "running").order_by(HumanTask.id)).first()
            assert project is not None and task is not None
            stranded = task.instance_id
            s.execute(update(HumanTask).where(HumanTask.id == task.id)
                      .values(status="completed", completed_by="nobody"))
            s.commit()
            app.extensions["pmoflow"].engine.doctor(s)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            for lang in langs:
                page = session(browser, base, "pmohead", lang, width=1400)
                page.goto("/dashboard")
                page.wait_for_function("() => document.querySelectorAll('canvas').length"
                                       " && [...document.querySelectorAll('canvas')]"
                                       ".every(c => Chart.getChart(c))")
                page.screenshot(path=png(out, "dashboard", lang), full_page=True)
                page.goto("/dashboard/heatmap/project_approval")
                page.wait_for_selector("[data-testid=heatmap][data-ready=true]")
                page.screenshot(path=png(out, "heatmap", lang), full_page=True)
                page.goto(f"/projects/{project}")
                page.wait_for_selector("[data-testid=timeline]")
                # the whole timeline (on the page it scrolls inside its card)
                page.evaluate("document.querySelector('[data-testid=timeline]')"
                              ".style.maxHeight = 'none'")
                page.screenshot(path=png(out, "project-timeline", lang), full_page=True)
                page.context.close()
                page = session(browser, base, "admin", lang, width=1400)
                page.goto(f"/ops/instances/{stranded}")
                page.wait_for_selector("[data-testid=incident]")
                page.screenshot(path=png(out, "ops-console", lang), full_page=True)
                page.context.close()
            browser.close()
        server.shutdown()


if __name__ == "__main__":
    raise SystemExit(main())
