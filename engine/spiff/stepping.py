"""Driving a SpiffWorkflow instance safely: engine steps, loop guards, pruning.

SpiffWorkflow keeps every finished task and iterates its tree with a depth limit of
1000: a loop through a gateway back-edge deepens the tree on every pass until the
library silently stops (see ``../shared/notes/engine-risks.md``).  This module keeps the
tree shallow by cutting finished history (the audit trail keeps it), counts visits per
element to stop runaway loops, and checks that "completed" really means an end event
was reached.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

DEEP = 10**9
#: Completions between two prunes while the engine runs on its own inside one step.
PRUNE_EVERY = 200
_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


class VisitCapExceeded(Exception):
    """An element ran more often than the process allows (a runaway loop)."""

    def __init__(self, element_id: str, cap: int):
        self.element_id = element_id
        self.cap = cap
        super().__init__(
            f"element {element_id} ran more than {cap} times in this instance: the loop "
            "does not end (raise maxElementVisits on the process if this is intended)"
        )


class Stalled(Exception):
    """The workflow has live tasks the library cannot see any more, or none at all."""


class _PruneNow(Exception):
    """Raised before a task runs, to prune and then resume the engine loop."""


@dataclass
class VisitCounter:
    """Counts completed BPMN elements (by original element id) and enforces a cap."""

    visits: dict[str, int]
    cap: int
    id_map: dict[str, str]

    def element_id(self, task: Task) -> str | None:
        """The diagram's element id for a task, or None for the library's own tasks."""
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id is None:
            return None
        return self.id_map.get(bpmn_id, bpmn_id)

    def count(self, task: Task) -> None:
        """Record one completion of ``task``'s element; raise past the cap."""
        element = self.element_id(task)
        if element is None:
            return
        n = self.visits.get(element, 0) + 1
        self.visits[element] = n
        if n > self.cap:
            raise VisitCapExceeded(element, self.cap)


def run_engine(wf: BpmnWorkflow, counter: VisitCounter, prune_every: int = PRUNE_EVERY) -> None:
    """Run every automatic task that can run (gateways, scripts, events, ...).

    Prunes finished history every ``prune_every`` completions so that loops which run
    on their own never push the tree past the library's depth limit.
    """
    done = 0

    def before(task: Task) -> None:
        nonlocal done
        if done >= prune_every:
            done = 0
            raise _PruneNow
        done += 1
        counter.count(task)

    while True:
        purge_orphan_subprocesses(wf)
        try:
            wf.do_engine_steps(will_complete_task=before)
        except _PruneNow:
            prune(wf)
            continue
        except TaskNotFoundException:
            if purge_orphan_subprocesses(wf):
                continue
            raise
        # The library ends with refresh_timers(), which makes timers that are already due
        # READY without running them: run them now, not at some later action.
        if not _automatic_ready(wf):
            break
    check_not_stalled(wf)


def _automatic_ready(wf: BpmnWorkflow) -> bool:
    """Whether a READY task that needs no person is waiting to run."""
    return any(not t.task_spec.manual for t in wf.get_tasks(state=TaskState.READY, max_depth=DEEP))


def purge_orphan_subprocesses(wf: BpmnWorkflow) -> int:
    """Delete sub-workflows whose task no longer exists; return how many.

    SpiffWorkflow 3.2 drops a cancelled task's children before they are cancelled, so an
    interrupting boundary event on a multi-instance sub-process (a lesson-collection
    window) leaves the instances' sub-workflows behind, and the next engine step fails
    looking for their tasks.
    """
    purged = 0
    while True:
        known = set(wf.tasks)
        for sub in wf.subprocesses.values():
            known.update(sub.tasks)
        orphans = [sid for sid, sub in wf.subprocesses.items() if sub.parent_task_id not in known]
        if not orphans:
            return purged
        for sid in orphans:
            wf.subprocesses.pop(sid, None)
            purged += 1


def run_task(wf: BpmnWorkflow, task: Task, counter: VisitCounter) -> None:
    """Complete one manual (user) task, then let the engine run."""
    counter.count(task)
    task.run()
    run_engine(wf, counter)


def is_finished(wf: BpmnWorkflow) -> bool:
    """True only when an end event was reached and no task anywhere is left unfinished.

    ``wf.is_completed()`` can answer True for a loop the library stopped seeing; this
    looks at the whole tree instead.
    """
    if not wf.completed:
        return False
    unfinished = wf.get_tasks(state=TaskState.NOT_FINISHED_MASK, max_depth=DEEP)
    return not unfinished


