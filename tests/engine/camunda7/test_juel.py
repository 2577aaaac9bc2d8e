"""The JUEL subset Camunda 7 diagrams use, translated and evaluated in the engine's sandbox.

Each row is a JUEL expression and two sets of variables: under the first it must be true,
under the second false (so a translation that is always true or always false fails).
"""

from __future__ import annotations

import pytest

from engine.camunda7.dmn import _Untranslated, output_value, unary_test
from engine.camunda7.juel import OutsideSubset, translate, translate_value
from engine.spiff.sandbox import SandboxEnvironment

SANDBOX = SandboxEnvironment()

TABLE = [
    ("${approved}", {"approved": True}, {"approved": False}),
    ("#{approved}", {"approved": True}, {"approved": False}),
    ("${!approved}", {"approved": False}, {"approved": True}),
    ("${not approved}", {"approved": False}, {"approved": True}),
    ("${approved == true}", {"approved": True}, {"approved": False}),
    ("${approved eq false}", {"approved": False}, {"approved": True}),
    ("${amount > 1000}", {"amount": 1001}, {"amount": 1000}),
    ("${amount gt 1000}", {"amount": 1001}, {"amount": 1000}),
    ("${amount >= 1000}", {"amount": 1000}, {"amount": 999}),
    ("${amount ge 1000}", {"amount": 1000}, {"amount": 999}),
    ("${amount < 10.5}", {"amount": 10}, {"amount": 11}),
    ("${amount lt 10.5}", {"amount": 10}, {"amount": 11}),
    ("${amount <= 5}", {"amount": 5}, {"amount": 6}),
    ("${amount le 5}", {"amount": 5}, {"amount": 6}),
    ("${status != 'open'}", {"status": "closed"}, {"status": "open"}),
    ("${status ne \"open\"}", {"status": "closed"}, {"status": "open"}),
    ("${category == 'it'}", {"category": "it"}, {"category": "hr"}),
    ("${a && b}", {"a": True, "b": True}, {"a": True, "b": False}),
    ("${a and b}", {"a": True, "b": True}, {"a": False, "b": True}),
    ("${a || b}", {"a": False, "b": True}, {"a": False, "b": False}),
    ("${a or b}", {"a": True, "b": False}, {"a": False, "b": False}),
    ("${!a && b}", {"a": False, "b": True}, {"a": True, "b": True}),
    ("${!(a && b)}", {"a": True, "b": False}, {"a": True, "b": True}),
    ("${empty comment}", {"comment": ""}, {"comment": "fine"}),
    ("${empty items}", {"items": []}, {"items": [1]}),
    ("${empty owner}", {"owner": None}, {"owner": "ann"}),
    ("${not empty comment}", {"comment": "x"}, {"comment": ""}),
    ("${!empty comment}", {"comment": "x"}, {"comment": ""}),
    ("${project.budget > 5000}", {"project": {"budget": 6000}}, {"project": {"budget": 10}}),
    ("${project.owner.name == 'Li'}", {"project": {"owner": {"name": "Li"}}},
     {"project": {"owner": {"name": "Wu"}}}),
    ("${project['stage'] == 'done'}", {"project": {"stage": "done"}},
     {"project": {"stage": "open"}}),
    ("${score * 2 + 1 > 10}", {"score": 5}, {"score": 4}),
    ("${score mod 2 == 0}", {"score": 4}, {"score": 3}),
    ("${score div 2 == 2}", {"score": 4}, {"score": 3}),
    ("${-score < 0}", {"score": 1}, {"score": -1}),
    ("${approved ? amount > 10 : false}", {"approved": True, "amount": 11},
     {"approved": False, "amount": 11}),
    ("${x == null}", {"x": None}, {"x": 1}),
    ("${execution.getVariable('ok')}", {"ok": True}, {"ok": False}),
    ("${  amount > 1000 && (type == 'capex' || urgent)  }",
     {"amount": 2000, "type": "opex", "urgent": True},
     {"amount": 2000, "type": "opex", "urgent": False}),
]


@pytest.mark.parametrize(("juel", "true_vars", "false_vars"), TABLE, ids=[r[0] for r in TABLE])
def test_translation_is_true_and_false_when_juel_is(juel, true_vars, false_vars):
    python = translate(juel)
    assert SANDBOX.evaluate(python, dict(true_vars)) is True
    assert SANDBOX.evaluate(python, dict(false_vars)) is False


def test_precedence_of_not_follows_juel():
    # JUEL binds ! tighter than ==: (!a) == b.  Python's `not a == b` would be not (a == b).
    python = translate("${!a == b}")
    assert SANDBOX.evaluate(python, {"a": False, "b": True}) is True
    assert SANDBOX.evaluate(python, {"a": True, "b": True}) is False


@pytest.mark.parametrize(
    ("juel", "fragment"),
    [
        ("${orderService.isValid(order)}", "method call '.isValid(...)'"),
        ("${execution.getProcessInstanceId()}", "'execution' object"),
        ("${task.assignee}", "'task' object"),
        ("${dateTime().plusDays(2)}", "function call 'dateTime(...)'"),
        ("Hello ${name}", "text around ${...}"),
        ("${a}${b}", "several ${...}"),
        ("${a =~ b}", "outside the JUEL subset"),
        ("${__import__}", "cannot be used"),
        ("approved", "not a JUEL expression"),
        ("${a > }", "unexpected"),
    ],
)
def test_outside_the_subset_is_named(juel, fragment):
    with pytest.raises(OutsideSubset, match=None) as err:
        translate(juel)
    assert fragment in str(err.value)


def test_values_plain_text_is_quoted_and_expressions_translated():
    assert translate_value("demo") == "'demo'"
    assert translate_value("${initiator}") == "initiator"
    assert SANDBOX.evaluate(translate_value("it's"), {}) == "it's"


FEEL = [
    ('"high"', "high", "low"),
    ('"a","b"', "b", "c"),
    ("> 500", 501, 500),
    ("<= 30", 30, 31),
    ("[1..5]", 5, 6),
    ("]1..5]", 2, 1),
    ("[1..5[", 4, 5),
    ("not(\"x\")", "y", "x"),
    ("true", True, False),
    ("[1..3],[7..9]", 8, 5),
]


@pytest.mark.parametrize(("cell", "hit", "miss"), FEEL, ids=[r[0] for r in FEEL])
def test_feel_unary_tests_become_python_cells(cell, hit, miss):
    python = unary_test(cell)
    python = python.replace("?", "value") if "?" in python else f"value == ({python})"
    assert SANDBOX.evaluate(python, {"value": hit}) is True
    assert SANDBOX.evaluate(python, {"value": miss}) is False


def test_feel_outputs_and_what_is_not_translated():
    assert SANDBOX.evaluate(output_value('"Established in 1950,\n East Africa"'), {}) == (
        "Established in 1950,\n East Africa"
    )
    assert output_value("null") == "None"
    assert unary_test("-") == unary_test("") == ""
    with pytest.raises(_Untranslated):
        unary_test('date and time("2020-01-01T00:00:00")')
