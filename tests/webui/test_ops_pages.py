"""The ops console pages: PMO administrator only (403 for others), each action through
its form, a stale page is a 409 saying what changed, bad input names the field."""

from __future__ import annotations

from tests.webui.conftest import login, one, parse_html, post


def page(client, iid: int):
    return client.get(f"/ops/instances/{iid}")


def revision_on(client, iid: int) -> str:
    doc = parse_html(page(client, iid).data)
    return one(doc, "//form[@data-testid='suspend-form']//input[@name='revision']").get("value")


def test_only_the_pmo_admin_sees_the_console(client, arrange):
    iid = arrange.start().id
    login(client, "pmohead")
    assert client.get("/ops").status_code == 403
    assert page(client, iid).status_code == 403
    assert post(client, f"/ops/instances/{iid}/suspend", {"reason": "x"},
                token_from="/").status_code == 403
    assert 'data-testid="nav-ops"' not in client.get("/").get_data(as_text=True)
    client.get("/logout")
    login(client, "admin")
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="nav-ops"' in home
    listing = client.get("/ops?status=running")
    assert listing.status_code == 200
    doc = parse_html(listing.data)
    assert [r.get("data-id") for r in doc.xpath("//tr[@data-testid='ops-row']")] == [str(iid)]
    found = parse_html(client.get(f"/ops?q={iid}").data)
    assert len(found.xpath("//tr[@data-testid='ops-row']")) == 1
    none = parse_html(client.get("/ops?requester=nobody").data)
    assert none.xpath("//*[@data-testid='ops-empty']")


def test_suspend_resume_and_a_stale_page_is_a_409_saying_what_changed(client, arrange):
    iid = arrange.start().id
    login(client, "admin")
    seen = revision_on(client, iid)
    arrange.complete(arrange.task(iid, "review").id, "reviewer1", {"decision": "accept"})
    stale = post(client, f"/ops/instances/{iid}/suspend",
                 {"reason": "budget freeze", "revision": seen}, token_from="/ops")
    assert stale.status_code == 409
    text = stale.get_data(as_text=True)
    assert "changed after you opened the page" in text and "reviewer1" in text
    assert "Approve" in text  # where it is now
    with arrange.app.app_context():
        from webui.extensions import db
        assert arrange.engine.instance(db.session, iid).status == "running"

    fresh = revision_on(client, iid)
    done = post(client, f"/ops/instances/{iid}/suspend",
                {"reason": "budget freeze", "revision": fresh}, token_from="/ops")
    assert done.status_code == 302
    shown = page(client, iid).get_data(as_text=True)
    assert 'data-testid="resume-form"' in shown and "budget freeze" in shown
    doc = parse_html(shown)
    rev = one(doc, "//form[@data-testid='resume-form']//input[@name='revision']").get("value")
    assert post(client, f"/ops/instances/{iid}/resume", {"revision": rev},
                token_from="/ops").status_code == 302


def test_bad_input_names_the_field_and_changes_nothing(client, arrange):
    iid = arrange.start().id
    login(client, "admin")
    rev = revision_on(client, iid)
    missing = post(client, f"/ops/instances/{iid}/move-token",
                   {"from_element": "review", "to_element": "approve", "reason": "",
                    "revision": rev}, token_from="/ops")
    assert missing.status_code == 422
    doc = parse_html(missing.data)
    assert one(doc, "//*[@data-testid='error-move-reason']").text
    nowhere = post(client, f"/ops/instances/{iid}/move-token",
                   {"from_element": "review", "to_element": "gw_review", "reason": "skip",
                    "revision": rev}, token_from="/ops")
    assert nowhere.status_code == 422
    error = one(parse_html(nowhere.data), "//*[@data-testid='error-move-to_element']").text
    assert "gw_review" in error
    no_reason = post(client, f"/ops/instances/{iid}/cancel", {"reason": " ", "revision": rev},
                     token_from="/ops")
    assert no_reason.status_code == 422
    moved = post(client, f"/ops/instances/{iid}/move-token",
                 {"from_element": "review", "to_element": "approve", "reason": "checked by phone",
                  "revision": rev}, token_from="/ops")
    assert moved.status_code == 302
    assert [t.element_id for t in arrange.tasks(iid, "open")] == ["approve"]
    done = post(client, f"/ops/instances/{iid}/cancel", {"reason": "duplicate"},
                token_from="/ops")
    assert done.status_code == 302
    again = post(client, f"/ops/instances/{iid}/suspend", {"reason": "late"}, token_from="/ops")
    assert again.status_code == 409
    assert "already cancelled" in again.get_data(as_text=True) or "cancelled" in \
        again.get_data(as_text=True)


