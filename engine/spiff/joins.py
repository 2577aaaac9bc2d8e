"""What data goes on after a parallel or inclusive join (applied on import).

SpiffWorkflow 3.2 deep-merges the arriving branches' data: a key two branches set to
different values silently ends with the last one, and lists are merged as sets (a list
one branch shortened comes back whole, ``[3, 5, 5]`` becomes ``[3, 5]``).  The rule here,
documented for diagram authors in ``docs/modeling.md``:

- The data that goes on is the data as it was at the split, plus each branch's own
  changes, in the order the branches arrived.  Objects are compared key by key, so two
  branches filling in different keys of one object (``routing.reviews.finance`` and
  ``routing.reviews.pmo_head``) both arrive; any other value a branch added, changed or
  removed (text, numbers, lists) replaces the split's whole: lists are never merged.
- Values no branch touched keep their value from the split.
- When two branches changed the same value (or one changed a value inside an object the
  other replaced) differently, the branch that arrived last wins, and the conflict is
  recorded (the path, the branches' last elements, the winner) for the audit trail
  (:func:`take_conflicts`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.util.task import TaskState

from engine.spiff.stepping import common_ancestor

#: Attribute on the top workflow collecting conflicts until the action audits them.
_NOTES = "_pmoflow_join_conflicts"
_MISSING = object()


@dataclass(frozen=True)
class JoinConflict:
    """Two or more branches wrote one key differently before a join."""

    join_id: str
    key: str
    #: Element id of the last step of each branch that changed the key, arrival order.
    branches: tuple[str, ...]
    #: The branch whose value went on (the last to arrive).
    winner: str


Path = tuple[str, ...]


def changes(
    base: dict[str, Any], data: dict[str, Any], prefix: Path = ()
) -> list[tuple[Path, Any]]:
    """What ``data`` changed relative to ``base``: (path, new value or missing), objects
    compared key by key."""
    out: list[tuple[Path, Any]] = []
    for key in sorted(base.keys() | data.keys(), key=str):
        before, after = base.get(key, _MISSING), data.get(key, _MISSING)
        if before == after:
            continue
        path = (*prefix, key)
        if isinstance(before, dict) and isinstance(after, dict):
            out.extend(changes(before, after, path))
        else:
            out.append((path, after))
    return out


def _apply(target: dict[str, Any], path: Path, value: Any) -> None:
    node = target
    for key in path[:-1]:
        inner = node.get(key)
        if not isinstance(inner, dict):
            inner = node[key] = {}
        node = inner
    if value is _MISSING:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = copy.deepcopy(value)


def merge_branches(
    base: dict[str, Any], branches: list[tuple[str, dict[str, Any]]]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The data after a join: ``base`` (the split's data) with each branch's changes
    applied in arrival order; and, per dotted path, the branches that wrote it
    differently (only where two or more branches disagree)."""
    result = copy.deepcopy(base)
    writes: list[tuple[str, Path, Any]] = []
    for branch, data in branches:
        for path, value in changes(base, data):
            writes.append((branch, path, value))
            _apply(result, path, value)
    conflicts: dict[str, list[str]] = {}
    for i, (b1, p1, v1) in enumerate(writes):
        for b2, p2, v2 in writes[i + 1 :]:
            short = min(p1, p2, key=len)
            if b1 == b2 or (p1[: len(short)] != short or p2[: len(short)] != short):
                continue
            if p1 == p2 and v1 == v2:
                continue
            found = conflicts.setdefault(".".join(map(str, short)), [])
            for b in (b1, b2):
                if b not in found:
                    found.append(b)
    return result, conflicts


def _run_hook(self: Any, my_task: Any) -> bool:
    arrived = sorted(
        (
            t
            for t in my_task.workflow.tasks.values()
            if t.task_spec == self
            and t is not my_task
            and t.has_state(TaskState.FINISHED_MASK)
            and not my_task.is_descendant_of(t)
        ),
        key=lambda t: t.last_state_change,
    )
    branch_ends = [t.parent for t in [*arrived, my_task] if t.parent is not None]
    split = common_ancestor(branch_ends)
    if split is None or split in branch_ends or len(branch_ends) < 2:
        return _library_run_hook(self, my_task)
    merged, conflicts = merge_branches(
        split.data, [(t.task_spec.bpmn_id or t.task_spec.name, t.data) for t in branch_ends]
    )
    for task in arrived:
        if task.has_state(TaskState.COMPLETED):
            task._drop_children(force=True)
    my_task.data = merged
    if conflicts:
        notes = getattr(my_task.workflow.top_workflow, _NOTES, None)
        if notes is None:
            notes = []
            setattr(my_task.workflow.top_workflow, _NOTES, notes)
        notes.extend(
            JoinConflict(self.bpmn_id or self.name, key, tuple(found), found[-1])
            for key, found in sorted(conflicts.items())
        )
    return True


def take_conflicts(workflow: Any) -> list[JoinConflict]:
    """The join conflicts recorded since the last call (then forgotten)."""
    notes = getattr(workflow, _NOTES, None) or []
    if notes:
        setattr(workflow, _NOTES, [])
    return list(notes)


def _this_round(self: Any, my_task: Any) -> tuple[list[Any], list[Any]]:
    """The join's tasks and the READY/WAITING task specs that may still reach it, in this
    round only: below the join's last firing when ``my_task`` descends from it (a loop),
    else the whole tree (as the library looks)."""
    fence = my_task.parent
    while fence is not None and fence.task_spec != self:
        fence = fence.parent
    starts = list(fence.children) if fence is not None else [my_task.workflow.task_tree]
    tasks, sources = [], []
    for start in starts:
        for task in my_task.workflow.get_tasks_iterator(start, end_at_spec=self.name):
            if task.task_spec == self:
                tasks.append(task)
            elif task.has_state(TaskState.READY | TaskState.WAITING):
                sources.append(task.task_spec)
    return tasks, sources


def _inclusive_threshold(self: Any, my_task: Any) -> bool:
    """SpiffWorkflow 3.2's inclusive join rule, looking at this round only.

    The library looks at every task of the join in the whole tree.  In a loop whose
    earlier round is still in the tree (it is, when a non-interrupting timer of that
    round reached an end event), it counts the earlier round's arrivals as this round's
    and fires when the first branch arrives, before the others are done.  Here the tree
    searched starts below the join's last firing, as the library's parallel join does.
    """
    tasks, sources = _this_round(self, my_task)
    completed_inputs = {t.parent.task_spec for t in tasks if t.parent.state == TaskState.COMPLETED}
    for task in tasks:
        if (
            task.parent.has_state(TaskState.DEFINITE_MASK)
            and task.parent.task_spec not in completed_inputs
        ):
            return False  # a branch of this join has not arrived yet
    waiting_inputs = [i for i in self.inputs if i not in completed_inputs]
    checked: list[Any] = []

    def check(spec: Any) -> Any:
        # Back through the spec's inputs to the first unfinished task it comes from.
        checked.append(spec)
        for parent in spec.inputs:
            if parent not in checked:
                return parent if parent in sources else check(parent)
        return None

    for spec in completed_inputs:
        source = check(spec)
        if source is not None and source in sources:
            sources.remove(source)
    return all(check(spec) is None for spec in waiting_inputs)


_library_run_hook = UnstructuredJoin._run_hook
UnstructuredJoin._run_hook = _run_hook
InclusiveGateway._check_threshold_unstructured = _inclusive_threshold
