"""The importer on small diagrams: what each Camunda construct becomes, in the report's
words, and bad input (broken XML, entities, huge files, unknown extensions) handled."""

from __future__ import annotations

import pytest

from engine.camunda7 import convert as convert_module
from engine.camunda7 import import_camunda
from engine.spiff.bundle import CheckContext, SourceFile, analyze

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"


def diagram(body: str, *, extra_ns: str = "") -> bytes:
    """A Camunda 7 BPMN file with one executable process ``p`` holding ``body``."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
        f'    xmlns:camunda="{CAMUNDA}" {extra_ns}\n'
        '    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d"\n'
        '    targetNamespace="http://bpmn.io/schema/bpmn">\n'
        '  <bpmn:process id="p" name="P" isExecutable="true">\n'
        f"{body}\n"
        "  </bpmn:process>\n"
        "</bpmn:definitions>\n"
    ).encode()


def line(source: str, target: str, fid: str = "", condition: str = "") -> str:
    fid = fid or f"f_{source}_{target}"
    if not condition:
        return f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}"/>'
    return (f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}">'
            f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
            "</bpmn:conditionExpression></bpmn:sequenceFlow>")


def around(task: str, task_id: str = "t") -> str:
    """start -> ``task`` -> end."""
    return "\n".join([
        '    <bpmn:startEvent id="s"/>', task, '    <bpmn:endEvent id="e"/>',
        line("s", task_id), line(task_id, "e"),
    ])


def run(files: dict[str, bytes], **kw):
    kw.setdefault("known_roles", {"pm", "pmo_head"})
    kw.setdefault("known_operations", {"send_mail"})
    return import_camunda(files, **kw)


def deploys(result) -> bool:
    ctx = CheckContext(known_operations=frozenset({"send_mail"}),
                       known_roles=frozenset({"pm", "pmo_head"}))
    bundle = analyze([SourceFile(n, c) for n, c in result.files.items()], ctx)
    return bundle.problems == []


def test_java_delegate_is_reported_in_camundas_words_and_bound_when_the_owner_picks():
    task = ('    <bpmn:serviceTask id="t" name="Notify" camunda:class="com.acme.Mail"/>')
    result = run({"a.bpmn": diagram(around(task))})
    [entry] = [e for e in result.report if e.element_id == "t"]
    assert entry.message == "camunda:class=com.acme.Mail on 'Notify': bind it to an operation or remove it"
    assert (entry.outcome, entry.construct, entry.line) == ("cannot_run", "camunda:class", 8)
    assert result.services[0].value == "com.acme.Mail" and result.services[0].operation is None
    assert result.status == {"a.bpmn": "cannot_run"}

    bound = run({"a.bpmn": diagram(around(task))}, operations={"t": "send_mail"})
    assert bound.status == {"a.bpmn": "converted"}
    assert b'serviceTaskOperator id="send_mail"' in bound.files["a.bpmn"]
    assert deploys(bound)

    unknown = run({"a.bpmn": diagram(around(task))}, operations={"t": "nope"})
    assert "is bound to operation 'nope', which is not registered" in unknown.report[0].message


@pytest.mark.parametrize(("attrs", "construct", "value"), [
    ('camunda:delegateExpression="${mailer}"', "camunda:delegateExpression", "${mailer}"),
    ('camunda:expression="${mailer.send(x)}"', "camunda:expression", "${mailer.send(x)}"),
    ('camunda:type="external" camunda:topic="mail"', "camunda:type=external", "mail"),
])
def test_other_service_kinds_need_an_operation(attrs, construct, value):
    task = f'    <bpmn:serviceTask id="t" name="Notify" {attrs}/>'
    result = run({"a.bpmn": diagram(around(task))})
    entry = next(e for e in result.report if e.element_id == "t")
    assert entry.construct == construct and entry.outcome == "cannot_run"
    assert entry.message == f"{construct}={value} on 'Notify': bind it to an operation or remove it"


def test_groovy_and_javascript_need_a_rewrite_never_a_python_syntax_error():
    body = "\n".join([
        '    <bpmn:startEvent id="s"/>',
        '    <bpmn:scriptTask id="g" name="Calc" scriptFormat="groovy">'
        "<bpmn:script>def x = 1; println x</bpmn:script></bpmn:scriptTask>",
        '    <bpmn:scriptTask id="j" scriptFormat="javascript">'
        "<bpmn:script>var a = execution.getVariable('a');</bpmn:script></bpmn:scriptTask>",
        '    <bpmn:exclusiveGateway id="gw" default="f_gw_e"/>',
        '    <bpmn:endEvent id="e"/>',
        line("s", "g"), line("g", "j"), line("j", "gw"), line("gw", "e"),
        line("gw", "e", "f2", condition="${a.size() &gt; 2}"),
    ])
    result = run({"a.bpmn": diagram(body)})
    by_id = {e.element_id: e for e in result.report}
    assert by_id["g"].message == (
        "scriptFormat=groovy on 'Calc': rewrite the script in Python (the original is kept in "
        "the script as comments)")
    assert by_id["j"].outcome == "cannot_run"
    assert "method call '.size(...)' is not translated" in by_id["f2"].message
    assert not any("SyntaxError" in e.message or "does not compile" in e.message
                   for e in result.report)
    assert b"# def x = 1; println x" in result.files["a.bpmn"]


def test_assignment_groups_to_roles_unknown_groups_listed():
    body = around('    <bpmn:userTask id="t" name="Approve" '
                  'camunda:candidateGroups="management, accounting" camunda:assignee="${boss}"/>')
    result = run({"a.bpmn": diagram(body)}, group_roles={"management": "pmo_head"})
    assert result.groups == {"management": "pmo_head", "accounting": None}
    assert result.unknown_groups == ("accounting",)
    messages = {e.construct: e for e in result.report}
    assert messages["camunda:candidateGroups"].outcome == "needs_decision"
    assert "it goes to 'pmo_head' (accounting dropped)" in messages["camunda:candidateGroups"].message
    assert messages["camunda:assignee"].outcome == "converted"
    xml = result.files["a.bpmn"]
    assert b'name="role" value="pmo_head"' in xml and b'name="assignee" value="boss"' in xml
    assert deploys(result)

    nobody = run({"a.bpmn": diagram(around('    <bpmn:userTask id="t" name="Approve"/>'))})
    assert nobody.report[0].outcome == "cannot_run"
    assert "choose the PMOflow role that does this task" in nobody.report[0].message


def test_generated_form_becomes_a_json_schema_and_embedded_forms_are_listed():
    fields = ('<bpmn:extensionElements><camunda:formData>'
              '<camunda:formField id="amount" label="Amount" type="long">'
              '<camunda:validation><camunda:constraint name="required"/>'
              '<camunda:constraint name="max" config="500"/></camunda:validation>'
              '</camunda:formField>'
              '<camunda:formField id="kind" label="Kind" type="enum">'
              '<camunda:value id="a" name="Alpha"/><camunda:value id="b" name="Beta"/>'
              '</camunda:formField></camunda:formData></bpmn:extensionElements>')
    body = around(f'    <bpmn:userTask id="t" camunda:candidateGroups="pm">{fields}'
                  "</bpmn:userTask>")
    result = run({"a.bpmn": diagram(body)})
    import json
    schema = json.loads(result.files["forms/a-t.schema.json"])
    assert schema["required"] == ["amount"]
    assert schema["properties"]["amount"] == {
        "type": "integer", "title": "Amount", "x-title-zh": "Amount", "maximum": 500}
    assert schema["properties"]["kind"]["enum"] == ["a", "b"]
    assert deploys(result)

    embedded = around('    <bpmn:userTask id="t" camunda:candidateGroups="pm" '
                      'camunda:formKey="embedded:app:forms/approve.html"/>')
    result = run({"a.bpmn": diagram(embedded)})
    entry = next(e for e in result.report if e.construct == "camunda:formKey")
    assert entry.outcome == "needs_decision" and "needs a form" in entry.message
    assert deploys(result)


@pytest.mark.parametrize(("kind", "value", "outcome", "expected"), [
    ("timeDuration", "PT5M", "converted", "'PT5M'"),
    ("timeDate", "2030-01-31T17:00:00", "converted", "'2030-01-31T17:00:00'"),
    ("timeCycle", "R3/PT10H", "converted", "'R3/PT10H'"),
    ("timeCycle", "0 0/5 * * * ?", "converted", "'R/PT5M'"),
    ("timeCycle", "0 0 9 * * MON-FRI", "cannot_run", None),
    ("timeDuration", "${wait}", "converted", "wait"),
    ("timeDuration", "three days", "cannot_run", None),
])
def test_timers(kind, value, outcome, expected):
    body = "\n".join([
        '    <bpmn:startEvent id="s"/>',
        f'    <bpmn:intermediateCatchEvent id="w"><bpmn:timerEventDefinition><bpmn:{kind}>'
        f"{value}</bpmn:{kind}></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
        '    <bpmn:endEvent id="e"/>', line("s", "w"), line("w", "e"),
    ])
    result = run({"a.bpmn": diagram(body)})
    [entry] = result.report
    assert (entry.construct, entry.outcome) == (kind, outcome)
    if expected is not None:
        assert f"<bpmn:{kind}>{expected}</bpmn:{kind}>".encode() in result.files["a.bpmn"]
        assert deploys(result)


def test_dmn_with_two_decisions_becomes_two_deployable_tables():
    dmn = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/DMN/20151101/dmn.xsd" id="d" name="D" namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="vip" name="VIP">
    <decisionTable id="t1" hitPolicy="FIRST">
      <input id="i1" label="Status"><inputExpression id="e1" typeRef="string"><text>status</text></inputExpression></input>
      <output id="o1" name="vip" typeRef="boolean"/>
      <rule id="r1"><inputEntry id="u1"><text>"gold","platinum"</text></inputEntry><outputEntry id="x1"><text>true</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="u2"><text></text></inputEntry><outputEntry id="x2"><text>false</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="perks" name="Perks">
    <informationRequirement><requiredDecision href="#vip"/></informationRequirement>
    <decisionTable id="t2">
      <input id="i2" label="VIP"><inputExpression id="e2" typeRef="boolean"><text>vip</text></inputExpression></input>
      <input id="i3" label="Nights"><inputExpression id="e3" typeRef="integer"><text>nights</text></inputExpression></input>
      <output id="o2" name="perk" typeRef="string"/>
      <rule id="r3"><inputEntry id="u3"><text>true</text></inputEntry><inputEntry id="u4"><text>[3..10]</text></inputEntry><outputEntry id="x3"><text>"lounge"</text></outputEntry></rule>
      <rule id="r4"><inputEntry id="u5"><text>false</text></inputEntry><inputEntry id="u6"><text>-</text></inputEntry><outputEntry id="x4"><text>"none"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""
    task = ('    <bpmn:businessRuleTask id="t" name="Perks" camunda:decisionRef="perks" '
            'camunda:resultVariable="perk_result" camunda:mapDecisionResult="singleEntry"/>')
    result = run({"hotel.dmn": dmn, "a.bpmn": diagram(around(task))})
    assert sorted(n for n in result.files if n.endswith(".dmn")) == [
        "hotel.perks.dmn", "hotel.vip.dmn"]
    assert result.status == {"hotel.dmn": "needs_decision", "a.bpmn": "converted"}
    assert b"<spiffworkflow:calledDecisionId>vip</spiffworkflow:calledDecisionId>" in (
        result.files["a.bpmn"])
    assert b"perk_result = perk" in result.files["a.bpmn"]
    assert deploys(result)


def test_bad_input_is_reported_per_file_and_the_rest_converts():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><bpmn:definitions '
            b'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol2;</bpmn:definitions>')
    good = diagram(around('    <bpmn:userTask id="t" camunda:candidateGroups="pm"/>'))
    result = run({
        "broken.bpmn": b"<bpmn:definitions><bpmn:process>",
        "bomb.bpmn": bomb,
        "huge.bpmn": b"<a>" + b" " * 6_000_000 + b"</a>",
        "other.bpmn": b'<?xml version="1.0"?><html><body/></html>',
        "empty.dmn": b"",
        "good.bpmn": good,
    })
    assert result.status == {
        "broken.bpmn": "cannot_run", "bomb.bpmn": "cannot_run", "huge.bpmn": "cannot_run",
        "other.bpmn": "cannot_run", "empty.dmn": "cannot_run", "good.bpmn": "converted"}
    by_file = {e.file: e.message for e in result.report}
    assert "not well-formed XML" in by_file["broken.bpmn"]
    assert "DOCTYPE declarations are not allowed" in by_file["bomb.bpmn"]
    assert "too large" in by_file["huge.bpmn"]
    assert "not a BPMN or DMN file" in by_file["other.bpmn"]
    assert "empty" in by_file["empty.dmn"]
    assert set(result.files) == {"good.bpmn"}
    assert result.summary == "converted=1 needs_decision=0 cannot_run=5 crashed=0"


def test_unknown_extensions_are_dropped_or_kept_without_a_crash():
    task = ('    <bpmn:userTask id="t" camunda:candidateGroups="pm" camunda:fancy="1" '
            'acme:x="y"><bpmn:extensionElements><camunda:somethingNew a="b"/>'
            "<acme:meta>kept</acme:meta></bpmn:extensionElements></bpmn:userTask>")
    result = run({"a.bpmn": diagram(around(task), extra_ns='xmlns:acme="urn:acme"')})
    dropped = {e.construct for e in result.report if e.outcome == "needs_decision"}
    assert dropped == {"camunda:fancy", "camunda:somethingNew"}
    assert b"camunda" not in result.files["a.bpmn"]
    assert b"<acme:meta>kept</acme:meta>" in result.files["a.bpmn"]
    assert deploys(result)


def test_an_importer_bug_marks_only_that_file_crashed(monkeypatch):
    def explode(self):
        raise RuntimeError("boom")

    good = diagram(around('    <bpmn:userTask id="t" camunda:candidateGroups="pm"/>'))
    real = convert_module.BpmnConverter.run
    calls = []

    def flaky(self):
        calls.append(self.report.file)
        return explode(self) if self.report.file == "bad.bpmn" else real(self)

    monkeypatch.setattr(convert_module.BpmnConverter, "run", flaky)
    result = run({"bad.bpmn": good, "good.bpmn": good.replace(b'id="p"', b'id="q"')})
    assert result.status == {"bad.bpmn": "crashed", "good.bpmn": "converted"}
    assert result.summary.endswith("crashed=1")
    assert "RuntimeError: boom" in result.entries_for("bad.bpmn")[0].message


def test_report_is_sorted_by_file_and_line():
    body = "\n".join([
        '    <bpmn:startEvent id="s"/>',
        '    <bpmn:userTask id="t1" camunda:candidateGroups="pm"/>',
        '    <bpmn:userTask id="t2" camunda:candidateGroups="nobody"/>',
        '    <bpmn:endEvent id="e"/>', line("s", "t1"), line("t1", "t2"), line("t2", "e"),
    ])
    result = run({"b.bpmn": diagram(body), "a.bpmn": diagram(body)})
    keys = [(e.file, e.line) for e in result.report]
    assert keys == sorted(keys) and keys[0][0] == "a.bpmn"
