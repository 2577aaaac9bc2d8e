"""What the Camunda 7 importer hands back: the converted files and a report per element.

Outcomes, per report entry and per file:

``converted``
    Translated automatically; the converted file behaves as it did on Camunda 7.
``needs_decision``
    The converted file deploys as it is, but something was dropped or chosen by default
    (a listener, an input/output mapping, a second candidate group, an embedded form):
    the process owner should review it before deploying.
``cannot_run``
    The converted file will not deploy (or would not run) until the owner acts: a service
    task with no operation bound, a Groovy/JavaScript script to rewrite, a group mapped to
    no role, an expression outside the JUEL subset.  The message says what to do.

A file's status is the worst outcome among its entries (``converted`` when it has none).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

Outcome = Literal["converted", "needs_decision", "cannot_run"]
#: Outcomes from best to worst.
OUTCOMES: tuple[Outcome, ...] = ("converted", "needs_decision", "cannot_run")
#: Extra per-file status: the importer itself failed on the file (a bug; the others convert).
CRASHED = "crashed"


#: Report entry code -> its English text, ``%(name)s`` standing for the entry's params.
#: ``message`` is this template filled in; the web UI says the same code in the reader's
#: language (``webui.camunda_wording``), so every code here needs a translation there.
#: ``camunda.note`` is the fallback for lines not coded yet: its only param is the text.
MESSAGES: dict[str, str] = {
    "camunda.note": "%(text)s",
    "camunda.service_without_implementation": (
        "service task %(element)s has no implementation: bind it to an operation"
    ),
    "camunda.class_needs_operation": (
        "%(construct)s on %(element)s: bind it to an operation or remove it"
    ),
    "camunda.operation_not_registered": (
        "%(construct)s on %(element)s is bound to operation '%(operation)s', which is not "
        "registered; choose one of the registered operations"
    ),
    "camunda.event_cannot_call_operation": (
        "%(construct)s on %(element)s: an event cannot call an operation in PMOflow; put a "
        "service task before it"
    ),
    "camunda.calls_operation": "%(construct)s on %(element)s: calls operation '%(operation)s'",
    "camunda.groups_at_run_time": (
        "camunda:candidateGroups=%(groups)s on %(element)s: a group computed at run time "
        "cannot be mapped to a role; choose the PMOflow role that does this task"
    ),
    "camunda.group_unmapped": (
        "camunda:candidateGroups=%(groups)s on %(element)s: group %(group)s is mapped to no "
        "PMOflow role; map it in the role table"
    ),
    "camunda.group_kept": (
        "camunda:candidateGroups=%(groups)s on %(element)s: group %(group)s kept as the role "
        "name; map it to a PMOflow role in the role table"
    ),
    "camunda.one_role": (
        "camunda:candidateGroups=%(groups)s on %(element)s: a PMOflow task goes to one role; "
        "it goes to '%(role)s' (%(dropped)s dropped)"
    ),
    "camunda.group_role": "camunda:candidateGroups=%(groups)s on %(element)s: role '%(role)s'",
    "camunda.default_role": (
        "%(element)s names no candidate group: it goes to the default role '%(role)s'"
    ),
    "camunda.no_group": (
        "%(element)s has no camunda:candidateGroups: choose the PMOflow role that does this "
        "task (or a default role for tasks without a group)"
    ),
    "camunda.no_group_lane_unmapped": (
        "%(element)s has no camunda:candidateGroups and lane '%(lane)s' is mapped to no "
        "role: choose the PMOflow role that does this task (or a default role for tasks "
        "without a group)"
    ),
    "camunda.candidate_users_dropped": (
        "camunda:candidateUsers=%(users)s on %(element)s: dropped; PMOflow offers a task to a "
        "role (or assigns one person): give these people the task's role"
    ),
    "camunda.listener_dropped": (
        "%(construct)s on '%(event)s' (%(what)s) on %(element)s: dropped; if it matters, add "
        "a service task bound to an operation or a Python script task"
    ),
    "camunda.setting_dropped": (
        "%(construct)s=%(value)s on %(element)s: dropped (PMOflow has no such setting)"
    ),
    "camunda.element_dropped": (
        "%(construct)s on %(element)s: dropped (PMOflow has no such setting)"
    ),
    "camunda.script_to_rewrite": (
        "%(what)s on %(element)s: rewrite the script in Python (the original is kept in the "
        "script as comments)"
    ),
    "camunda.form_key_not_converted": (
        "camunda:formKey=%(key)s on %(element)s is %(kind)s, which is not converted: the step "
        "needs a form (design one in the form designer)"
    ),
    "camunda.due_date_dropped": (
        "%(construct)s=%(value)s on %(element)s: dropped; give the task an SLA (e.g. P3D) in "
        "the modeler if it has a deadline"
    ),
    "camunda.condition_to_rewrite": (
        "%(construct)s (%(what)s) on %(element)s: rewrite the condition as a Python expression"
    ),
    "camunda.form_data": (
        "camunda:formData on %(element)s: form forms/%(form)s with %(count)s field(s)"
    ),
    "camunda.condition_converted": "%(construct)s %(source)s on %(element)s: %(python)s",
    "camunda.lane_role": "%(element)s is in lane '%(lane)s': role '%(role)s'",
    "camunda.lane_kept": (
        "%(element)s is in lane '%(lane)s': role '%(role)s'; map the lane to a PMOflow role "
        "in the role table"
    ),
    "camunda.assigned": (
        "%(construct)s=%(value)s on %(element)s: the task is assigned to %(expression)s"
    ),
    "camunda.juel_script": "scriptFormat=juel on %(element)s: %(code)s",
    "camunda.expression_script": (
        "camunda:expression=%(value)s on %(element)s: a script task: %(code)s"
    ),
    "camunda.result_not_set": (
        "camunda:resultVariable=%(result)s (mapDecisionResult=%(mapping)s) on %(element)s: "
        "the table's outputs become variables under their own names; '%(result)s' is not set"
    ),
    "camunda.result_mapped": (
        "camunda:resultVariable=%(result)s (mapDecisionResult=%(mapping)s) on %(element)s: %(code)s"
    ),
    "camunda.all_variables": (
        "%(construct)s on %(element)s: the called process sees and returns all variables in PMOflow"
    ),
    "camunda.variable_passed": (
        "%(construct)s %(target)s <- %(source)s on %(element)s: all variables pass to and "
        "from the called process"
    ),
    "camunda.variable_set_before": (
        "%(construct)s %(target)s <- %(source)s on %(element)s: all variables pass to and "
        "from the called process; '%(target)s' is set before the call"
    ),
    "camunda.variable_set_after": (
        "%(construct)s %(target)s <- %(source)s on %(element)s: all variables pass to and "
        "from the called process; '%(target)s' is set after the call"
    ),
    "camunda.drd_decision": "decision %(element)s of the DRD: file %(file)s",
    "camunda.literal_expression": (
        "decision %(element)s is not a decision table (a literal expression): rewrite it as a table"
    ),
    "camunda.decision_table": "decision table %(element)s: %(count)s rule(s), cells in Python",
    "camunda.case_ref": (
        "camunda:caseRef=%(case)s on %(element)s: CMMN cases do not exist in PMOflow"
    ),
    "camunda.called_element_at_run_time": (
        "calledElement=%(called)s on %(element)s: a process chosen at run time is not "
        "supported; name the process"
    ),
    "camunda.decision_ref_at_run_time": (
        "camunda:decisionRef=%(ref)s on %(element)s: a decision chosen at run time is not "
        "supported; name the decision table"
    ),
    "camunda.decision_ref": (
        "camunda:decisionRef=%(ref)s on %(element)s: calls decision table '%(ref)s'"
    ),
}


def worst(outcomes: list[Outcome] | tuple[Outcome, ...]) -> Outcome:
    """The worst of ``outcomes`` (``converted`` when empty)."""
    return max(outcomes, key=OUTCOMES.index, default="converted")


def _frozen(mapping: Mapping[str, object] | None = None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class ReportEntry:
    """One Camunda construct met on one element, and what became of it.

    ``construct`` names it the way Camunda Modeler shows it (``camunda:class``,
    ``camunda:candidateGroups``, ``conditionExpression``, ``timeCycle``, ``scriptFormat``,
    ``camunda:formKey`` ...).  ``message`` says it in Camunda's words and says what to do,
    e.g. ``camunda:class=com.acme.Mail on 'Notify': bind it to an operation or remove it``.
    ``line`` is the line in the *original* file.  ``code`` and ``params`` say the same
    for translation: ``MESSAGES[code] % params == message``.
    """

    file: str
    line: int | None
    element_id: str | None
    element_name: str | None
    construct: str
    outcome: Outcome
    message: str
    #: Stable key of the message (:data:`MESSAGES`; for a deploy check or an unreadable
    #: file, the engine problem's code of ``engine.errors.CODES``) and its variable parts.
    code: str = "camunda.note"
    params: Mapping[str, object] = field(default_factory=_frozen)

    def __post_init__(self) -> None:
        if self.code == "camunda.note" and not self.params:
            object.__setattr__(self, "params", _frozen({"text": self.message}))

    def to_dict(self) -> dict[str, object]:
        """Plain-dict form, for JSON answers and templates."""
        return {
            "file": self.file,
            "line": self.line,
            "element_id": self.element_id,
            "element_name": self.element_name,
            "construct": self.construct,
            "outcome": self.outcome,
            "message": self.message,
            "code": self.code,
            "params": dict(self.params),
        }

    def __str__(self) -> str:
        """One line: ``file:line: element_id 'name': [outcome] message``."""
        where = self.file + (f":{self.line}" if self.line else "")
        what = f" {self.element_id}" if self.element_id else ""
        if self.element_id and self.element_name:
            what += f" '{' '.join(self.element_name.split())}'"
        return f"{where}:{what}{':' if what else ''} [{self.outcome}] {self.message}"


@dataclass(frozen=True)
class ServiceBinding:
    """A Camunda service-like task and the PMOflow operation it is bound to (or None).

    ``construct`` is ``camunda:class``, ``camunda:delegateExpression``,
    ``camunda:expression``, ``camunda:type=external`` or ``camunda:connector``; ``value``
    is what Camunda called (class name, expression, topic, connector id).
    """

    file: str
    element_id: str
    element_name: str | None
    line: int | None
    construct: str
    value: str
    operation: str | None

    def to_dict(self) -> dict[str, object]:
        """Plain-dict form."""
        return {
            "file": self.file,
            "element_id": self.element_id,
            "element_name": self.element_name,
            "line": self.line,
            "construct": self.construct,
            "value": self.value,
            "operation": self.operation,
        }


@dataclass(frozen=True)
class ImportResult:
    """Everything :func:`engine.camunda7.import_camunda` produced.

    ``files``: the converted files, name -> bytes: ``.bpmn``/``.dmn`` under the uploaded
    names (a DMN file holding several decisions becomes one file per decision,
    ``<stem>.<decision id>.dmn``) and JSON Schema forms as ``forms/<name>.schema.json``;
    what ``pmoflow validate``/``deploy`` and the engine's ``validate``/``deploy`` take as
    they are.  ``originals``: the uploaded files, unchanged.  ``report``: every entry,
    sorted by file and line.  ``status``: per uploaded file, the worst outcome of its
    entries (a file that cannot be read at all, e.g. broken XML, is ``cannot_run`` with an
    entry saying why and where), or ``crashed`` when the importer failed on it (a bug).
    ``groups``: every Camunda group and lane name met -> the PMOflow role it became (None:
    unmapped); ``unknown_groups``: those mapped to no role.  ``services``: every service-like
    task, for a binding table.
    """

    files: Mapping[str, bytes] = field(default_factory=_frozen)
    originals: Mapping[str, bytes] = field(default_factory=_frozen)
    report: tuple[ReportEntry, ...] = ()
    status: Mapping[str, str] = field(default_factory=_frozen)
    groups: Mapping[str, str | None] = field(default_factory=_frozen)
    unknown_groups: tuple[str, ...] = ()
    services: tuple[ServiceBinding, ...] = ()
    #: Process keys kept as the owner's modeler drafts (when the import was asked to).
    drafts: tuple[str, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        """Files per status: ``{"converted": N, "needs_decision": M, "cannot_run": K,
        "crashed": C}`` (every key present)."""
        result = dict.fromkeys((*OUTCOMES, CRASHED), 0)
        for value in self.status.values():
            result[value] += 1
        return result

    @property
    def summary(self) -> str:
        """``converted=N needs_decision=M cannot_run=K crashed=C``."""
        return " ".join(f"{k}={v}" for k, v in self.counts.items())

    @property
    def deployable(self) -> bool:
        """Whether the converted files should deploy as they are (nothing cannot run)."""
        return all(s in ("converted", "needs_decision") for s in self.status.values())

    def entries_for(self, file: str) -> list[ReportEntry]:
        """The report entries of one uploaded file, by line."""
        return [e for e in self.report if e.file == file]

    def to_dict(self) -> dict[str, object]:
        """Plain-dict form (without file contents: names only), for JSON answers."""
        return {
            "files": sorted(self.files),
            "originals": sorted(self.originals),
            "status": dict(self.status),
            "counts": self.counts,
            "summary": self.summary,
            "groups": dict(self.groups),
            "unknown_groups": list(self.unknown_groups),
            "services": [s.to_dict() for s in self.services],
            "drafts": list(self.drafts),
            "report": [e.to_dict() for e in self.report],
        }
