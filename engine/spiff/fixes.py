"""Small, deliberate corrections to SpiffWorkflow 3.2 behaviour (applied on import).

Each fix is tested (tests/engine/test_engine_rules.py) and says why it exists.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask

# --------------------------------------------------------------------------- timers

#: Longest timer duration accepted. SpiffWorkflow turns years and months into days with a
#: loop per month, so "P100000000Y" would hang the worker; nothing in a PMO needs more.
MAX_TIMER_YEARS = 100
_parse_iso_duration = _timer_module.TimerEventDefinition.parse_iso_duration


def _bounded_parse_iso_duration(expression: str) -> dict:
    parsed = _parse_iso_duration(expression)
    months = parsed.get("years", 0) * 12 + parsed.get("months", 0)
    days = (parsed.get("weeks", 0) * 7 + parsed.get("days", 0)
            + parsed.get("hours", 0) / 24 + parsed.get("minutes", 0) / 1440
            + parsed.get("seconds", 0) / 86400)
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
        data={**last.data, **my_task.data}, task_spec=last.task_spec,
        workflow=last.workflow, id=last.id, parent=last.parent,
    )
    return my_task.workflow.script_engine.evaluate(view, self.condition)


MultiInstanceTask.check_completion_condition = _check_completion_condition
