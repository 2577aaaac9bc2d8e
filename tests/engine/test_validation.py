"""Deploy-time validation: one small diagram per check, and hostile files.

Each test asserts the exact element id, the line in the file and a fragment of the
message a process owner pages.  The helpers at the top build inline BPMN/DMN (also used
by ``test_bundle.py``).
"""

from __future__ import annotations

import itertools

import pytest

from engine.errors import InvalidDiagram, Problem
from engine.spiff.bpmn_markup import find_overlaps, read_decision
from engine.spiff.bundle import CheckContext, SourceFile, analyze, build_spec
from engine.spiff.xmlsafe import DEFAULT_MAX_BYTES, parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


# -- builders ---------------------------------------------------------------------------
def bpmn(body: str, *, process: str = 'id="p" name="Test" isExecutable="true"',
         before: str = "") -> bytes:
    """A BPMN file with one process holding ``body`` (``before``: root-level elements)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}" xmlns:spiffworkflow="{SPIFF_NS}"\n'
        '    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"\n'
        '    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"\n'
        '    id="defs" targetNamespace="http://pmoflow/test">\n'
        f"{before}"
        f"  <bpmn:process {process}>\n{body}\n  </bpmn:process>\n"
        "</bpmn:definitions>\n"
    ).encode()


def lane(name: str, *nodes: str) -> str:
    """A laneSet with one lane called ``name`` holding ``nodes``."""
    refs = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in nodes)
    return (f'    <bpmn:laneSet id="ls_{name}"><bpmn:lane id="lane_{name}" name="{name}">'
            f"{refs}</bpmn:lane></bpmn:laneSet>")


def flow(flow_id: str, source: str, target: str, condition: str | None = None,
         name: str | None = None) -> str:
    """A sequence flow, optionally with a condition expression on its own line."""
    head = f'    <bpmn:sequenceFlow id="{flow_id}"' + (f' name="{name}"' if name else "")
    head += f' sourceRef="{source}" targetRef="{target}"'
    if condition is None:
        return head + " />"
    return (f"{head}>\n      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression>\n"
            "    </bpmn:sequenceFlow>")


def chain(*nodes: str, prefix: str = "f") -> str:
    """Flows connecting ``nodes`` in order (ids f1, f2, ...)."""
    pairs = itertools.pairwise(nodes)
    return "\n".join(flow(f"{prefix}{i}", a, b) for i, (a, b) in enumerate(pairs, 1))


def props(**values: str) -> str:
    """``extensionElements`` holding spiffworkflow properties."""
    items = "".join(f'<spiffworkflow:property name="{k}" value="{v}" />' for k, v in values.items())
    return (f"<bpmn:extensionElements><spiffworkflow:properties>{items}"
            "</spiffworkflow:properties></bpmn:extensionElements>")


def simple(middle: str = '<bpmn:task id="t" name="Task 1" />', role: str = "pm") -> str:
    """start -> t -> end, all in lane ``role``; ``middle`` replaces the task."""
    return "\n".join([
        lane(role, "start", "t", "end"),
        '    <bpmn:startEvent id="start" />',
        f"    {middle}",
        '    <bpmn:endEvent id="end" />',
        chain("start", "t", "end"),
    ])


def dmn(rules: str, *, hit: str = "UNIQUE", inputs: str | None = None,
        outputs: str = '<output id="o1" label="Approver" name="approver" />') -> bytes:
    """A DMN 1.3 file with decision ``route`` (default input: budget)."""
    inputs = inputs or ('<input id="i1" label="Budget"><inputExpression id="ie1">'
                        "<text>budget</text></inputExpression></input>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="D"\n'
        '    namespace="http://pmoflow/test">\n'
        '  <decision id="route" name="Route">\n'
        f'    <decisionTable id="table" hitPolicy="{hit}">\n'
        f"      {inputs}\n      {outputs}\n{rules}\n"
        "    </decisionTable>\n  </decision>\n</definitions>\n"
    ).encode()


def rule(rule_id: str, *cells: str, out: str = '"pmo_head"') -> str:
    """A DMN rule (one line) with the given input cells and one output cell."""
    entries = "".join(f'<inputEntry id="{rule_id}_in{i}"><text>{c}</text></inputEntry>'
                      for i, c in enumerate(cells))
    return (f'      <rule id="{rule_id}">{entries}<outputEntry id="{rule_id}_out">'
            f"<text>{out}</text></outputEntry></rule>")


def line_of(content: bytes, needle: str) -> int:
    """1-based number of the first line containing ``needle``."""
    for number, text in enumerate(content.decode("utf-8").splitlines(), 1):
        if needle in text:
            return number
    raise AssertionError(f"{needle!r} not found")


def problems_of(content: bytes, name: str = "t.bpmn", ctx: CheckContext | None = None,
                extra: tuple[SourceFile, ...] = ()) -> list[Problem]:
    """The problems analyze() reports for one file (plus ``extra`` files)."""
    return analyze([SourceFile(name, content), *extra], ctx or CheckContext()).problems


def only(problems: list[Problem], element_id: str | None) -> Problem:
    """The single problem about ``element_id`` (fails if there are none or several)."""
    found = [p for p in problems if p.element_id == element_id]
    assert len(found) == 1, problems
    return found[0]


# -- a valid diagram is clean (so every problem below comes from its one defect) --------
def test_valid_process_has_no_problems() -> None:
    assert problems_of(bpmn(simple())) == []


# -- structure --------------------------------------------------------------------------
def test_non_executable_process_is_named() -> None:
    content = bpmn(simple(), process='id="p" name="Descriptive" isExecutable="false"')
    problem = only(problems_of(content), "p")
    assert "process 'Descriptive' is marked as not executable" in problem.message
    assert problem.line == line_of(content, "<bpmn:process")


def test_root_element_must_be_bpmn_or_dmn_definitions() -> None:
    [problem] = problems_of(b"<html><body/></html>")
    assert "root element is <html>" in problem.message


def test_file_without_process() -> None:
    content = bpmn("").replace(b'<bpmn:process id="p" name="Test" isExecutable="true">', b"")
    content = content.replace(b"</bpmn:process>", b"")
    [problem] = problems_of(content)
    assert "contains no process" in problem.message


def test_unsupported_element_type() -> None:
    content = bpmn(simple('<bpmn:complexGateway id="t" name="Complex" />'))
    problem = only(problems_of(content), "t")
    assert "'complexGateway' is not supported" in problem.message
    assert problem.line == line_of(content, 'id="t"')


@pytest.mark.parametrize(("event", "kind"), [
    ('<bpmn:intermediateThrowEvent id="t"><bpmn:linkEventDefinition name="x" />'
     "</bpmn:intermediateThrowEvent>", "link events"),
    ('<bpmn:intermediateThrowEvent id="t"><bpmn:compensateEventDefinition />'
     "</bpmn:intermediateThrowEvent>", "compensate events"),
])
def test_unsupported_event_definitions(event: str, kind: str) -> None:
    problem = only(problems_of(bpmn(simple(event))), "t")
    assert f"{kind} are not supported" in problem.message


def test_signal_end_event_is_unsupported() -> None:
    body = simple().replace('<bpmn:endEvent id="end" />', '<bpmn:endEvent id="end" name="Done">'
                            "<bpmn:signalEventDefinition /></bpmn:endEvent>")
    assert "signal events are not supported" in only(problems_of(bpmn(body)), "end").message


def test_error_start_event_of_an_event_subprocess_is_refused() -> None:
    # SpiffWorkflow reads it as a plain start: the handler would run at once, error or not.
    handler = ('<bpmn:subProcess id="es" triggeredByEvent="true"><bpmn:startEvent id="es_start" '
               'name="On error"><bpmn:errorEventDefinition /></bpmn:startEvent>'
               '<bpmn:endEvent id="es_end" />' + flow("ef", "es_start", "es_end")
               + "</bpmn:subProcess>")
    problem = only(problems_of(bpmn(simple() + "\n" + handler)), "es_start")
    assert "error events are not supported by the engine as startEvent" in problem.message


def test_boundary_events_and_event_references() -> None:
    body = simple() + "\n".join([
        "",
        '<bpmn:boundaryEvent id="b1" attachedToRef="t" />',
        '<bpmn:boundaryEvent id="b2" attachedToRef="ghost"><bpmn:timerEventDefinition>'
        '<bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition>'
        "</bpmn:boundaryEvent>",
        '<bpmn:intermediateCatchEvent id="m"><bpmn:messageEventDefinition messageRef="nope" />'
        "</bpmn:intermediateCatchEvent>",
        flow("fb1", "b1", "end"), flow("fb2", "b2", "end"), flow("fm1", "t", "m"),
        flow("fm2", "m", "end"),
    ])
    problems = problems_of(bpmn(body))
    assert "a boundary event needs an event definition" in only(problems, "b1").message
    assert "is attached to 'ghost', which is not an activity" in only(problems, "b2").message
    assert "messageRef 'nope' names no message in this file" in only(problems, "m").message


def test_data_stores_are_refused() -> None:
    content = bpmn(simple(), before='  <bpmn:dataStore id="ds" name="ERP" />\n')
    problem = only(problems_of(content), "ds")
    assert problem.message == "data store 'ERP' is not supported by the engine"
    assert problem.line == line_of(content, 'id="ds"')


def _gateway(*flows: str, default: str = "") -> str:
    return "\n".join([
        lane("pm", "start", "gw", "a", "b", "end"),
        '    <bpmn:startEvent id="start" />',
        f'    <bpmn:exclusiveGateway id="gw" name="Approved?"{default} />',
        '    <bpmn:task id="a" name="A" />',
        '    <bpmn:task id="b" name="B" />',
        '    <bpmn:endEvent id="end" />',
        flow("f0", "start", "gw"), *flows, flow("fa", "a", "end"), flow("fb", "b", "end"),
    ])


def test_gateway_flows_without_conditions_and_no_default() -> None:
    content = bpmn(_gateway(flow("fy", "gw", "a", name="Yes"), flow("fn", "gw", "b", name="No")))
    problem = only(problems_of(content), "gw")
    assert problem.message == ("gateway 'Approved?' has outgoing flows without conditions and "
                               "no default: fy 'Yes', fn 'No'")
    assert problem.element_name == "Approved?"
    assert problem.line == line_of(content, 'id="gw"')


def test_gateway_with_condition_and_default_is_fine() -> None:
    body = _gateway(flow("fy", "gw", "a", "approved"), flow("fn", "gw", "b"),
                    default=' default="fn"')
    assert problems_of(bpmn(body)) == []


def test_default_flow_with_a_condition() -> None:
    body = _gateway(flow("fy", "gw", "a", "approved"), flow("fn", "gw", "b", "not approved"),
                    default=' default="fn"')
    problem = only(problems_of(bpmn(body)), "fn")
    assert "is the default flow of gateway 'Approved?' but has a condition" in problem.message


def test_default_pointing_to_a_flow_that_does_not_leave_the_gateway() -> None:
    body = _gateway(flow("fy", "gw", "a", "approved"), flow("fn", "gw", "b", "not approved"),
                    default=' default="fa"')
    assert "default flow 'fa' is not one of its outgoing flows" in only(
        problems_of(bpmn(body)), "gw").message


def test_condition_on_a_flow_from_a_task_is_ignored_by_the_engine() -> None:
    body = simple().replace(flow("f2", "t", "end"), flow("f2", "t", "end", "x > 1"))
    assert "its condition is ignored" in only(problems_of(bpmn(body)), "f2").message


def test_flow_with_missing_or_unknown_ends() -> None:
    body = simple() + '\n    <bpmn:sequenceFlow id="bad" sourceRef="t" />'
    body += '\n    <bpmn:sequenceFlow id="ghost" sourceRef="nowhere" targetRef="end" />'
    problems = problems_of(bpmn(body))
    assert "has no target (targetRef is missing)" in only(problems, "bad").message
    assert "its source 'nowhere' is not an element" in only(problems, "ghost").message


def test_unreachable_and_dead_end_elements() -> None:
    body = simple() + '\n    <bpmn:intermediateThrowEvent id="lost" name="Lost" />'
    problems = [p for p in problems_of(bpmn(body)) if p.element_id == "lost"]
    messages = sorted(p.message for p in problems)
    assert messages == ["event 'Lost' has no incoming flow: it can never be reached",
                        "event 'Lost' has no outgoing flow: add a path to an end event"]


def test_process_without_start_event() -> None:
    body = simple().replace('<bpmn:startEvent id="start" />', '<bpmn:task id="start" />')
    assert "has no start event" in only(problems_of(bpmn(body)), "p").message


def test_task_with_two_outgoing_flows_needs_a_gateway() -> None:
    body = simple() + "\n" + flow("extra", "t", "end")
    assert "has 2 outgoing flows (f2, extra)" in only(problems_of(bpmn(body)), "t").message


def test_duplicate_ids() -> None:
    content = bpmn(simple() + '\n    <bpmn:dataObject id="t" />')
    problem = only(problems_of(content), "t")
    assert "id 't' is used by more than one element" in problem.message
    assert problem.line == line_of(content, '<bpmn:dataObject id="t"')


def test_subprocess_needs_one_start_and_an_end() -> None:
    body = simple('<bpmn:subProcess id="t" name="Sub"><bpmn:task id="x" /></bpmn:subProcess>')
    messages = [p.message for p in problems_of(bpmn(body)) if p.element_id == "t"]
    assert "sub-process 'Sub' needs exactly one start event (it has 0)" in messages
    assert "sub-process 'Sub' has no end event: it could never finish" in messages


def test_data_object_out_of_reach_is_refused_instead_of_hanging_the_parser() -> None:
    # SpiffWorkflow loops forever on this (a sub-process two levels down using a data
    # object of the process); the check must stop it before the library sees it.
    inner = ('<bpmn:subProcess id="inner"><bpmn:startEvent id="s2" /><bpmn:task id="use">'
             '<bpmn:dataInputAssociation id="da"><bpmn:sourceRef>ref</bpmn:sourceRef>'
             "</bpmn:dataInputAssociation></bpmn:task><bpmn:endEvent id=\"e2\" />"
             + chain("s2", "use", "e2", prefix="i") + "</bpmn:subProcess>")
    outer = ('<bpmn:subProcess id="t" name="Outer"><bpmn:startEvent id="s1" />' + inner
             + '<bpmn:endEvent id="e1" />' + chain("s1", "inner", "e1", prefix="o")
             + '<bpmn:dataObjectReference id="ref" dataObjectRef="doc" /></bpmn:subProcess>')
    body = simple(outer) + '\n    <bpmn:dataObject id="doc" name="Document" />'
    problem = only(problems_of(bpmn(body)), "use")
    assert "reads data object 'ref', which is not defined in this process" in problem.message


# -- lanes and roles --------------------------------------------------------------------
def test_user_task_without_lane_or_role() -> None:
    body = "\n".join(['<bpmn:startEvent id="start" />', '<bpmn:userTask id="t" name="Task 1" />',
                      '<bpmn:endEvent id="end" />', chain("start", "t", "end")])
    problem = only(problems_of(bpmn(body)), "t")
    assert problem.message == (
        "task 'Task 1' has no role: put it in a lane named after a role, or give it a role "
        "property")


def test_unknown_role_from_lane_and_from_property() -> None:
    ctx = CheckContext(known_roles=frozenset({"pm", "pmo_reviewer"}))
    by_lane = only(problems_of(bpmn(simple(role="auditors")), ctx=ctx), "t")
    assert "role 'auditors' (from its lane) is not a known role" in by_lane.message
    task = '<bpmn:userTask id="t" name="Review">' + props(role="cfo") + "</bpmn:userTask>"
    by_property = only(problems_of(bpmn(simple(task)), ctx=ctx), "t")
    assert "role 'cfo' (from its role property)" in by_property.message
    ok = '<bpmn:userTask id="t" name="Review">' + props(role="pmo_reviewer") + "</bpmn:userTask>"
    assert problems_of(bpmn(simple(ok, role="auditors")), ctx=ctx) == []


# -- expressions (line numbers point into the file) -------------------------------------
def test_condition_that_does_not_compile() -> None:
    body = _gateway(flow("fy", "gw", "a", "approved ="), flow("fn", "gw", "b"),
                    default=' default="fn"')
    content = bpmn(body)
    problem = only(problems_of(content), "fy")
    assert 'the condition does not compile' in problem.message
    assert '(at "approved =")' in problem.message
    assert problem.line == line_of(content, "approved =")


def test_juel_condition_is_named_with_its_rewrite() -> None:
    body = _gateway(flow("fy", "gw", "a", "${approved &amp;&amp; !late}"),
                    flow("fn", "gw", "b"), default=' default="fn"')
    content = bpmn(body)
    problem = only(problems_of(content), "fy")
    assert "the condition '${approved && !late}' is a JUEL expression" in problem.message
    assert problem.message.endswith("here: approved and not late")
    assert "SyntaxError" not in problem.message
    assert problem.line == line_of(content, "${approved")


def test_script_error_line_is_the_line_in_the_file() -> None:
    script = "a = 1\nb = 2\nc = (\n"
    content = bpmn(simple(f'<bpmn:scriptTask id="t" name="Calc"><bpmn:script>{script}'
                          "</bpmn:script></bpmn:scriptTask>"))
    problem = only(problems_of(content), "t")
    assert problem.line == line_of(content, "c = (")
    assert "script task 'Calc': the script does not compile" in problem.message


def test_script_using_what_the_sandbox_forbids() -> None:
    content = bpmn(simple('<bpmn:scriptTask id="t" name="Calc"><bpmn:script>import os'
                          "</bpmn:script></bpmn:scriptTask>"))
    assert "import" in only(problems_of(content), "t").message


def test_pre_and_post_scripts_are_checked() -> None:
    task = ('<bpmn:userTask id="t" name="Review"><bpmn:extensionElements>'
            "<spiffworkflow:postScript>x = = 1</spiffworkflow:postScript>"
            "</bpmn:extensionElements></bpmn:userTask>")
    assert "the postScript does not compile" in only(problems_of(bpmn(simple(task))), "t").message


def test_service_parameter_and_multi_instance_expressions() -> None:
    service = ('<bpmn:serviceTask id="t" name="Notify"><bpmn:extensionElements>'
               '<spiffworkflow:serviceTaskOperator id="send_mail" resultVariable="r">'
               '<spiffworkflow:parameters><spiffworkflow:parameter id="to" type="str" '
               'value="pm_email +" /></spiffworkflow:parameters>'
               "</spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>")
    problem = only(problems_of(bpmn(simple(service))), "t")
    assert "parameter 'to' does not compile" in problem.message
    multi = ('<bpmn:userTask id="t" name="Each"><bpmn:multiInstanceLoopCharacteristics>'
             "<bpmn:loopCardinality>len(items</bpmn:loopCardinality>"
             "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>")
    problem = only(problems_of(bpmn(simple(multi))), "t")
    assert "the loop cardinality does not compile" in problem.message


def _timer(value: str, kind: str = "timeDuration") -> bytes:
    event = ('<bpmn:intermediateCatchEvent id="t" name="Wait"><bpmn:timerEventDefinition>'
             f"<bpmn:{kind}>{value}</bpmn:{kind}></bpmn:timerEventDefinition>"
             "</bpmn:intermediateCatchEvent>")
    return bpmn(simple(event))


@pytest.mark.parametrize(("value", "kind", "fragment"), [
    ("", "timeDuration", "the timer's timeDuration is empty"),
    ("PT48H", "timeDuration", 'a fixed value needs quotes: "PT48H"'),
    ('"P3X"', "timeDuration", 'timeDuration "P3X" is not a valid ISO 8601 value'),
    ('"tomorrow"', "timeDate", 'timeDate "tomorrow" is not a valid ISO 8601 value'),
    ("hours +", "timeDuration", "the timer's timeDuration does not compile"),
])
def test_timer_problems(value: str, kind: str, fragment: str) -> None:
    assert fragment in only(problems_of(_timer(value, kind)), "t").message


@pytest.mark.parametrize(("value", "kind"), [
    ('"PT48H"', "timeDuration"), ('f"PT{sla_hours}H"', "timeDuration"),
    ('"R3/PT1H"', "timeCycle"), ('"2026-01-31T17:00:00"', "timeDate"),
    ('"2026-01-31T17:00:00+08:00"', "timeDate"), ("in_working_days(1)", "timeDate"),
])
def test_valid_timers(value: str, kind: str) -> None:
    assert problems_of(_timer(value, kind)) == []


def test_timer_without_any_time() -> None:
    content = bpmn(simple('<bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition />'
                          "</bpmn:intermediateCatchEvent>"))
    assert "has no timeDuration, timeDate or timeCycle" in only(problems_of(content), "t").message


def test_task_properties() -> None:
    task = ('<bpmn:userTask id="t" name="Review">'
            + props(sla="3 days", fourEyes="yes", assignee="users[") + "</bpmn:userTask>")
    messages = [p.message for p in problems_of(bpmn(simple(task)))]
    assert messages == [
        "task 'Review': sla '3 days' is not an ISO 8601 duration such as P3D or PT48H",
        "task 'Review': fourEyes must be 'true' or 'false'",
        "task 'Review': the assignee expression does not compile: SyntaxError: '[' was never "
        'closed (at "users[")',
    ]


# -- references to forms, decisions, processes, operations ------------------------------
def test_missing_form_file() -> None:
    task = '<bpmn:userTask id="t" name="Review">' + props(formJsonSchemaFilename="r.json")
    content = bpmn(simple(task + "</bpmn:userTask>"))
    problem = only(problems_of(content), "t")
    assert "form file 'r.json' is neither in this deployment nor deployed" in problem.message
    known = CheckContext(known_forms=frozenset({"r.json"}))
    assert problems_of(content, ctx=known) == []


def test_invalid_form_files() -> None:
    broken = SourceFile("forms/bad.json", b'{\n  "type": "object",\n  "properties": {,}\n}')
    [syntax] = analyze([broken]).problems
    assert syntax.line == 3 and "not valid JSON" in syntax.message
    not_schema = SourceFile("worse.json", b'{"type": "objekt"}')
    [schema] = analyze([not_schema]).problems
    assert "not a valid JSON Schema at $.type" in schema.message


def test_business_rule_and_call_activity_references() -> None:
    no_ref = problems_of(bpmn(simple('<bpmn:businessRuleTask id="t" name="Route" />')))
    assert "business rule task 'Route' does not name the decision table it calls" in only(
        no_ref, "t").message
    brt = ('<bpmn:businessRuleTask id="t" name="Route"><bpmn:extensionElements>'
           "<spiffworkflow:calledDecisionId>nope</spiffworkflow:calledDecisionId>"
           "</bpmn:extensionElements></bpmn:businessRuleTask>")
    unknown = only(problems_of(bpmn(simple(brt))), "t")
    assert "calls decision 'nope', which is neither in this deployment nor deployed" in (
        unknown.message)
    call = problems_of(bpmn(simple('<bpmn:callActivity id="t" name="Sub" />')))
    assert "call activity 'Sub' does not name the process it calls" in only(call, "t").message
    target = problems_of(bpmn(simple('<bpmn:callActivity id="t" name="Sub" calledElement="x" />')))
    assert "calls process 'x', which is neither in this deployment" in only(target, "t").message


def test_service_task_operation() -> None:
    missing = problems_of(bpmn(simple('<bpmn:serviceTask id="t" name="Notify" />')))
    assert only(missing, "t").message == (
        "service task 'Notify' is not bound to an operation: pick one of the registered "
        "operations in its properties")
    task = ('<bpmn:serviceTask id="t" name="Notify"><bpmn:extensionElements>'
            '<spiffworkflow:serviceTaskOperator id="send_fax"><spiffworkflow:parameters />'
            "</spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>")
    ctx = CheckContext(known_operations=frozenset({"send_mail"}))
    problem = only(problems_of(bpmn(simple(task)), ctx=ctx), "t")
    assert "uses unknown operation 'send_fax'; known operations: send_mail" in problem.message
    assert problems_of(bpmn(simple(task))) == []  # known_operations=None: not checked


# -- many problems at once ----------------------------------------------------------------
def test_every_problem_is_reported_at_once() -> None:
    body = "\n".join([
        '<bpmn:startEvent id="start" />',
        '<bpmn:userTask id="t" name="No lane" />',
        '<bpmn:scriptTask id="s" name="Bad"><bpmn:script>x = (</bpmn:script></bpmn:scriptTask>',
        '<bpmn:complexGateway id="c" />',
        '<bpmn:endEvent id="end" />',
        chain("start", "t", "s", "c", "end"),
    ])
    form = SourceFile("f.json", b"[1, 2")
    ids = {p.element_id for p in problems_of(bpmn(body), extra=(form,))}
    assert ids == {"t", "s", "c", None}


# -- hostile and broken files -------------------------------------------------------------
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol3;</bpmn:definitions>
"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
<bpmn:process id="p"><bpmn:documentation>&x;</bpmn:documentation></bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.parametrize("content", [BILLION_LAUGHS, XXE])
def test_dtds_and_entities_are_refused(content: bytes) -> None:
    with pytest.raises(InvalidDiagram) as raised:
        parse_xml(content, "evil.bpmn")
    [problem] = raised.value.problems
    assert "DOCTYPE declarations are not allowed" in problem.message
    [again] = problems_of(content, "evil.bpmn")
    assert "DOCTYPE" in again.message
    assert "root:" not in str(raised.value) and "lollol" not in str(raised.value)


def test_doctype_hidden_after_a_comment_or_in_utf16_is_refused() -> None:
    behind_comment = b"<!-- hello -->\n" + XXE.split(b"\n", 1)[1]
    utf16 = XXE.decode().replace('<?xml version="1.0"?>', "").encode("utf-16")
    for content in (behind_comment, utf16):
        with pytest.raises(InvalidDiagram, match="DOCTYPE"):
            parse_xml(content, "evil.bpmn")


def test_undefined_entity_reference_is_a_clean_syntax_problem() -> None:
    with pytest.raises(InvalidDiagram, match="Entity 'x' not defined") as raised:
        parse_xml(b'<a>\n<b>&x;</b></a>', "e.bpmn")
    assert raised.value.problems[0].line == 2


def test_file_over_the_size_limit_is_refused_before_parsing() -> None:
    content = bpmn(simple()) + b"<!--" + b"x" * (6 * 1024 * 1024) + b"-->"
    [problem] = problems_of(content)
    assert "too large" in problem.message and f"{DEFAULT_MAX_BYTES:,}" in problem.message
    tiny = CheckContext(max_bytes=100)
    assert "too large" in problems_of(bpmn(simple()), ctx=tiny)[0].message


@pytest.mark.parametrize(("content", "fragment"), [
    (bytes(range(256)) * 40, "not valid UTF-8"),
    (b"\x00\x01\x02binary\x00", "binary"),
    (b'<?xml version="1.0"?>\n<a>caf\xe9</a>', "not valid UTF-8 (byte 0xe9 at line 2"),
    (b"", "the file is empty"),
    (b"   \n ", "the file is empty"),
    (b'{"process": "not xml"}', "not well-formed XML: Start tag expected"),
    (b"<a><b></a>", "Opening and ending tag mismatch"),
    (b'<?xml version="1.0" encoding="EBCDIC-US"?><a/>', "encoding 'ebcdic-us', which is not"),
    (b"<a>" * 150 + b"</a>" * 150, "nested too deeply"),
    (b"<a>" + b"<b/>" * 20_001 + b"</a>", "too many elements"),
])
def test_broken_files_give_one_file_level_problem(content: bytes, fragment: str) -> None:
    [problem] = problems_of(content)
    assert fragment in problem.message
    assert problem.file == "t.bpmn" and problem.element_id is None


def test_utf16_and_latin1_files_are_read_as_utf8() -> None:
    text = bpmn(simple('<bpmn:task id="t" name="Prüfen" />')).decode()
    utf16 = text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    latin1 = text.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').encode("latin-1")
    for content in (utf16, latin1):
        bundle = analyze([SourceFile("t.bpmn", content)])
        assert bundle.problems == []
        assert bundle.processes[0].elements["t"].name == "Prüfen"
        assert b'encoding="UTF-8"' in bundle.processes[0].source


def test_unknown_file_kind_and_duplicate_names() -> None:
    problems = analyze([SourceFile("a.png", b"\x89PNG"), SourceFile("t.bpmn", bpmn(simple())),
                        SourceFile("t.bpmn", bpmn(simple()))]).problems
    assert [p.file for p in problems] == ["a.png", "t.bpmn"]
    assert "unknown kind of file" in problems[0].message
    assert "two files of the deployment have this name" in problems[1].message


def test_a_chain_of_600_tasks_does_not_crash() -> None:
    nodes = ["start", *(f"t{i}" for i in range(600)), "end"]
    body = "\n".join([lane("pm", *nodes), '<bpmn:startEvent id="start" />',
                      *(f'<bpmn:task id="t{i}" />' for i in range(600)),
                      '<bpmn:endEvent id="end" />', chain(*nodes)])
    bundle = analyze([SourceFile("long.bpmn", bpmn(body))])
    [problem] = bundle.problems
    assert problem.element_id == "t299" and "chain of more than 300 elements" in problem.message
    with pytest.raises(InvalidDiagram) as raised:  # the library alone: wrapped, not a crash
        build_spec(bundle.processes[0])
    assert "too long for the engine to read" in raised.value.problems[0].message
    assert raised.value.problems[0].element_id is not None


# -- DMN ------------------------------------------------------------------------------------
def _dmn_problems(content: bytes) -> list[Problem]:
    return problems_of(content, "route.dmn")


def test_valid_decision_table() -> None:
    rules = "\n".join([rule("r1", "&lt; 100000"), rule("r2", "100000 &lt;= ? &lt;= 1000000"),
                       rule("r3", "&gt; 1000000", out='"steering"'), ])
    assert _dmn_problems(dmn(rules)) == []


def test_dmn_cell_that_does_not_compile() -> None:
    content = dmn(rule("r1", "&gt; &gt; 5"))
    problem = only(_dmn_problems(content), "r1")
    assert "rule r1, input 'Budget': '> > 5' is not a valid Python test" in problem.message
    assert problem.line == line_of(content, 'id="r1"')


@pytest.mark.parametrize(("cell", "fragment"), [
    ('in ["IT", "R&amp;D"]', "would be glued to the input expression"),
    ('"IT", "R&amp;D"', "compares the input with a tuple"),
    ("  ", "contains only spaces"),
    ("__import__('os')", "does not compile"),
])
def test_dmn_cells_the_engine_would_misread(cell: str, fragment: str) -> None:
    assert fragment in only(_dmn_problems(dmn(rule("r1", cell))), "r1").message


@pytest.mark.parametrize("cell", ["", "-", '"IT"', '? in ["IT", "R&amp;D"]', "? &gt; 5",
                                  "&gt;= 100", "not ?", "True"])
def test_dmn_cells_that_are_fine(cell: str) -> None:
    assert _dmn_problems(dmn(rule("r1", cell))) == []


def test_unsupported_hit_policy_and_aggregation() -> None:
    [policy] = _dmn_problems(dmn(rule("r1", ""), hit="PRIORITY"))
    assert policy.element_id == "table" and "hit policy PRIORITY is not supported" in policy.message
    content = dmn(rule("r1", "")).replace(b'hitPolicy="UNIQUE"',
                                          b'hitPolicy="COLLECT" aggregation="SUM"')
    assert "aggregations" in _dmn_problems(content)[0].message


def test_unique_rules_that_overlap() -> None:
    rules = "\n".join([rule("r1", "&lt; 100000"), rule("r2", "&lt;= 500000"),
                       rule("r3", "&gt; 500000")])
    problem = only(_dmn_problems(dmn(rules)), "r2")
    assert "rules r1 and r2 can match the same inputs" in problem.message
    assert _dmn_problems(dmn(rules, hit="FIRST")) == []


def test_find_overlaps_on_intervals_and_values() -> None:
    inputs = ('<input id="i1" label="Budget"><inputExpression id="ie1"><text>budget</text>'
              '</inputExpression></input><input id="i2" label="Category"><inputExpression '
              'id="ie2"><text>category</text></inputExpression></input>')
    rules = "\n".join([
        rule("small", "&lt; 100000", '"IT"', out='"a"'),
        rule("medium", "100000 &lt;= ? &lt; 1000000", '? in ["IT", "R&amp;D"]', out='"b"'),
        rule("it_any", "", '"IT"', out='"c"'),
        rule("large_rd", "&gt;= 1000000", '"R&amp;D"', out='"d"'),
        rule("edge", "1000000", "-", out='"e"'),
        rule("odd", "budget % 2 == 0", "-", out='"f"'),
    ])
    tree = parse_xml(dmn(rules, hit="COLLECT", inputs=inputs), "r.dmn")
    decision, problems = read_decision(tree.getroot(), "r.dmn", b"")
    assert problems == [] and decision is not None
    assert find_overlaps(decision) == [
        ("small", "it_any"), ("medium", "it_any"), ("it_any", "edge"), ("large_rd", "edge"),
    ]


def test_collect_rules_that_would_list_the_same_approver_twice() -> None:
    rules = "\n".join([rule("all", "", out='"pmo_head"'),
                       rule("big", "&gt;= 100000", out='"finance"'),
                       rule("huge", "&gt; 1000000", out='"finance"'),
                       rule("tiny", "&lt; 100", out='"finance"')])
    problems = _dmn_problems(dmn(rules, hit="COLLECT"))
    assert [(p.element_id, p.line is not None) for p in problems] == [("huge", True)]
    assert "rules big and huge can match the same inputs and both give" in problems[0].message
    assert '"finance"' in problems[0].message


def test_dmn_structure_problems() -> None:
    no_expression = dmn(rule("r1", "1"), inputs='<input id="i1" label="Budget" />')
    assert "input column 'Budget' has no expression" in only(
        _dmn_problems(no_expression), "i1").message
    too_many = dmn(rule("r1", "1", "2"))
    assert "has 2 input cells for 1 input columns" in only(_dmn_problems(too_many), "r1").message
    two_outputs = dmn(rule("r1", "1").replace("</rule>", '<outputEntry id="x"><text>1</text>'
                                              "</outputEntry></rule>"))
    assert "has 2 output cells for 1 output columns" in only(
        _dmn_problems(two_outputs), "r1").message
    bad_output = dmn(rule("r1", "1", out="'a' +"))
    assert "output cell 1 does not compile" in only(_dmn_problems(bad_output), "r1").message
    prefixed = dmn(rule("r1", "1")).replace(b'<definitions xmlns="', b'<x:definitions xmlns:x="')
    prefixed = prefixed.replace(b"</definitions>", b"</x:definitions>")
    assert "prefix 'dmn'" in _dmn_problems(prefixed)[0].message
