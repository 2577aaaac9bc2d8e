"""Small, deliberate corrections to SpiffWorkflow 3.2 behaviour (applied on import).

Each fix is tested (tests/engine/test_engine_rules.py) and says why it exists.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, MutableMapping
from types import SimpleNamespace
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from engine.spiff import decisions

# --------------------------------------------------------------------------- timers

#: Longest timer duration accepted. SpiffWorkflow turns years and months into days with a
#: loop per month, so "P100000000Y" would hang the worker; nothing in a PMO needs more.
MAX_TIMER_YEARS = 100
_parse_iso_duration = _timer_module.TimerEventDefinition.parse_iso_duration


def _bounded_parse_iso_duration(expression: str) -> dict:
    parsed = _parse_iso_duration(expression)
    months = parsed.get("years", 0) * 12 + parsed.get("months", 0)
    days = (
        parsed.get("weeks", 0) * 7
        + parsed.get("days", 0)
        + parsed.get("hours", 0) / 24
        + parsed.get("minutes", 0) / 1440
        + parsed.get("seconds", 0) / 86400
    )
    if months > MAX_TIMER_YEARS * 12 or days > MAX_TIMER_YEARS * 366:
        raise ValueError(f"timer duration {expression!r} is longer than {MAX_TIMER_YEARS} years")
    return parsed


_timer_module.TimerEventDefinition.parse_iso_duration = staticmethod(_bounded_parse_iso_duration)


# --------------------------------------------------------------------------- multi-instance


def _check_completion_condition(self: Any, my_task: Any) -> Any:
    """Evaluate a multi-instance completionCondition on the collected results so far.

    The library evaluates it on the last finished instance's own data, where the output
    collection (e.g. ``votes``) is still the empty list copied at creation, so a
    committee majority such as ``votes.count("approve") >= 2`` could never end the step
    early. Here the condition sees the last instance's data overlaid with the activity's
    data, which holds the merged outputs.
    """
    merged = my_task.internal_data.get("merged", [])
    if not merged or self.condition is None:
        return None
    last = next(c for c in my_task.children if str(c.id) == merged[-1])
    view = SimpleNamespace(
        data={**last.data, **my_task.data},
        task_spec=last.task_spec,
        workflow=last.workflow,
        id=last.id,
        parent=last.parent,
    )
    return my_task.workflow.script_engine.evaluate(view, self.condition)


MultiInstanceTask.check_completion_condition = _check_completion_condition


def _init_data_output_with_cardinality(self: Any, my_task: Any) -> None:
    """The library's version refers to an undefined ``data_ouput`` (a typo), so a
    multi-instance step with a fixed count and an output list crashed the second time it
    ran (a committee voting again after rework)."""
    if not self.data_output.exists(my_task):
        self.data_output.set(my_task, [])
        return
    data_output = self.data_output.get(my_task)
    if not isinstance(data_output, MutableMapping) and len(data_output) > 0:
        # A new round of the step starts with an empty output list.
        self.data_output.set(my_task, [])


MultiInstanceTask.init_data_output_with_cardinality = _init_data_output_with_cardinality

#: internal_data key: each finished instance's output by its position in the input list.
_SLOTS = "pmoflow_output_slots"


def _merge_child(self: Any, workflow: Any, child: Any) -> None:
    """Collect an instance's output at its position in the input list.

    The library appends outputs in the order the instances finish, so with people
    answering in parallel ``receipts[0]`` belonged to whoever was fastest, not to
    ``members[0]``.  Outputs now follow the input order; instances that never finished
    (a window closed, a completion condition met) are left out.  Everything else is as in
    the library.
    """
    my_task = child.parent
    if self.data_output is None or self.output_item is None:
        DeepMerge.merge(my_task.data, child.data)
    else:
        if not self.output_item.exists(child):
            self.raise_data_exception("Expected an output item", child)
        item = self.output_item.get(child)
        key = child.internal_data.get("key_or_index")
        output = self.data_output.get(my_task)
        given: Any = self.data_input.get(my_task) if self.data_input is not None else None
        if key is not None and (isinstance(output, MutableMapping) or given is output):
            output[key] = item
        elif isinstance(key, int) and isinstance(output, list):
            slots = my_task.internal_data.setdefault(_SLOTS, {})
            slots[str(key)] = item  # internal data is saved as JSON: string keys
            output[:] = [slots[k] for k in sorted(slots, key=int)]
        else:
            output.append(item)
    my_task.internal_data["merged"].append(str(child.id))


MultiInstanceTask.merge_child = _merge_child


# --------------------------------------------------------------------------- decisions


def _assign(target: dict, values: Mapping) -> dict:
    """Put a decision's outputs into task data: nested objects merge, everything else
    (numbers, text, lists) is replaced."""
    for key, value in values.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _assign(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _business_rule_run_hook(self: Any, my_task: Any) -> bool:
    """Like the library's, but outputs are assigned instead of deep-merged: DeepMerge
    merges lists as sets, so a COLLECT result such as SLAs [3, 5, 5] became [3, 5] and a
    second evaluation mixed with the previous round's lists."""
    try:
        evaluation = decisions.evaluate(self.dmnEngine, my_task)
        evaluation.inputs = decisions.input_values(self.dmnEngine, my_task)
        evaluation.context = decisions.output_context(self.dmnEngine, my_task.data)
        my_task.data = _assign(my_task.data, evaluation.result)
        decisions.record(my_task, evaluation)  # stored with the action (what-if replays it)
        super(BusinessRuleTaskMixin, self)._run_hook(my_task)
    except SpiffWorkflowException as we:
        we.add_note(f"Business Rule Task '{my_task.task_spec.bpmn_name}'.")
        raise we
    except Exception as e:
        error = WorkflowTaskException(str(e), task=my_task)
        error.add_note(f"Business Rule Task '{my_task.task_spec.bpmn_name}'.")
        raise error from e
    return True


