"""Validation messages for every diagram: ordered by file and line, complete for
non-executable processes, worded for process owners, and naming the tool a diagram was
drawn for (issue 17, item 3)."""

from __future__ import annotations

import pytest

from engine.errors import InvalidDiagram, Problem, sort_problems
from engine.spiff.bundle import CheckContext, SourceFile, analyze
from engine.spiff.dialects import foreign_tools, juel_hint, script_language
from engine.spiff.xmlsafe import parse_xml
from tests.engine.test_validation import bpmn, chain, lane, line_of, only, problems_of, simple


def _with_ns(content: bytes, prefix: str, uri: str) -> bytes:
    """Declare ``prefix`` for ``uri`` on the root element of a file made by ``bpmn()``."""
    return content.replace(b"<bpmn:definitions ",
                           f'<bpmn:definitions xmlns:{prefix}="{uri}" '.encode(), 1)


# -- order ----------------------------------------------------------------------------------
def test_problems_come_sorted_by_file_then_line() -> None:
    # The call activity's missing target is found by the cross-file check, which runs
    # after the element checks: unsorted, it would come after the later task's problem.
    body = "\n".join([
        '    <bpmn:startEvent id="start" />',
        '    <bpmn:callActivity id="call" name="Sub" calledElement="nowhere" />',
        '    <bpmn:userTask id="late" name="Late" />',
        '    <bpmn:endEvent id="end" />',
        chain("start", "call", "late", "end"),
    ])
    content = bpmn(lane("pm", "start", "call", "end") + "\n" + body)
    other = bpmn(simple('<bpmn:serviceTask id="t" name="Notify" />'))
    problems = analyze([SourceFile("z.bpmn", content), SourceFile("a.bpmn", other)],
                       CheckContext()).problems
    keys = [(p.file, p.line or 0) for p in problems]
    assert keys == sorted(keys)
    assert [p.element_id for p in problems if p.file == "z.bpmn"] == ["call", "late"]
    assert problems[0].file == "a.bpmn"


def test_sort_keeps_check_order_on_one_line_and_puts_file_wide_first() -> None:
    found = [Problem("b.bpmn", "second", line=3), Problem("b.bpmn", "file", None),
             Problem("a.bpmn", "x", line=9), Problem("b.bpmn", "first on 3", line=3)]
    assert [p.message for p in sort_problems(found)] == ["x", "file", "second", "first on 3"]
    assert [p.message for p in InvalidDiagram(found).problems] == [
        "x", "file", "second", "first on 3"]


# -- non-executable processes ----------------------------------------------------------------
def test_non_executable_process_still_reports_its_other_problems() -> None:
    body = "\n".join([
        '    <bpmn:startEvent id="start" />',
        '    <bpmn:userTask id="t" name="Approve" />',
        '    <bpmn:serviceTask id="s" name="Notify" />',
        '    <bpmn:endEvent id="end" />',
        chain("start", "t", "s", "end"),
    ])
    content = bpmn(body, process='id="p" name="Descriptive" isExecutable="false"')
    problems = problems_of(content)
    assert "is marked as not executable" in only(problems, "p").message
    assert only(problems, "t").message.startswith("task 'Approve' has no role")
    assert "service task 'Notify' is not bound to an operation" in only(problems, "s").message
    assert problems[0].element_id == "p"  # the process comes first: it is on the first line


# -- wording --------------------------------------------------------------------------------
def test_service_task_names_the_missing_operation_in_owner_terms() -> None:
    problem = only(problems_of(bpmn(simple('<bpmn:serviceTask id="t" name="Notify" />'))), "t")
    assert problem.message == ("service task 'Notify' is not bound to an operation: pick one "
                               "of the registered operations in its properties")
    assert "spiffworkflow" not in problem.message


def test_service_task_with_camunda_class_says_so() -> None:
    task = '<bpmn:serviceTask id="t" name="Notify" camunda:class="com.acme.Mail" />'
    content = _with_ns(bpmn(simple(task)), "camunda", "http://camunda.org/schema/1.0/bpmn")
    problem = only(problems_of(content), "t")
    assert problem.message == (
        "service task 'Notify' is not bound to an operation (its camunda:class "
        "'com.acme.Mail' is for Camunda 7; the engine does not read it): bind it to an "
        "operation or remove it")


def test_candidate_groups_are_named_when_a_task_has_no_role() -> None:
    body = "\n".join(['<bpmn:startEvent id="start" />',
                      '<bpmn:userTask id="t" name="Approve" camunda:candidateGroups="sales" />',
                      '<bpmn:endEvent id="end" />', chain("start", "t", "end")])
    content = _with_ns(bpmn(body), "camunda", "http://camunda.org/schema/1.0/bpmn")
    message = only(problems_of(content), "t").message
    assert message.startswith("task 'Approve' has no role (its camunda:candidateGroups "
                              "'sales' is for Camunda 7")


def test_groovy_script_is_not_a_python_syntax_error() -> None:
    task = ('<bpmn:scriptTask id="t" name="Calc" scriptFormat="groovy">'
            "<bpmn:script>def x = 1; println x</bpmn:script></bpmn:scriptTask>")
    problem = only(problems_of(bpmn(simple(task))), "t")
    assert problem.message.startswith("script task 'Calc' is written in Groovy")
    assert "SyntaxError" not in problem.message


