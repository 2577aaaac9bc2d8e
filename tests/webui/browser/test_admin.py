"""A PMO administrator in Chromium: creates a user, makes them sponsor of one project, the
new sponsor signs in and finds the project's sign-off; deactivated, they are signed out
and cannot sign in again."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.webui.browser.conftest import sign_in
from tests.webui.browser.pmo_conftest import DEMO

CODE = "PRJ-2026-0003"  # Data centre migration: pm1's
TITLE = DEMO[CODE][0]
REQUEST = f"{CODE} {TITLE}"
PASSWORD = "sponsor-pass-9"


def start_closure(pm) -> None:
    pm.goto("/processes")
    pm.click("[data-testid=start-project_closure]")
    pm.select_option("#f-project_id", label=f"{CODE} — {TITLE}")
    pm.check("#f-deliverables_accepted")
    pm.fill("#f-actual_cost-amount", "1000000")
    pm.fill("#f-actual_end", "2026-03-02")
    pm.fill("#f-customer_satisfaction", "4")
    pm.fill("#f-open_items_count", "0")
    pm.click("[data-testid=submit]")
    expect(pm.locator("[data-testid=instance-title]")).to_have_text(REQUEST)


def test_admin_creates_a_project_sponsor_who_signs_in_then_is_deactivated(
        pmo_page, browser, pmo_server):
    admin = pmo_page("admin")
    admin.click("[data-testid=nav-admin]")
    expect(admin.locator("h1")).to_have_text("Administration")
    form = admin.locator("[data-testid=create-user]")
    form.get_by_label("Username", exact=True).fill("sponsor9")
    form.get_by_label("Name", exact=True).fill("Gao Lin (Sponsor)")
    form.get_by_label("E-mail").fill("gao.lin@example.org")
    form.get_by_label("Time zone").fill("Mars/Olympus")
    form.get_by_label("Initial password").fill(PASSWORD)
    admin.click("[data-testid=create-user-submit]")
    expect(admin.locator("[data-error-for=time_zone]")).to_contain_text("not a time zone")
    expect(form.get_by_label("Username", exact=True)).to_have_value("sponsor9")
    form.get_by_label("Time zone").fill("Asia/Shanghai")
    form.get_by_label("Initial password").fill(PASSWORD)
    admin.click("[data-testid=create-user-submit]")
    expect(admin.locator("[data-testid=flash]")).to_contain_text("User sponsor9 was created.")
    expect(admin.locator("[data-testid=admin-user-name]")).to_contain_text("Gao Lin (Sponsor)")

    grant = admin.locator("[data-testid=grant-role]")
    grant.get_by_label("Role", exact=True).select_option("sponsor")
    grant.get_by_label("Project").select_option(label=f"{CODE} — {TITLE}")
    admin.click("[data-testid=grant-role-submit]")
    held = admin.locator("[data-testid=project-roles] li")
    expect(held).to_have_count(1)
    expect(held).to_contain_text(f"Project sponsor · {CODE} — {TITLE}")

    start_closure(pmo_page("pm1"))

    context = browser.new_context(base_url=pmo_server)
    sponsor = context.new_page()
    sign_in(sponsor, "sponsor9", PASSWORD)
    expect(sponsor.locator("[data-testid=whoami]")).to_contain_text("Gao Lin (Sponsor)")
    sponsor.goto("/tasks?tab=claimable")
    row = sponsor.locator("[data-testid=task-row]", has_text=REQUEST)
    expect(row).to_contain_text("Sign off acceptance")
    row.locator("[data-testid=task-link]").click()
    expect(sponsor.locator("[data-testid=task-name]")).to_have_text("Sign off acceptance")

    admin.locator("[data-testid=set-active]").get_by_label("Reason (optional)").fill(
        "moved to another company")
    admin.click("[data-testid=deactivate]")
    expect(admin.locator("[data-testid=user-status]")).to_have_text("Deactivated")
    expect(admin.locator("[data-testid=admin-change]").first).to_contain_text(
        "User deactivated")
    expect(admin.locator("[data-testid=admin-change]").first).to_contain_text(
        "moved to another company")

    sponsor.goto("/tasks")
    expect(sponsor).to_have_url(f"{pmo_server}/login?next=%2Ftasks")
    sign_in(sponsor, "sponsor9", PASSWORD)
    expect(sponsor.locator("[role=alert]")).to_contain_text("Wrong username or password.")

    admin.goto("/admin")
    changes = admin.locator("[data-testid=admin-change]")
    expect(changes.nth(0)).to_have_attribute("data-kind", "user.deactivated")
    expect(changes.nth(1)).to_have_attribute("data-kind", "project_role.granted")
    expect(changes.nth(2)).to_have_attribute("data-kind", "user.created")
    context.close()


def test_the_admins_full_menu_fits_1280_pixels_in_both_languages(pmo_page):
    """The longest menu (an administrator: Rules, Admin, the PMO menu with Operations and
    the dashboard) stays on one line without a sideways scroll at 1280 px."""
    admin = pmo_page("admin")
    for lang in ("en", "zh"):
        admin.goto("/admin")
        admin.click(f"[data-testid=lang-{lang}]")
        admin.wait_for_load_state()
        assert admin.evaluate("document.documentElement.scrollWidth") <= 1280, lang
        signout = admin.locator("form[action$='/logout'] button").bounding_box()
        assert signout is not None and signout["x"] + signout["width"] <= 1280, lang
    # from 1400 px (Bootstrap's xxl) the signed-in name came back and pushed 'Sign out'
    # past the edge until about 1450 px
    admin.click("[data-testid=lang-en]")
    for width in (1400, 1450, 1500):
        admin.set_viewport_size({"width": width, "height": 900})
        admin.goto("/admin")
        assert admin.evaluate("document.documentElement.scrollWidth") <= width, width