def test_a_batch_moves_to_a_newer_version_and_names_who_stays(client, arrange):
    from engine.spiff.bundle import SourceFile
    from tests.engine.driver import HERE
    from webui.extensions import db

    moving, cancelled = arrange.start().id, arrange.start().id
    xml = (HERE / "approval3.bpmn").read_text().replace('name="Approve"', 'name="Approve it"')
    with arrange.app.app_context():
        arrange.engine.ops_cancel(db.session, "admin", cancelled, "duplicate")
        forms = [SourceFile(f"forms/{p.name}", p.read_bytes())
                 for p in sorted((HERE / "forms").glob("*.json"))]
        [v2] = arrange.engine.deploy(db.session, [SourceFile("approval3.bpmn", xml.encode()),
                                                  *forms], "admin").processes
    login(client, "admin")
    listing = parse_html(client.get("/ops?process=approval3").data)
    assert one(listing, "//select[@id='batch-version']/option[1]").get("value") == str(v2.id)
    done = post(client, "/ops/migrate", [("instance_ids", str(moving)),
                                         ("instance_ids", str(cancelled)),
                                         ("definition_id", str(v2.id)),
                                         ("reason", "renamed the approval"),
                                         ("next", "/ops?process=approval3")], token_from="/ops")
    assert done.status_code == 302 and done.headers["Location"].endswith(
        "/ops?process=approval3")
    shown = client.get("/ops?process=approval3").get_data(as_text=True)
    assert f"#{moving}" in shown and "moved to version 2" in shown
    assert f"#{cancelled} stays" in shown and "already cancelled" in shown
    with arrange.app.app_context():
        assert arrange.engine.instance(db.session, moving).definition_version == 2
        assert arrange.engine.instance(db.session, cancelled).definition_version == 1
    no_reason = post(client, "/ops/migrate", [("instance_ids", str(moving)),
                                              ("definition_id", str(v2.id)), ("reason", "")],
                     token_from="/ops")
    assert no_reason.status_code == 302
    flash = parse_html(client.get("/ops").data).xpath("//*[@data-testid='flash']")
    assert len(flash) == 1 and "alert-danger" in flash[0].get("class")
    with arrange.app.app_context():
        assert arrange.engine.instance(db.session, moving).revision == 2  # not moved again


def test_the_console_speaks_chinese(client, arrange):
    iid = arrange.start().id
    login(client, "admin")
    post(client, "/language", {"lang": "zh"}, token_from="/")
    listing = client.get("/ops").get_data(as_text=True)
    assert "按状态查看所有申请" in listing and "有事件" in listing
    shown = page(client, iid).get_data(as_text=True)
    assert "移动令牌" in shown and "暂停原因" in shown and "等待位置" in shown
    missing = post(client, f"/ops/instances/{iid}/move-token",
                   {"from_element": "review", "to_element": "nowhere", "reason": "x"},
                   token_from="/ops")
    assert missing.status_code == 422
    error = one(parse_html(missing.data), "//*[@data-testid='error-move-to_element']").text
    assert "nowhere" in error and "没有元素" in error
