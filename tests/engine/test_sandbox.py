"""The script sandbox: normal PMO code works, data stays isolated, time limits hold."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from xml.sax.saxutils import escape

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.spiff.sandbox import (
    NonJsonValue,
    SandboxedScriptEngine,
    SandboxEnvironment,
    SandboxError,
    SandboxLimitError,
    SandboxLimits,
    SandboxTimeout,
    _compile,
    check_source,
    to_json_value,
)
from engine.spiff.script_helpers import make_helpers, parse_amount

SHORT = SandboxLimits(condition_seconds=0.2, script_seconds=0.2)
FRIDAY = datetime(2025, 1, 31, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def env() -> SandboxEnvironment:
    return SandboxEnvironment(SHORT, make_helpers(lambda: FRIDAY))


def fake_task(data: dict[str, Any], bpmn_id: str = "calc") -> Any:
    """Just enough of a SpiffWorkflow task for WorkflowTaskException."""
    workflow = SimpleNamespace(spec=SimpleNamespace(file="test.bpmn"))
    workflow.top_workflow = workflow
    spec = SimpleNamespace(bpmn_id=bpmn_id, bpmn_name=bpmn_id.title())
    return SimpleNamespace(data=data, task_spec=spec, workflow=workflow)


# --- expressions and scripts that must work ---------------------------------------------

PROJECT = {"budget": 250_000, "risk_score": 15, "probability": 3, "impact": 4,
           "category": "R&D", "name": "ERP", "costs": [1200, 800, 450]}  # fmt: skip


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("budget > 100000", True),
        ("risk_score >= 15", True),
        ("probability * impact", 12),
        ("category in ['IT', 'R&D']", True),
        ("[c * 2 for c in costs if c > 500]", [2400, 1600]),
        ("{'n': name, 'total': sum(costs)}", {"n": "ERP", "total": 2450}),
        ("f'{name}: {budget:,} ({len(costs)} items)'", "ERP: 250,000 (3 items)"),
        ("sorted(costs)[0]", 450),
        ("max(costs) - min(costs) + abs(-1) + round(2.5)", 753),
        ("(1, 2)", [1, 2]),
        ("2 ** 10 + (1 << 3) + 7 % 4 + len('ab' * 3)", 1024 + 8 + 3 + 6),
        ("'%s-%05d' % (name, 42)", "ERP-00042"),
        ("None", None),
    ],
)
def test_pmo_expressions(env: SandboxEnvironment, expression: str, expected: Any) -> None:
    data = dict(PROJECT)
    assert env.evaluate(expression, data) == expected
    assert data == PROJECT


def test_script_with_loops_functions_and_exceptions(env: SandboxEnvironment) -> None:
    data = {"risks": [{"id": "R1", "p": 3, "i": 5}, {"id": "R2", "p": 1, "i": 2}], "raw": "12x"}
    script = """
def score(risk):
    return risk['p'] * risk['i']

scores = {}
for risk in risks:
    scores[risk['id']] = score(risk)
scores['R1'] += 100
try:
    amount = int(raw)
except ValueError:
    amount = -1
high = [k for k, v in sorted(scores.items()) if v >= 10]
n = 0
while n < 3:
    n += 1