BusinessRuleTaskMixin._run_hook = _business_rule_run_hook
_get_engine = BpmnDmnParser.get_engine


def _get_named_engine(self: Any, decision_ref: str, node: Any) -> Any:
    """The library's table engine, remembering which decision it runs (for the record)."""
    engine = _get_engine(self, decision_ref, node)
    engine.decision_ref = decision_ref
    return engine


BpmnDmnParser.get_engine = _get_named_engine


# --------------------------------------------------------------------------- spec wiring


def wire_multi_instance_merges(spec: Any, subprocess_specs: Mapping[str, Any]) -> None:
    """Connect every multi-instance activity to the completion of its instances.

    The library makes this connection on the *spec object* when an activity creates its
    instances (``MultiInstanceTask.create_child``).  A spec rebuilt in another process,
    after a restart or after the spec cache let it go, never created those instances, so
    an instance finishing there was never merged and the activity waited for ever: the
    stranded closure (both lesson sub-processes COMPLETED, one merged, curation never
    created).  Every spec the engine builds is wired here, before any workflow uses it.
    """
    for process in (spec, *subprocess_specs.values()):
        for task_spec in process.task_specs.values():
            if not isinstance(task_spec, MultiInstanceTask):
                continue
            child = process.task_specs[task_spec.task_spec]
            if not child.completed_event.is_connected(task_spec.merge_child):
                child.completed_event.connect(task_spec.merge_child)


def merge_missed_instances(workflow: Any) -> int:
    """Merge finished instances a multi-instance activity missed; how many were merged.

    Heals instances saved while :func:`wire_multi_instance_merges` did not exist (an
    instance that finished in a process whose spec was not wired was never merged): the
    next action on the instance, or the doctor's re-run, completes the activity.
    """
    healed = 0
    for task in workflow.get_tasks(state=TaskState.STARTED, max_depth=10**9):
        spec = task.task_spec
        if not isinstance(spec, MultiInstanceTask):
            continue
        merged = set(task.internal_data.get("merged", []))
        for child in list(task.children):
            if (
                child.task_spec.name == spec.task_spec
                and child.state == TaskState.COMPLETED
                and str(child.id) not in merged
                and task.state == TaskState.STARTED
            ):
                spec.merge_child(task.workflow, child)
                healed += 1
    return healed
