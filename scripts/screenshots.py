#!/usr/bin/env python3
"""Take the product screenshots in docs/screenshots/ (run by hand, not by the tests).

Starts the web app on a temporary SQLite database with the demo users, the approval3
test process and the web tests' proposal form deployed, and a few requests in different
states; then drives Debian's Chromium (Playwright, never a downloaded browser) and writes
``inbox.png``, ``task-form-errors.png`` and ``instance.png``.

    PYTHONPATH=. python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.clock import ManualClock  # noqa: E402
from tests.webui.conftest import Arrange, build_database, make_app  # noqa: E402

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        clock = ManualClock("2026-02-23T01:30:00+00:00")
        build_database(Path(tmp) / "web.db", clock)
        app = make_app(Path(tmp) / "web.db", clock)
        arrange = Arrange(app)
        shown = seed(arrange, clock)
        clock.set("2026-03-02T02:10:00+00:00")
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            shoot(browser, base, out, shown)
            browser.close()
        server.shutdown()
    print(f"wrote {', '.join(sorted(p.name for p in out.glob('*.png')))} to {out}")
    return 0


def session(browser, base: str, username: str):
    """A signed-in browser page."""
    context = browser.new_context(base_url=base, viewport={"width": 1360, "height": 900},
                                  device_scale_factor=1)
    page = context.new_page()
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", "demo")
    page.click("[data-testid=sign-in]")
    page.wait_for_selector("[data-testid=whoami]")
    return page


def shoot(browser, base: str, out: Path, shown: int) -> None:
    """The three screenshots."""
    page = session(browser, base, "reviewer1")
    page.goto("/tasks?tab=claimable")
    page.screenshot(path=str(out / "inbox.png"), full_page=True)

    row = page.locator("[data-testid=task-row]", has_text="Warehouse robotics pilot")
    row.locator("[data-testid=task-link]").click()
    page.check("input[value=rework]")
    page.click("[data-testid=submit]")
    page.wait_for_selector("[data-diagram][data-ready]")
    page.screenshot(path=str(out / "task-form-errors.png"), full_page=True)
    page.context.close()

    page = session(browser, base, "pm1")
    page.goto(f"/instances/{shown}")
    page.wait_for_selector("[data-diagram][data-ready=true]")
    page.screenshot(path=str(out / "instance.png"), full_page=True)
    page.context.close()


if __name__ == "__main__":
    raise SystemExit(main())
