"""The diff between two diagrams: pure, over the parsed XML."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from engine.errors import InvalidDiagram
from engine.version_diff import diff_diagrams
from tests.engine.test_versions import chain


def test_added_removed_and_changed_elements():
    old = chain([("a", "Check"), ("b", "Approve")])
    new = chain([("a", "Check completeness"), ("c", "Sign off")], lane="pmo_head")
    diff = diff_diagrams(old, new)
    assert [c.element_id for c in diff.added] == ["c"]
    assert [c.element_id for c in diff.removed] == ["b"]
    assert diff.removed[0].name == "Approve" and diff.removed[0].type == "userTask"
    changed = {c.element_id: {f.field: (f.old, f.new) for f in c.changes}
               for c in diff.changed}
    assert changed["a"] == {"name": ("Check", "Check completeness"),
                            "lane": ("pmo_reviewer", "pmo_head")}
    assert changed["f2"] == {"source": ("b", "c")}
    assert changed["start"] == {"lane": ("pmo_reviewer", "pmo_head")}
    assert not diff.empty


def test_conditions_properties_and_timers_count_layout_does_not():
    base = chain([("a", "Check")])
    with_props = base.replace(
        '<bpmn:userTask id="a" name="Check">',
        '<bpmn:userTask id="a" name="Check"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="sla" value="P3D"/></spiffworkflow:properties>'
        '</bpmn:extensionElements>')
    with_cond = with_props.replace(
        '<bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="end"/>',
        '<bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="end"><bpmn:conditionExpression>'
        'budget &gt; 5</bpmn:conditionExpression></bpmn:sequenceFlow>')
    diff = diff_diagrams(base, with_cond)
    changed = {c.element_id: {f.field: (f.old, f.new) for f in c.changes}
               for c in diff.changed}
    assert changed == {"a": {"property sla": (None, "P3D")},
                       "f1": {"condition": (None, "budget > 5")}}
    assert diff_diagrams(base, base.replace("<bpmn:laneSet", " <bpmn:laneSet")).empty


def test_an_unsafe_file_is_refused_by_the_safe_parser():
    with pytest.raises(InvalidDiagram):
        diff_diagrams('<!DOCTYPE x [<!ENTITY e "x">]><x/>', chain([("a", "A")]))


def test_diagrams_drawn_in_other_tools_compare_without_error():
    files = sorted((Path(__file__).parents[1] / "conformance" / "miwg-reference")
                   .glob("*.bpmn"))
    assert len(files) > 10
    for before, after in pairwise(files):
        assert diff_diagrams(before.read_bytes(), before.read_bytes()).empty
        found = diff_diagrams(before.read_bytes(), after.read_bytes())
        assert all(c.element_id for c in (*found.added, *found.removed, *found.changed))