def test_javascript_condition_is_named() -> None:
    body = "\n".join([
        lane("pm", "start", "gw", "a", "b"),
        '<bpmn:startEvent id="start" />',
        '<bpmn:exclusiveGateway id="gw" default="fn" />',
        '<bpmn:endEvent id="a" />', '<bpmn:endEvent id="b" />',
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="gw" />',
        '<bpmn:sequenceFlow id="fy" sourceRef="gw" targetRef="a"><bpmn:conditionExpression'
        ' language="javascript">x === 1</bpmn:conditionExpression></bpmn:sequenceFlow>',
        '<bpmn:sequenceFlow id="fn" sourceRef="gw" targetRef="b" />',
    ])
    problem = only(problems_of(bpmn(body)), "fy")
    assert "the condition is written in JavaScript" in problem.message


@pytest.mark.parametrize(("source", "expected"), [
    ("${approved}", "approved"),
    ("#{!approved}", "not approved"),
    ("${a && b || !c}", "a and b or not c"),
    ("${x != null}", "x != None"),
])
def test_juel_hint_rewrites_the_common_forms(source: str, expected: str) -> None:
    hint = juel_hint(source)
    assert hint is not None and hint.endswith(f"here: {expected}")


def test_plain_expressions_are_not_juel_and_python_is_not_foreign() -> None:
    assert juel_hint("approved") is None
    assert juel_hint("f'{x}'") is None
    assert script_language("python") is None and script_language(None) is None
    assert script_language("Groovy") == "Groovy"


# -- foreign tools --------------------------------------------------------------------------
TOOLS = [
    ("camunda", "http://camunda.org/schema/1.0/bpmn", "Camunda 7", "Import from Camunda 7"),
    ("zeebe", "http://camunda.org/schema/zeebe/1.0", "Camunda 8", "properties panel"),
    ("flowable", "http://flowable.org/bpmn", "Flowable", "properties panel"),
    ("activiti", "http://activiti.org/bpmn", "Activiti", "Import from Camunda 7"),
    ("signavio", "http://www.signavio.com", "Signavio", "about the BPMN itself"),
    ("bizagi", "http://www.bizagi.com/bpmn20", "Bizagi", "about the BPMN itself"),
]


@pytest.mark.parametrize(("prefix", "uri", "tool", "advice"), TOOLS,
                         ids=[t[2] for t in TOOLS])
def test_each_foreign_namespace_is_named(prefix: str, uri: str, tool: str,
                                         advice: str) -> None:
    # A task without a role (a problem of its own) carrying the tool's extension.
    task = (f'<bpmn:userTask id="t" name="Approve"><bpmn:extensionElements>'
            f'<{prefix}:ext xmlns:{prefix}="{uri}" {prefix}:key="v" />'
            "</bpmn:extensionElements></bpmn:userTask>")
    body = "\n".join(['<bpmn:startEvent id="start" />', task, '<bpmn:endEvent id="end" />',
                      chain("start", "t", "end")])
    content = bpmn(body)
    [named] = [p for p in problems_of(content) if p.code == "diagram.foreign_extensions"]
    assert tool in named.message and advice in named.message
    assert named.params["namespace"] == uri
    assert named.line == line_of(content, f"<{prefix}:ext")


def test_camunda7_message_says_to_import() -> None:
    task = '<bpmn:userTask id="t" name="Approve" camunda:formKey="embedded:app:x.html" />'
    content = _with_ns(bpmn(simple(task)), "camunda", "http://camunda.org/schema/1.0/bpmn")
    problems = problems_of(content)
    [named] = [p for p in problems if p.code == "diagram.foreign_extensions"]
    assert named.message == (
        "this diagram was drawn for Camunda 7: the engine does not read its Camunda 7 "
        "settings (formKey); use Import from Camunda 7, which converts what it can and "
        "lists the rest")
    assert named.params["tool"] == "Camunda 7"


def test_an_old_camunda_prefix_on_the_activiti_namespace_is_activiti() -> None:
    root = parse_xml(_with_ns(bpmn(simple('<bpmn:task id="t" camunda:async="true" />')),
                              "camunda", "http://activiti.org/bpmn"), "t.bpmn").getroot()
    [use] = foreign_tools(root)
    assert use.tool.name == "Activiti" and use.settings == ("async",)


def test_a_declared_but_unused_namespace_is_not_reported() -> None:
    content = _with_ns(bpmn(simple()), "camunda", "http://camunda.org/schema/1.0/bpmn")
    assert problems_of(content) == []


def test_modelling_tool_metadata_alone_does_not_refuse_a_diagram() -> None:
    task = ('<bpmn:task id="t" name="Task 1"><bpmn:extensionElements>'
            '<signavio:signavioMetaData xmlns:signavio="http://www.signavio.com" '
            'metaKey="bgcolor" metaValue="#fff" /></bpmn:extensionElements></bpmn:task>')
    assert problems_of(bpmn(simple(task))) == []


def test_camunda_dmn_11_names_camunda_modeler() -> None:
    content = (b'<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns='
               b'"http://www.omg.org/spec/DMN/20151101/dmn11.xsd" id="d" name="D" '
               b'namespace="http://camunda.org/schema/1.0/dmn"><decision id="x" name="X"/>'
               b"</definitions>")
    [problem] = problems_of(content, "rules.dmn")
    assert problem.code == "dmn.unsupported_version"
    assert "DMN 1.1 as Camunda Modeler writes it" in problem.message
    assert "Import from Camunda 7" in problem.message


def test_an_operation_named_like_an_element_id_is_named_before_the_library_trips() -> None:
    task = ('<bpmn:serviceTask id="t" name="Notify"><bpmn:extensionElements>'
            '<spiffworkflow:serviceTaskOperator id="t" /></bpmn:extensionElements>'
            "</bpmn:serviceTask>")
    problem = only(problems_of(bpmn(simple(task))), "t")
    assert problem.message == (
        "service task 'Notify': its operation 't' has the same name as the id of service "
        "task 'Notify', which the engine would confuse: give that element another id")
