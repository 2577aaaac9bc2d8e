"""Bundles of BPMN + DMN + forms: metadata, reserved-id renaming, spec building."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.errors import InvalidDiagram
from engine.spiff.bundle import Bundle, CheckContext, SourceFile, analyze, build_spec
from tests.engine.test_validation import bpmn, chain, flow, lane, line_of, props, simple

FIXTURES = Path(__file__).parent / "fixtures"
ROLES = frozenset({"pm", "pmo_reviewer", "pmo_head", "finance", "sponsor", "steering"})


def fixture_bundle(ctx: CheckContext | None = None) -> Bundle:
    names = ["approval.bpmn", "approval_route.dmn", "proposal.json", "review.json"]
    files = [SourceFile(n, (FIXTURES / n).read_bytes()) for n in names]
    return analyze(files, ctx or CheckContext(known_roles=ROLES, known_operations=frozenset()))


def run_to_end(spec_and_subs: tuple, data: dict, answers: dict[str, dict]) -> BpmnWorkflow:
    """Run a workflow, completing each ready manual task with ``answers[element id]``."""
    spec, subprocesses = spec_and_subs
    workflow = BpmnWorkflow(spec, subprocesses)
    workflow.task_tree.data.update(data)
    workflow.do_engine_steps()
    for _ in range(20):
        if workflow.completed:
            break
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        assert task is not None, "workflow is stuck"
        task.data.update(answers.get(task.task_spec.bpmn_id, {}))
        task.run()
        workflow.do_engine_steps()
    assert workflow.completed
    return workflow


# -- the PMO fixture ----------------------------------------------------------------------
def test_bpmn_dmn_and_forms_bundle_is_ok() -> None:
    bundle = fixture_bundle()
    assert bundle.problems == [] and bundle.ok
    [process] = bundle.processes
    assert (process.key, process.name, process.file) == ("project_approval", "Project approval",
                                                         "approval.bpmn")
    assert process.decisions == {"approval_route"}
    assert process.forms == {"proposal.json", "review.json"}
    assert process.called_processes == frozenset() and process.operations == frozenset()
    assert process.runtime_xml == process.source and process.id_map == {}
    [decision] = bundle.decisions
    assert (decision.key, decision.hit_policy) == ("approval_route", "UNIQUE")
    assert [i["expression"] for i in decision.inputs] == ["budget", "risk"]
    assert [o["name"] for o in decision.outputs] == ["approver", "review_sla"]
    assert [r["id"] for r in decision.rules][:2] == ["Rule_small", "Rule_medium"]
    assert sorted(bundle.forms) == ["proposal.json", "review.json"]
    assert bundle.forms["review.json"]["required"] == ["approved"]


def test_element_metadata_roles_from_lanes_and_properties() -> None:
    [process] = fixture_bundle().processes
    review, sign_off, start = (process.elements[i] for i in ("review", "sign_off", "start"))
    assert (review.type, review.lane, review.role) == ("userTask", "pmo_reviewer", "pmo_reviewer")
    assert review.form == "review.json"
    assert review.properties == {"formJsonSchemaFilename": "review.json", "sla": "P3D",
                                 "fourEyes": "true"}
    assert review.line == line_of((FIXTURES / "approval.bpmn").read_bytes(), 'id="review"')
    assert (sign_off.lane, sign_off.role) == ("pmo_head", "steering")  # property wins
    assert process.start_form == "proposal.json" and start.role == "pm"
    assert {e.process_id for e in process.elements.values()} == {"project_approval"}


def test_fixture_process_runs_with_its_decision_table() -> None:
    bundle = fixture_bundle()
    [process], [decision] = bundle.processes, bundle.decisions
    built = build_spec(process, decisions=[(decision.file, decision.source)])
    workflow = run_to_end(built, {"title": "CRM", "budget": 250000, "risk": "low"},
                          {"review": {"approved": True}})
    assert workflow.data["approver"] == "finance" and workflow.data["registered"] is True


def test_unknown_roles_in_the_fixture_are_reported() -> None:
    ctx = CheckContext(known_roles=frozenset({"pm", "pmo_reviewer"}))
    ids = {p.element_id for p in fixture_bundle(ctx).problems}
    assert ids == {"sign_off"}  # only human tasks need a role


def test_subprocess_children_inherit_lane_and_belong_to_the_process() -> None:
    sub = ('<bpmn:subProcess id="t" name="Prepare"><bpmn:startEvent id="s2" />'
           '<bpmn:userTask id="inner" name="Draft" /><bpmn:endEvent id="e2" />'
           + chain("s2", "inner", "e2", prefix="g") + "</bpmn:subProcess>")
    bundle = analyze([SourceFile("s.bpmn", bpmn(simple(sub, role="pm")))])
    assert bundle.problems == []
    inner = bundle.processes[0].elements["inner"]
    assert (inner.lane, inner.role, inner.process_id) == ("pm", "pm", "p")


# -- reserved ids --------------------------------------------------------------------------
RESERVED = "\n".join([
    lane("pm", "Start", "StartEventSplit", "End", "Start_1"),
    '    <bpmn:startEvent id="Start" name="Begin"><bpmn:outgoing>f1</bpmn:outgoing>'
    "</bpmn:startEvent>",
    '    <bpmn:task id="StartEventSplit" name="Work"><bpmn:incoming>f1</bpmn:incoming>'
    "</bpmn:task>",
    '    <bpmn:boundaryEvent id="Start_1" attachedToRef="StartEventSplit" cancelActivity="false">'
    '<bpmn:timerEventDefinition><bpmn:timeDuration>"P1D"</bpmn:timeDuration>'
    "</bpmn:timerEventDefinition></bpmn:boundaryEvent>",
    '    <bpmn:endEvent id="timer_end" />',
    '    <bpmn:endEvent id="End" name="Finish" />',
    chain("Start", "StartEventSplit", "End"),
    flow("f3", "Start_1", "timer_end"),
])
RESERVED_DI = """  <bpmndi:BPMNDiagram id="dia"><bpmndi:BPMNPlane id="plane" bpmnElement="p">
    <bpmndi:BPMNShape id="Start_di" bpmnElement="Start"><dc:Bounds x="1" y="2" width="3" height="4" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="End_di" bpmnElement="End"><dc:Bounds x="9" y="2" width="3" height="4" /></bpmndi:BPMNShape>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
