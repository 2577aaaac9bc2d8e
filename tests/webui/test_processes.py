"""Starting a request: the catalog, the start form with every widget, errors, diagrams."""

from __future__ import annotations

import re

from lxml import etree

from tests.support import instance_data
from tests.webui.conftest import login, one, parse_html, post

BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"


def test_catalog_lists_only_what_the_user_may_start(client):
    login(client, "pm1")
    html = client.get("/processes").get_data(as_text=True)
    assert 'data-testid="start-approval3"' in html and 'data-testid="start-widgets"' in html
    assert "Three-step approval" in html
    client2 = client.application.test_client()
    login(client2, "reviewer1")
    assert 'data-testid="catalog-empty"' in client2.get("/processes").get_data(as_text=True)


def test_start_form_renders_every_widget(client):
    login(client, "pm1")
    html = client.get("/processes/widgets/start").get_data(as_text=True)
    d = parse_html(html)
    assert "Project proposal" in one(d, '//h2[@id="form-title"]').text
    assert one(d, '//input[@id="f-title"]').get("type") == "text"
    assert one(d, '//textarea[@id="f-business_case"]').get("maxlength") == "4000"
    assert one(d, '//*[@id="f-business_case-help"]').text == "Why this project, and why now."
    currency = one(d, '//select[@id="f-budget-currency"]')
    assert currency.get("name") == "budget.currency"
    assert currency.xpath("option[@selected]/@value") == ["CNY"]  # the schema's default
    amount = one(d, '//input[@id="f-budget-amount"]')
    assert amount.get("name") == "budget.amount" and amount.get("inputmode") == "decimal"
    category = one(d, '//select[@id="f-category"]')
    assert category.xpath("option/text()")[1:] == ["IT", "Construction", "R&D", "Compliance",
                                                  "Other"]
    assert one(d, '//input[@id="f-risk-1"]').attrib["type"] == "radio"
    assert d.xpath('//input[@name="risk"]/@value') == ["low", "medium", "high"]
    roi = one(d, '//input[@id="f-roi"]')
    assert (roi.get("type"), roi.get("min"), roi.get("max"), roi.get("step")) == (
        "number", "0", "1000", "any")
    assert one(d, '//input[@id="f-headcount"]').get("step") == "1"
    assert one(d, '//input[@id="f-start"]').get("type") == "date"
    assert one(d, '//input[@id="f-multi_department"]').get("type") == "checkbox"
    sponsors = one(d, '//select[@id="f-sponsor"]').xpath("option/@value")
    assert "sponsor1" in sponsors and "pm1" not in sponsors
    assert d.xpath('//input[@name="departments"]/@value') == ["IT", "Finance", "Operations",
                                                              "HR"]
    assert d.xpath('//input[@name="departments"]/@type') == ["checkbox"] * 4
    assert one(d, '//input[@id="f-tags"]').get("name") == "tags"
    assert d.xpath('//tbody//input[@name="milestones.0.name"]')
    assert not d.xpath('//input[@name="milestones.1.name"]')
    assert 'name="milestones.__i__.name"' in html  # the row template for "Add row"
    charter = one(d, '//input[@id="f-charter"]')
    assert charter.get("type") == "file" and charter.get("disabled") is None
    assert len(d.xpath('//span[@class="text-danger" and text()="*"]')) >= 3


def test_every_input_has_a_label(client):
    login(client, "pm1")
    html = client.get("/processes/widgets/start").get_data(as_text=True)
    form = html[html.index('data-testid="start-form"'):]
    form = form[:form.index("<template>")] + form[form.index("</template>"):]
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', form)
    labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', form))
    assert ids and [i for i in ids if i not in labelled] == []


def test_start_with_errors_per_field(client):
    login(client, "pm1")
    response = post(client, "/processes/approval3/start", {"title": "", "budget": "-5",
                                                           "start": "2026-13-40"},
                    token_from="/processes/approval3/start")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'data-error-for="title">This field is required.' in html
    assert 'data-error-for="budget">Must be at least 0.' in html
    assert 'data-error-for="start">Must be a valid date (YYYY-MM-DD).' in html
    assert 'value="-5"' in html