def check_not_stalled(wf: BpmnWorkflow) -> None:
    """Raise :class:`Stalled` if the workflow can make no progress and is not finished."""
    if wf.completed:
        if not is_finished(wf):
            hidden = wf.get_tasks(state=_LIVE, max_depth=DEEP)
            if hidden:
                raise Stalled(
                    "the engine marked the instance completed while tasks were still "
                    "open: " + ", ".join(_describe(t) for t in hidden[:5])
                )
        return
    if wf.get_tasks(state=_LIVE):
        return
    hidden = wf.get_tasks(state=_LIVE, max_depth=DEEP)
    if hidden:
        raise Stalled(
            "the instance has open tasks the engine can no longer reach: "
            + ", ".join(_describe(t) for t in hidden[:5])
        )
    raise Stalled("the instance stopped without reaching an end event and has nothing to do")


def _describe(task: Task) -> str:
    spec = task.task_spec
    return f"{getattr(spec, 'bpmn_id', None) or spec.name} ({TaskState.get_name(task.state)})"


# --------------------------------------------------------------------------- pruning


def common_ancestor(tasks: Iterable[Task]) -> Task | None:
    """The deepest task that is an ancestor-or-self of every task given."""
    chain: list[Task] | None = None
    for task in tasks:
        path = _path_from_root(task)
        if chain is None:
            chain = path
            continue
        n = 0
        for a, b in zip(chain, path, strict=False):
            if a is not b:
                break
            n += 1
        chain = chain[:n]
    return chain[-1] if chain else None


def _path_from_root(task: Task) -> list[Task]:
    path = []
    node: Task | None = task
    while node is not None:
        path.append(node)
        node = node.parent
    path.reverse()
    return path


def prune(wf: BpmnWorkflow) -> int:
    """Drop finished tasks that can no longer matter; return how many were dropped.

    Keeps the root and the subtree under the lowest common ancestor of every unfinished
    task (READY, WAITING, STARTED and the predicted FUTURE/LIKELY/MAYBE ones), in the
    top workflow and in every subprocess.  Subprocesses hanging off dropped tasks are
    deleted too.  Task data lives in full on each task, so nothing the remaining tasks
    need is lost; the audit trail keeps the history.
    """
    dropped = _prune_tree(wf, wf)
    for sub in list(wf.subprocesses.values()):
        if sub.task_tree is not None and not sub.completed:
            dropped += _prune_tree(wf, sub)
    return dropped


def _prune_tree(top: BpmnWorkflow, workflow) -> int:
    root = workflow.task_tree
    live = [t for t in workflow.tasks.values() if t.state & TaskState.NOT_FINISHED_MASK]
    if not live:
        return 0
    lca = common_ancestor(live)
    if lca is None or lca is root or lca.parent is root:
        return 0
    keep = {root.id}
    keep.update(t.id for t in _subtree(lca))
    doomed = [tid for tid in workflow.tasks if tid not in keep]
    for tid in doomed:
        if tid in top.subprocesses:
            top.delete_subprocess(workflow.tasks[tid])
    for tid in doomed:
        del workflow.tasks[tid]
    root._children = [lca.id]
    lca._parent = root.id
    if workflow.last_task is not None and workflow.last_task.id not in keep:
        workflow.last_task = None
    return len(doomed)


def _subtree(task: Task) -> list[Task]:
    out: list[Task] = []
    stack = [task]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(node.children)
    return out


# --------------------------------------------------------------------------- inspection


def ready_manual_tasks(wf: BpmnWorkflow) -> list[Task]:
    """READY tasks that wait for a person (user, manual and plain tasks), anywhere."""
    return [t for t in wf.get_tasks(state=TaskState.READY, max_depth=DEEP) if t.task_spec.manual]


@dataclass(frozen=True)
class WaitingTimer:
    """A timer event that is waiting, and when it is due (UTC ISO text)."""

    task_id: str
    bpmn_id: str
    due: str


def waiting_timers(wf: BpmnWorkflow) -> list[WaitingTimer]:
    """Every WAITING timer event (boundary or intermediate, any kind) with its due time."""
    out = []
    for task in wf.get_tasks(state=TaskState.WAITING, max_depth=DEEP):
        event = getattr(task.task_spec, "event_definition", None)
        if not isinstance(event, TimerEventDefinition):
            continue
        value = task.internal_data.get("event_value")
        if isinstance(value, dict):  # cycle timers keep {'cycles', 'next', 'duration'}
            if value.get("cycles") == 0:
                continue
            value = value.get("next")
        if not value:
            continue
        out.append(WaitingTimer(str(task.id), task.task_spec.bpmn_id, str(value)))
    return out


#: States of a timer event that went off (its path may still be running).
_FIRED = TaskState.READY | TaskState.STARTED | TaskState.COMPLETED


def fired_timers(wf: BpmnWorkflow) -> set[str]:
    """Ids of the timer events that went off and are still in the tree (a timer whose
    step ended first is CANCELLED instead).

    Call it before pruning: an action's projection uses it to tell a timer that fired from
    one whose step ended first (both stop waiting).
    """
    return {
        str(task.id)
        for task in wf.get_tasks(state=_FIRED, max_depth=DEEP)
        if isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)
    }