"""


def reserved_file() -> bytes:
    end = b"</bpmn:definitions>"
    return bpmn(RESERVED).replace(end, RESERVED_DI.encode() + end)


def test_reserved_ids_are_renamed_with_every_reference() -> None:
    bundle = analyze([SourceFile("r.bpmn", reserved_file())])
    assert bundle.problems == []
    [process] = bundle.processes
    assert process.id_map == {"Start_2": "Start", "StartEventSplit_1": "StartEventSplit",
                              "End_1": "End"}
    assert process.source == reserved_file()
    assert {"Start", "End", "StartEventSplit"} <= set(process.elements)  # original ids
    assert process.elements["Start"].name == "Begin"
    runtime = etree.fromstring(process.runtime_xml)
    ids = {e.get("id") for e in runtime.iter() if e.get("id")}
    assert not ids & {"Start", "End", "StartEventSplit"}
    ns = {"b": "http://www.omg.org/spec/BPMN/20100524/MODEL",
          "di": "http://www.omg.org/spec/BPMN/20100524/DI"}
    assert runtime.xpath("//b:flowNodeRef/text()", namespaces=ns) == [
        "Start_2", "StartEventSplit_1", "End_1", "Start_1"]
    assert runtime.xpath("//b:boundaryEvent/@attachedToRef", namespaces=ns) == [
        "StartEventSplit_1"]
    assert runtime.xpath("//b:sequenceFlow[@id='f1']/@sourceRef", namespaces=ns) == ["Start_2"]
    assert runtime.xpath("//b:incoming/text()", namespaces=ns) == ["f1"]  # flow ids unchanged
    assert runtime.xpath("//di:BPMNShape/@bpmnElement", namespaces=ns) == ["Start_2", "End_1"]


def test_renamed_process_runs_to_completion() -> None:
    [process] = analyze([SourceFile("r.bpmn", reserved_file())]).processes
    workflow = run_to_end(build_spec(process), {}, {})
    done = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)]
    assert {"Start_2", "StartEventSplit_1", "End_1"} <= set(done)


def test_without_renaming_the_library_cannot_run_it() -> None:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(bpmn(simple().replace('"start"', '"Start"').replace('"end"', '"End"')),
                        filename="raw.bpmn")
    try:
        workflow = BpmnWorkflow(parser.get_spec("p"), parser.get_subprocess_specs("p"))
        workflow.do_engine_steps()
        completed = workflow.completed
    except SpiffWorkflowException as exc:  # 3.2.0: "No output task connected"
        completed = False
        assert "No output task connected" in str(exc)
    assert not completed


# -- build_spec and library errors ------------------------------------------------------------
def _rule_task(extension_after_incoming: bool = False) -> str:
    ext = ("<bpmn:extensionElements><spiffworkflow:calledDecisionId>route"
           "</spiffworkflow:calledDecisionId></bpmn:extensionElements>")
    inner = "<bpmn:incoming>f1</bpmn:incoming>" + ext if extension_after_incoming else ext
    return f'<bpmn:businessRuleTask id="t" name="Route">{inner}</bpmn:businessRuleTask>'


DMN = (FIXTURES / "approval_route.dmn").read_bytes().replace(b'"approval_route"', b'"route"')


def test_library_only_problems_are_reported_by_analyze() -> None:
    content = bpmn(simple(_rule_task(extension_after_incoming=True)))
    problems = analyze([SourceFile("x.bpmn", content), SourceFile("r.dmn", DMN)]).problems
    [problem] = problems
    assert problem.element_id == "t" and problem.line == line_of(content, 'id="t"')
    assert "does not follow the BPMN/DMN schema" in problem.message
    assert "bpmn:extensionElements" in problem.message and "{http" not in problem.message


def test_decision_deployed_earlier_is_accepted_with_a_placeholder() -> None:
    ctx = CheckContext(known_decisions=frozenset({"route"}))
    good = analyze([SourceFile("x.bpmn", bpmn(simple(_rule_task())))], ctx)
    assert good.problems == []
    bad = analyze([SourceFile("x.bpmn", bpmn(simple(_rule_task(True))))], ctx)
    assert [p.element_id for p in bad.problems] == ["t"]


def test_build_spec_without_the_decision_names_the_task() -> None:
    content = bpmn(simple(_rule_task()))
    [process] = analyze([SourceFile("x.bpmn", content), SourceFile("r.dmn", DMN)]).processes
    with pytest.raises(InvalidDiagram) as raised:
        build_spec(process)
    [problem] = raised.value.problems
    assert (problem.element_id, problem.element_name) == ("t", "Route")
    assert problem.line == line_of(content, 'id="t"')
    assert 'No DMN Diagram available with id "route"' in problem.message
    spec, _ = build_spec(process, decisions=[("r.dmn", DMN)])
    assert "t" in spec.task_specs


def test_build_spec_maps_renamed_ids_back_to_the_original() -> None:
    body = simple('<bpmn:task id="End" name="Last step" />')
    body = body.replace('"t"', '"End"').replace(">t<", ">End<")
    body = body.replace('<bpmn:endEvent id="end" />', '<bpmn:endEvent id="end" /><bpmn:endEvent'
                        ' id="end2" />') + "\n" + flow("extra", "End", "end2")
    content = bpmn(body)
    bundle = analyze([SourceFile("x.bpmn", content)])
    assert [p.element_id for p in bundle.problems] == ["End"]  # our check: 2 outgoing flows
    with pytest.raises(InvalidDiagram) as raised:
        build_spec(bundle.processes[0])
    [problem] = raised.value.problems
    assert problem.element_id == "End" and problem.element_name == "Last step"
    assert problem.line == line_of(content, 'id="End"')
    assert "Multiple outgoing flows are not supported" in problem.message


def test_call_activity_to_another_file_of_the_bundle() -> None:
    caller = bpmn(simple('<bpmn:callActivity id="t" name="Sub" calledElement="sub" />'))
    work = '<bpmn:scriptTask id="t"><bpmn:script>done = True</bpmn:script></bpmn:scriptTask>'
    callee = bpmn(simple(work), process='id="sub" isExecutable="true"')
    bundle = analyze([SourceFile("caller.bpmn", caller), SourceFile("sub.bpmn", callee)])
    assert bundle.problems == []
    main, sub = bundle.processes
    assert main.called_processes == {"sub"}
    called = [(sub.file, sub.runtime_xml), (main.file, main.runtime_xml)]  # own file: ignored
    workflow = run_to_end(build_spec(main, called=called), {}, {})
    assert workflow.data["done"] is True
    with pytest.raises(InvalidDiagram, match="The process 'sub' was not found"):
        build_spec(main)


def test_two_executable_processes_in_one_file() -> None:
    second = ('  <bpmn:process id="q" isExecutable="true">\n'
              + simple().replace("ls_pm", "ls_q").replace("lane_pm", "lane_q")
              .replace('"start"', '"qs"').replace('"t"', '"qt"').replace('"end"', '"qe"')
              .replace('"f1"', '"qf1"').replace('"f2"', '"qf2"').replace(">start<", ">qs<")
              .replace(">t<", ">qt<").replace(">end<", ">qe<") + "\n  </bpmn:process>\n")
    end = b"</bpmn:definitions>"
    content = bpmn(simple()).replace(end, second.encode() + end)
    bundle = analyze([SourceFile("two.bpmn", content)])
    assert bundle.problems == []
    assert [p.key for p in bundle.processes] == ["p", "q"]
    assert set(bundle.processes[1].elements) == {"qs", "qt", "qe"}
    for process in bundle.processes:
        spec, _ = build_spec(process)
        assert spec.name == process.key


def test_start_form_and_form_properties_on_start_events() -> None:
    body = simple().replace('<bpmn:startEvent id="start" />', '<bpmn:startEvent id="start">'
                            + props(formJsonSchemaFilename="s.json") + "</bpmn:startEvent>")
    form = SourceFile("forms/s.json", b'{"type": "object"}')
    bundle = analyze([SourceFile("x.bpmn", bpmn(body)), form])
    assert bundle.problems == []
    assert bundle.processes[0].start_form == "s.json" and "s.json" in bundle.forms


def test_library_error_in_a_called_file_names_that_file() -> None:
    caller = bpmn(simple('<bpmn:callActivity id="t" name="Sub" calledElement="sub" />'))
    rule_task = _rule_task().replace('id="t"', 'id="rt"')
    callee = bpmn(simple(rule_task).replace('"t"', '"rt"').replace(">t<", ">rt<"),
                  process='id="sub" isExecutable="true"')
    bundle = analyze([SourceFile("caller.bpmn", caller), SourceFile("sub.bpmn", callee),
                      SourceFile("r.dmn", DMN)])
    assert bundle.problems == []
    main, sub = bundle.processes
    with pytest.raises(InvalidDiagram) as raised:  # the decision table is not passed
        build_spec(main, called=[(sub.file, sub.runtime_xml)])
    [problem] = raised.value.problems
    assert (problem.file, problem.element_id) == ("sub.bpmn", "rt")
    assert problem.line == line_of(callee, 'id="rt"')