first, *rest = high + ['none']
double = lambda v: v * 2
twice = double(n)
"""
    assert env.execute(script, data) is True
    assert data["scores"] == {"R1": 115, "R2": 2}
    assert data["amount"] == -1
    assert data["high"] == ["R1"]
    assert (data["n"], data["first"], data["rest"]) == (3, "R1", ["none"])
    assert data["twice"] == 6
    assert "score" not in data and "double" not in data  # script functions are not data
    assert "today" not in data and "len" not in data


def test_helpers(env: SandboxEnvironment) -> None:
    data: dict[str, Any] = {}
    env.execute(
        "t = today()\nn = now()\nnext_wd = add_working_days(t, 1)\n"
        "back = add_working_days('2025-02-03', -1)\nd = add_days(t, 30)\n"
        "gap = days_between(t, d)\namount = parse_amount('1234.50')\nsla = hours(48)",
        data,
    )
    assert data == {
        "t": "2025-01-31", "n": "2025-01-31T09:30:15+00:00", "next_wd": "2025-02-03",
        "back": "2025-01-31", "d": "2025-03-02", "gap": 30, "amount": 1234.5, "sla": "PT48H",
    }  # fmt: skip


def test_helper_rules() -> None:
    helpers = make_helpers(lambda: FRIDAY, holidays=["2025-02-03"])
    assert helpers["add_working_days"]("2025-01-31", 1) == "2025-02-04"
    assert helpers["add_working_days"]("2025-01-31", 0) == "2025-01-31"
    assert helpers["hours"](1.5) == "PT1.5H"
    assert parse_amount(12) == 12.0
    for bad in ("12,50", "abc", "", None, [1], "nan", "1e999"):
        with pytest.raises(ValueError, match="parse_amount"):
            parse_amount(bad)
    with pytest.raises(ValueError, match="whole number"):
        helpers["add_working_days"]("2025-01-31", 10**9)
    with pytest.raises(ValueError, match="ISO date"):
        helpers["add_days"]("31/01/2025", 1)


def test_data_shadows_helpers(env: SandboxEnvironment) -> None:
    assert env.evaluate("today", {"today": "in data"}) == "in data"


# --- data isolation ---------------------------------------------------------------------


def test_nested_data_is_copied_before_running(env: SandboxEnvironment) -> None:
    meta = {"owner": "al", "tags": ["a"]}
    earlier_task = {"proj": {"meta": meta}}
    data = {"proj": earlier_task["proj"]}  # SpiffWorkflow shares nested objects this way
    env.execute("proj['meta']['owner'] = 'bob'\nproj['meta']['tags'].append('b')", data)
    assert data["proj"]["meta"] == {"owner": "bob", "tags": ["a", "b"]}
    assert meta == {"owner": "al", "tags": ["a"]}
    assert earlier_task["proj"]["meta"] is meta
    env.evaluate("proj['meta']['tags'].append('c') or True", data)
    assert data["proj"]["meta"]["tags"] == ["a", "b"]


def test_only_assigned_or_changed_variables_are_written(env: SandboxEnvironment) -> None:
    table = OrderedDict(role="pm")  # e.g. a DMN result: read, not changed
    untouched = {"deep": [1, 2]}
    data = {"table": table, "other": untouched, "x": 1}
    env.execute("y = table['role'] + str(x)", data)
    assert data["table"] is table and data["other"] is untouched
    assert data["y"] == "pm1"


def test_deletions_are_applied(env: SandboxEnvironment) -> None:
    data = {"a": 1, "b": 2, "c": 3}
    env.execute("del a\nc = b + c", data)
    assert data == {"b": 2, "c": 5}


@pytest.mark.parametrize(
    "script",
    ["a = 99\ndel b\nx = 1 / 0", "a = 99\ndel b\nbad = {1, 2}", "a = 99\nwhile True:\n    pass"],
)
def test_context_unchanged_after_failing_script(env: SandboxEnvironment, script: str) -> None:
    data = {"a": 1, "b": [2]}
    with pytest.raises((ZeroDivisionError, SandboxError)):
        env.execute(script, data)
    assert data == {"a": 1, "b": [2]}


def test_evaluate_returns_plain_json(env: SandboxEnvironment) -> None:
    assert env.evaluate("{'a': (1, 2.5, None)}", {}) == {"a": [1, 2.5, None]}
    with pytest.raises(NonJsonValue, match="the result is a set"):
        env.evaluate("{1, 2}", {})
    with pytest.raises(NonJsonValue, match=r"the result\['k'\] is a function"):
        env.evaluate("{'k': today}", {})


def test_to_json_value_paths_and_types() -> None:
    assert to_json_value({"a": (1, [True, "x"])}) == {"a": [1, [True, "x"]]}
    cases = [
        ({"x": [0, 1, {3}]}, r"result\['x'\]\[2\] is a set"),
        ({"x": float("nan")}, r"result\['x'\] is nan"),
        ({"x": float("-inf")}, r"is -inf"),
        ({1: "a"}, "non-string key 1"),
        (OrderedDict(a=1), "is a OrderedDict"),
        ([b"x"], r"result\[0\] is a bytes"),
        (print, "is a builtin_function_or_method"),
        (datetime.now(), "is a datetime"),
    ]
    for value, message in cases:
        with pytest.raises(NonJsonValue, match=message):
            to_json_value(value, "result")
    with pytest.raises(SandboxLimitError):
        to_json_value([[0] * 1000] * 1001, "big")
    nested: list[Any] = []
    for _ in range(200):
        nested = [nested]
    with pytest.raises(NonJsonValue, match="nested"):
        to_json_value(nested)


# --- compile policy ---------------------------------------------------------------------


def test_check_source_reports_line_and_matches_runtime(env: SandboxEnvironment) -> None:
    assert check_source("x = 1\ny = [i for i in range(3)]", "exec") is None
    assert check_source("budget > 100000", "eval") is None
    line, message = check_source("x = 1\n\nimport os", "exec")  # type: ignore[misc]
    assert line == 3 and "import" in message
    assert check_source("x =", "exec")[0] == 1  # type: ignore[index]
    assert check_source("x = 1", "eval") is not None  # a statement is no expression
    with pytest.raises(SandboxError, match="line 3: import") as caught:
        env.execute("x = 1\n\nimport os", {})
    assert caught.value.line_number == 3


def test_compiled_code_is_cached() -> None:
    source = "risk_score * 2 > 7  # cache probe"
    before = _compile.cache_info().hits
    check_source(source, "eval")
    SandboxEnvironment(SHORT).evaluate(source, {"risk_score": 4})
    assert _compile.cache_info().hits == before + 1


# --- time limits ------------------------------------------------------------------------


def test_timeout_in_main_thread(env: SandboxEnvironment) -> None:
    started = time.monotonic()
    with pytest.raises(SandboxTimeout, match=r"time limit of 0\.2 s exceeded \(line 3\)"):
        env.execute("n = 0\nwhile True:\n    n += 1", {})
    assert time.monotonic() - started < 5
    with pytest.raises(SandboxTimeout, match=r"time limit of 0\.2 s"):
        env.evaluate("[x for x in range(10**6) for y in range(10**6)]", {})


def test_timeout_in_worker_thread(env: SandboxEnvironment) -> None:
    outcome: dict[str, BaseException] = {}

    def work() -> None:
        try:
            env.execute("while True:\n    pass", {})
        except BaseException as exc:  # recorded for the assertion
            outcome["error"] = exc

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(5)
    assert not thread.is_alive()
    assert isinstance(outcome["error"], SandboxTimeout)


def test_concurrent_deadlines_do_not_interfere() -> None:
    short = SandboxEnvironment(SandboxLimits(script_seconds=0.2))
    long = SandboxEnvironment(SandboxLimits(script_seconds=30))
    results: dict[str, Any] = {}

    def run(name: str, env: SandboxEnvironment, script: str) -> None:
        data: dict[str, Any] = {}
        try:
            env.execute(script, data)
            results[name] = data
        except BaseException as exc:  # recorded for the assertion
            results[name] = exc

    counting = "n = 0\nwhile n < 300000:\n    n += 1"
    threads = [threading.Thread(target=run, args=("short", short, "while True:\n    pass")),
               threading.Thread(target=run, args=("long", long, counting))]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert isinstance(results["short"], SandboxTimeout)
    assert "0.2 s" in str(results["short"])
    assert results["long"] == {"n": 300000}


def test_recursion_is_a_clean_error(env: SandboxEnvironment) -> None:
    with pytest.raises(SandboxError, match="recursion"):
        env.execute("def f(n):\n    return f(n + 1)\nf(0)", {})
    assert env.evaluate("1 + 1", {}) == 2  # nothing left broken


# --- through the script engine ----------------------------------------------------------


def test_engine_wraps_errors_with_line_and_element() -> None:
    engine = SandboxedScriptEngine(SHORT, helpers={})
    task = fake_task({"a": 1})
    with pytest.raises(WorkflowTaskException) as caught:
        engine.execute(task, "b = a\nc = missing + 1", None)
    error = caught.value
    assert (error.line_number, error.error_line) == (2, "c = missing + 1")
    assert isinstance(error.__cause__, NameError) and error.__context__ is error.__cause__
    assert "line 2" in str(error) and "name 'missing' is not defined" in str(error)
    assert error.task.task_spec.bpmn_id == "calc"
    assert task.data == {"a": 1}

    with pytest.raises(WorkflowTaskException, match="ZeroDivisionError") as caught:
        engine.evaluate(task, "a / 0")
    assert isinstance(caught.value.__cause__, ZeroDivisionError)

    with pytest.raises(WorkflowTaskException, match=r"time limit of 0\.2 s") as caught:
        engine.execute(task, "x = 1\nwhile True:\n    x = 2", None)
    assert caught.value.line_number == 3 and caught.value.error_type == "SandboxTimeout"


def test_call_service() -> None:
    calls = []

    def services(task: Any, name: str, params: dict) -> Any:
        calls.append((task.task_spec.bpmn_id, name, params))
        return {"code": "PRJ-2025-0001", "n": (1, 2)}

    engine = SandboxedScriptEngine(services=services)
    task = fake_task({})
    params = {"name": {"value": "ERP", "type": "str"}}
    reply = engine.call_service(task, operation_name="register", operation_params=params)
    assert reply == '{"code": "PRJ-2025-0001", "n": [1, 2]}'
    assert calls == [("calc", "register", params)]
    with pytest.raises(WorkflowTaskException, match="no service handler"):
        SandboxedScriptEngine().call_service(task, operation_name="x", operation_params={})


BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="proc" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
    <bpmn:scriptTask id="calc" name="Calculate">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="decide"/>
    <bpmn:businessRuleTask id="decide">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>approval</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="f3" sourceRef="decide" targetRef="gw"/>
    <bpmn:exclusiveGateway id="gw" default="to_low">
      <bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>to_high</bpmn:outgoing><bpmn:outgoing>to_low</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="to_high" sourceRef="gw" targetRef="end_high">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"
        >{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_low" sourceRef="gw" targetRef="end_low"/>
    <bpmn:endEvent id="end_high"><bpmn:incoming>to_high</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_low"><bpmn:incoming>to_low</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""

DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="rules" name="Rules"
    namespace="http://pmoflow/dmn">
  <decision id="approval" name="Approval">
    <decisionTable id="table" hitPolicy="UNIQUE">
      <input id="in_total" label="Total">
        <inputExpression id="in_total_expr" typeRef="number"><text>total</text></inputExpression>
      </input>
      <output id="out_approver" label="Approver" name="approver" typeRef="string"/>
      <rule id="big"><inputEntry id="big_in"><text>&gt; 100000</text></inputEntry>
        <outputEntry id="big_out"><text>"board"</text></outputEntry></rule>
      <rule id="small"><inputEntry id="small_in"><text></text></inputEntry>
        <outputEntry id="small_out"><text>"pm"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""


def run_process(script: str, condition: str, data: dict[str, Any]) -> BpmnWorkflow:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(BPMN.format(script=escape(script), condition=escape(condition)).encode(),
                        filename="test.bpmn")  # fmt: skip
    parser.add_dmn_str(DMN.encode(), filename="rules.dmn")
    spec = parser.get_spec("proc")
    workflow = BpmnWorkflow(spec, parser.get_subprocess_specs("proc"),
                            script_engine=SandboxedScriptEngine(SHORT))  # fmt: skip
    workflow.get_tasks(spec_name="start")[0].data.update(data)
    workflow.do_engine_steps()
    return workflow


def finished(workflow: BpmnWorkflow) -> set[str]:
    return {t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)}


@pytest.mark.parametrize(
    ("costs", "branch", "approver"),
    [([90_000, 30_000], "end_high", "board"), ([5, 10], "end_low", "pm")],
)
def test_process_runs_through_the_sandbox(costs: list[int], branch: str, approver: str) -> None:
    workflow = run_process("total = sum(costs)", "approver == 'board' and total > 100000",
                           {"costs": costs})  # fmt: skip
    assert workflow.completed
    other = ({"end_high", "end_low"} - {branch}).pop()
    assert {branch, "calc", "decide"} <= finished(workflow) and other not in finished(workflow)
    assert workflow.data["approver"] == approver and workflow.data["total"] == sum(costs)


def test_process_script_timeout_names_the_element() -> None:
    with pytest.raises(WorkflowTaskException) as caught:
        run_process("x = 1\nwhile True:\n    x += 1", "True", {"costs": []})
    error = caught.value
    assert error.task.task_spec.bpmn_id == "calc"
    assert "time limit of 0.2 s exceeded" in str(error) and error.line_number == 3


def test_process_hostile_condition_is_refused(tmp_path: Any) -> None:
    marker = tmp_path / "pwned"
    condition = f"__import__('os').system('touch {marker}') == 0"
    assert check_source(condition, "eval") is not None
    with pytest.raises(WorkflowTaskException) as caught:
        run_process("total = 1", condition, {"costs": []})
    assert caught.value.task.task_spec.bpmn_id == "gw"
    assert "_import__" in str(caught.value)
    assert not marker.exists()
