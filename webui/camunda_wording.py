"""The Camunda 7 import report in the reader's language.

Each report entry carries a stable ``code`` and ``params`` (``engine.camunda7.report``
MESSAGES); here every code has its msgid (the same English text, ``%(name)s`` standing for
the params), translated by the catalog.  ``camunda.note`` (a line not coded yet) is shown
as the engine wrote it; an engine problem's code (a deploy check on the converted file, an
unreadable file) is said by ``webui.messages.say``.
"""

from __future__ import annotations

from typing import Any

from flask_babel.speaklater import LazyString

from webui.i18n import gettext
from webui.i18n import lazy_gettext as _l
from webui.messages import say

#: The ``kind`` param of ``camunda.form_key_not_converted`` (engine/camunda7/people.py).
FORM_KINDS = (_l("an embedded or external form"), _l("a Camunda Form"))

#: Report entry code -> its msgid (tests/webui/test_camunda_wording.py holds these to the
#: engine's English texts and to the Chinese catalog).
CAMUNDA_MESSAGES: dict[str, LazyString | None] = {
    "camunda.note": None,
    "camunda.service_without_implementation": _l(
        "service task %(element)s has no implementation: bind it to an operation"
    ),
    "camunda.class_needs_operation": _l(
        "%(construct)s on %(element)s: bind it to an operation or remove it"
    ),
    "camunda.operation_not_registered": _l(
        "%(construct)s on %(element)s is bound to operation '%(operation)s', which is "
        "not registered; choose one of the registered operations"
    ),
    "camunda.event_cannot_call_operation": _l(
        "%(construct)s on %(element)s: an event cannot call an operation in PMOflow; "
        "put a service task before it"
    ),
    "camunda.calls_operation": _l("%(construct)s on %(element)s: calls operation '%(operation)s'"),
    "camunda.groups_at_run_time": _l(
        "camunda:candidateGroups=%(groups)s on %(element)s: a group computed at run "
        "time cannot be mapped to a role; choose the PMOflow role that does this task"
    ),
    "camunda.group_unmapped": _l(
        "camunda:candidateGroups=%(groups)s on %(element)s: group %(group)s is mapped "
        "to no PMOflow role; map it in the role table"
    ),
    "camunda.group_kept": _l(
        "camunda:candidateGroups=%(groups)s on %(element)s: group %(group)s kept as "
        "the role name; map it to a PMOflow role in the role table"
    ),
    "camunda.one_role": _l(
        "camunda:candidateGroups=%(groups)s on %(element)s: a PMOflow task goes to one "
        "role; it goes to '%(role)s' (%(dropped)s dropped)"
    ),
    "camunda.group_role": _l("camunda:candidateGroups=%(groups)s on %(element)s: role '%(role)s'"),
    "camunda.default_role": _l(
        "%(element)s names no candidate group: it goes to the default role '%(role)s'"
    ),
    "camunda.no_group": _l(
        "%(element)s has no camunda:candidateGroups: choose the PMOflow role that does "
        "this task (or a default role for tasks without a group)"
    ),
    "camunda.no_group_lane_unmapped": _l(
        "%(element)s has no camunda:candidateGroups and lane '%(lane)s' is mapped to "
        "no role: choose the PMOflow role that does this task (or a default role for "
        "tasks without a group)"
    ),
    "camunda.candidate_users_dropped": _l(
        "camunda:candidateUsers=%(users)s on %(element)s: dropped; PMOflow offers a "
        "task to a role (or assigns one person): give these people the task's role"
    ),
    "camunda.listener_dropped": _l(
        "%(construct)s on '%(event)s' (%(what)s) on %(element)s: dropped; if it "
        "matters, add a service task bound to an operation or a Python script task"
    ),
    "camunda.setting_dropped": _l(
        "%(construct)s=%(value)s on %(element)s: dropped (PMOflow has no such setting)"
    ),
    "camunda.element_dropped": _l(
        "%(construct)s on %(element)s: dropped (PMOflow has no such setting)"
    ),
    "camunda.script_to_rewrite": _l(
        "%(what)s on %(element)s: rewrite the script in Python (the original is kept "
        "in the script as comments)"
    ),
    "camunda.form_key_not_converted": _l(
        "camunda:formKey=%(key)s on %(element)s is %(kind)s, which is not converted: "
        "the step needs a form (design one in the form designer)"
    ),
    "camunda.due_date_dropped": _l(
        "%(construct)s=%(value)s on %(element)s: dropped; give the task an SLA (e.g. "
        "P3D) in the modeler if it has a deadline"
    ),
    "camunda.condition_to_rewrite": _l(
        "%(construct)s (%(what)s) on %(element)s: rewrite the condition as a Python expression"
    ),
    "camunda.form_data": _l(
        "camunda:formData on %(element)s: form forms/%(form)s with %(count)s field(s)"
    ),
    "camunda.condition_converted": _l("%(construct)s %(source)s on %(element)s: %(python)s"),
    "camunda.lane_role": _l("%(element)s is in lane '%(lane)s': role '%(role)s'"),
    "camunda.lane_kept": _l(
        "%(element)s is in lane '%(lane)s': role '%(role)s'; map the lane to a PMOflow "
        "role in the role table"
    ),
    "camunda.assigned": _l(
        "%(construct)s=%(value)s on %(element)s: the task is assigned to %(expression)s"
    ),
    "camunda.juel_script": _l("scriptFormat=juel on %(element)s: %(code)s"),
    "camunda.expression_script": _l(
        "camunda:expression=%(value)s on %(element)s: a script task: %(code)s"
    ),
    "camunda.result_not_set": _l(
        "camunda:resultVariable=%(result)s (mapDecisionResult=%(mapping)s) on "
        "%(element)s: the table's outputs become variables under their own names; "
        "'%(result)s' is not set"
    ),
    "camunda.result_mapped": _l(
        "camunda:resultVariable=%(result)s (mapDecisionResult=%(mapping)s) on %(element)s: %(code)s"
    ),
    "camunda.all_variables": _l(
        "%(construct)s on %(element)s: the called process sees and returns all variables in PMOflow"
    ),
    "camunda.variable_passed": _l(
        "%(construct)s %(target)s <- %(source)s on %(element)s: all variables pass to "
        "and from the called process"
    ),
    "camunda.variable_set_before": _l(
        "%(construct)s %(target)s <- %(source)s on %(element)s: all variables pass to "
        "and from the called process; '%(target)s' is set before the call"
    ),
    "camunda.variable_set_after": _l(
        "%(construct)s %(target)s <- %(source)s on %(element)s: all variables pass to "
        "and from the called process; '%(target)s' is set after the call"
    ),
    "camunda.drd_decision": _l("decision %(element)s of the DRD: file %(file)s"),
    "camunda.literal_expression": _l(
        "decision %(element)s is not a decision table (a literal expression): rewrite it as a table"
    ),
    "camunda.decision_table": _l("decision table %(element)s: %(count)s rule(s), cells in Python"),
    "camunda.case_ref": _l(
        "camunda:caseRef=%(case)s on %(element)s: CMMN cases do not exist in PMOflow"
    ),
    "camunda.called_element_at_run_time": _l(
        "calledElement=%(called)s on %(element)s: a process chosen at run time is not "
        "supported; name the process"
    ),
    "camunda.decision_ref_at_run_time": _l(
        "camunda:decisionRef=%(ref)s on %(element)s: a decision chosen at run time is "
        "not supported; name the decision table"
    ),
    "camunda.decision_ref": _l(
        "camunda:decisionRef=%(ref)s on %(element)s: calls decision table '%(ref)s'"
    ),
}


def say_entry(entry: Any) -> str:
    """A report entry's message in the reader's language (its English text when its code
    has no msgid)."""
    code = getattr(entry, "code", "") or ""
    if code not in CAMUNDA_MESSAGES:  # a deploy check or unreadable file: an engine problem
        return say(entry)
    template = CAMUNDA_MESSAGES[code]
    if template is None:
        return str(entry.message)
    params = dict(entry.params)
    if "kind" in params:  # the kind of form: words of the importer, in FORM_KINDS
        params["kind"] = gettext(params["kind"])
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return str(entry.message)