def test_start_success_redirects_to_the_instance_with_a_flash(client, arrange):
    login(client, "pm1")
    response = post(client, "/processes/approval3/start",
                    {"title": "Tower upgrade", "budget": "1200.5", "start": "2026-04-01"},
                    token_from="/processes/approval3/start")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert re.fullmatch(r"/instances/\d+", location)
    html = client.get(location).get_data(as_text=True)
    assert "Your request “Tower upgrade” was submitted" in html
    assert 'data-testid="instance-title">Tower upgrade<' in html
    task = arrange.task(int(location.rsplit("/", 1)[1]))
    assert task.element_id == "review"


def test_start_widgets_with_every_kind_of_value(client, app):
    login(client, "pm1")
    response = post(client, "/processes/widgets/start", [
        ("title", "Robots"), ("budget.amount", "1,250,000"), ("budget.currency", "USD"),
        ("category", "rnd"), ("risk", "high"), ("roi", "12.5"), ("headcount", "4"),
        ("start", "2026-05-04"), ("multi_department", "on"), ("sponsor", "sponsor1"),
        ("departments", "IT"), ("departments", "HR"), ("tags", "robots, 仓储"),
        ("milestones.0.name", "Pilot"), ("milestones.0.weeks", "6"),
        ("milestones.1.name", ""), ("milestones.4.name", "Scale"),
    ], token_from="/processes/widgets/start")
    assert response.status_code == 302
    instance_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        from webui.extensions import db

        data = instance_data(app.extensions["pmoflow"].engine, db.session, instance_id)
    assert data["budget"] == {"amount": "1250000", "currency": "USD"}
    assert data["roi"] == 12.5 and data["headcount"] == 4 and data["multi_department"] is True
    assert data["departments"] == ["IT", "HR"] and data["tags"] == ["robots", "仓储"]
    assert data["milestones"] == [{"name": "Pilot", "weeks": 6}, {"name": "Scale"}]
    assert "business_case" not in data and "charter" not in data


def test_start_needs_the_start_role(client):
    login(client, "reviewer1")
    assert client.get("/processes/approval3/start").status_code == 403
    assert post(client, "/processes/approval3/start", {"title": "x", "budget": "1"}
                ).status_code == 403


def test_unknown_process_is_404(client):
    login(client, "pm1")
    assert client.get("/processes/nope/start").status_code == 404


def test_start_form_in_chinese(client):
    login(client, "pm1")
    post(client, "/language", {"lang": "zh"}, token_from="/")
    html = client.get("/processes/widgets/start").get_data(as_text=True)
    assert "立项申请" in html and "项目名称" in html and "为什么要做这个项目" in html
    assert ">信息技术<" in html and ">高<" in html


def test_diagram_source_gets_a_drawing_and_is_never_rendered(client, arrange):
    inst = arrange.start()
    login(client, "pm1")
    response = client.get(f"/definitions/{inst.definition_id}/diagram.bpmn")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    root = etree.fromstring(response.data)
    shapes = {s.get("bpmnElement") for s in root.iter(f"{{{BPMNDI}}}BPMNShape")}
    assert {"start", "review", "gw_review", "revise", "approve", "end_ok"} <= shapes
    assert client.get("/definitions/999/diagram.bpmn").status_code == 404
    anonymous = client.application.test_client()
    assert anonymous.get(f"/definitions/{inst.definition_id}/diagram.bpmn").status_code == 302


def test_a_process_without_start_form_or_start_role(client, app):
    from engine.spiff.bundle import SourceFile
    from tests.webui.test_reads import OPEN_TO_ALL
    from webui.extensions import db

    with app.app_context():
        app.extensions["pmoflow"].engine.deploy(
            db.session, [SourceFile("suggest.bpmn", OPEN_TO_ALL)], "owner1")
    login(client, "team1")
    assert 'data-testid="start-suggest"' in client.get("/processes").get_data(as_text=True)
    page = client.get("/processes/suggest/start").get_data(as_text=True)
    assert "This process needs no information to start." in page
    response = post(client, "/processes/suggest/start", token_from="/processes/suggest/start")
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="instance-title">Suggestion box<' in html and "Read it" in html
