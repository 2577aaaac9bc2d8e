"""A charter PDF in Chromium: the PM uploads it on the start form, the reviewer downloads it."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


def test_pm_uploads_a_charter_and_the_reviewer_downloads_it(new_page, tmp_path: Path):
    charter = tmp_path / "charter.pdf"
    charter.write_bytes(PDF)
    pm = new_page("pm1")
    pm.goto("/processes/widgets/start")
    pm.fill("#f-title", "Warehouse robots")
    pm.fill("#f-budget-amount", "250000")
    pm.select_option("#f-category", "it")
    pm.set_input_files("#f-charter", str(charter))
    pm.click("[data-testid=submit]")
    expect(pm.locator("[data-testid=flash]")).to_contain_text(
        "Your request “Warehouse robots” was submitted")
    expect(pm.locator("[data-testid=summary] [data-testid=attachment-link]")).to_have_text(
        "charter.pdf")

    reviewer = new_page("reviewer1")
    reviewer.goto("/tasks?tab=claimable")
    row = reviewer.locator("[data-testid=task-row]", has_text="Warehouse robots")
    row.locator("[data-testid=task-link]").click()
    link = reviewer.locator("[data-testid=summary] [data-testid=attachment-link]")
    expect(link).to_have_text("charter.pdf")
    with reviewer.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "charter.pdf"
    assert Path(download.path()).read_bytes() == PDF


def test_a_file_is_kept_after_an_error_in_the_browser(new_page, tmp_path: Path):
    charter = tmp_path / "项目章程.pdf"
    charter.write_bytes(PDF)
    pm = new_page("pm1")
    pm.goto("/processes/widgets/start")
    pm.set_input_files("#f-charter", str(charter))
    pm.click("[data-testid=submit]")
    expect(pm.locator("[data-error-for=title]")).to_have_text("This field is required.")
    kept = pm.locator("[data-field=charter] [data-testid=kept-file]")
    expect(kept).to_contain_text("项目章程.pdf")
    pm.fill("#f-title", "Warehouse robots")
    pm.fill("#f-budget-amount", "1000")
    pm.select_option("#f-category", "it")
    pm.click("[data-testid=submit]")
    expect(pm.locator("[data-testid=flash]")).to_contain_text("was submitted")
    link = pm.locator("[data-testid=summary] [data-testid=attachment-link]")
    expect(link).to_have_text("项目章程.pdf")
    with pm.expect_download() as info:
        link.click()
    assert info.value.suggested_filename == "项目章程.pdf"
