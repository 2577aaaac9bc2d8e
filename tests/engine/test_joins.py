"""The data merge at a join (engine/spiff/joins.py), as a pure function."""

from __future__ import annotations

from engine.spiff.joins import merge_branches


def test_each_branch_adds_its_own_keys_and_untouched_values_stay():
    base = {"title": "T", "n": 1}
    merged, conflicts = merge_branches(base, [("a", {**base, "x": 1}), ("b", {**base, "y": 2})])
    assert merged == {"title": "T", "n": 1, "x": 1, "y": 2} and conflicts == {}


def test_objects_merge_key_by_key_lists_are_replaced_never_unioned():
    base = {"routing": {"roles": ["a", "b"], "reviews": {}}, "slas": [3, 5, 5]}
    merged, conflicts = merge_branches(base, [
        ("pmo", {"routing": {"roles": ["a", "b"], "reviews": {"pmo": "ok"}}, "slas": [3]}),
        ("fin", {"routing": {"roles": ["a", "b"], "reviews": {"fin": "no"}},
                 "slas": [3, 5, 5]}),
    ])
    assert merged["routing"]["reviews"] == {"pmo": "ok", "fin": "no"}
    assert merged["slas"] == [3]  # one branch shortened it; the other left it alone
    assert conflicts == {}


def test_a_value_two_branches_wrote_differently_is_a_conflict_the_last_wins():
    base = {"shared": "start"}
    merged, conflicts = merge_branches(base, [
        ("w1", {"shared": "one"}), ("w2", {"shared": "start"}), ("w3", {"shared": "three"})])
    assert merged == {"shared": "three"}
    assert conflicts == {"shared": ["w1", "w3"]}


def test_the_same_value_written_twice_is_no_conflict():
    merged, conflicts = merge_branches({}, [("a", {"k": [1]}), ("b", {"k": [1]})])
    assert merged == {"k": [1]} and conflicts == {}


def test_replacing_an_object_another_branch_changed_inside_is_a_conflict_on_the_object():
    base = {"p": {"a": 1, "b": 2}}
    merged, conflicts = merge_branches(base, [("x", {"p": {"a": 5, "b": 2}}),
                                              ("y", {"p": "gone"})])
    assert merged == {"p": "gone"} and conflicts == {"p": ["x", "y"]}


def test_a_removed_key_is_removed():
    merged, conflicts = merge_branches({"tmp": 1, "k": 2}, [("a", {"k": 2}), ("b", {"tmp": 1,
                                                                                  "k": 2})])
    assert merged == {"k": 2} and conflicts == {}
