"""The engine's error hierarchy, and the stable codes its errors carry.

Every failure the engine reports to a caller is one of these.  Each carries a stable
dotted ``code`` (a key of :data:`CODES`) with ``params`` (field path, role, element id,
task id, who, rule...), and an English message written for the person who caused it (a
process owner, a reviewer, an operator) as the default rendering, e.g. on the command
line.  The web layer maps the classes to HTTP answers in one place and translates by
``code``; nothing reads the English text back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Every code an engine error, field error or diagram problem can carry -> what it means.
#: Codes are stable API: add new ones, never rename (clients and translations key on them).
CODES: dict[str, str] = {
    # generic fallbacks (the class's code when a raise site names none)
    "engine.error": "The engine refused the request.",
    "not_found": "An id or key names nothing.",
    "forbidden": "The actor may not do this.",
    "conflict": "Someone else changed the same thing first.",
    "not_ready": "The task or instance cannot be worked on now.",
    "invalid_data": "Submitted data failed validation; see the field errors.",
    # not found
    "process.not_found": "No deployed process has this key.",
    "definition.not_found": "No process definition has this id.",
    "process.version_not_found": "The process has no version with this number.",
    "decision.not_found": "No decision table has this key.",
    "draft.not_found": "No draft has this id.",
    "draft.process_key_invalid": "A draft's process id is empty or too long.",
    "draft.empty": "The diagram is empty.",
    "draft.too_large": "The diagram is larger than the draft limit.",
    "version.comment_required": "Deploying a version needs a comment saying what changed.",
    "move.reason_required": "Moving instances to another version needs a reason.",
    "rule.comment_required": "Publishing a rule needs a comment saying why.",
    "rule.comment_too_long": "The comment is longer than allowed.",
    "rule.effective_in_past": "A rule cannot take effect in the past.",
    "rule.no_draft": "There is no draft to publish.",
    "rule.input_invalid": "A test input does not fit its column's type.",
    "diagram.unasked_field": "A condition or decision table reads what no form asks (a note).",
    "form_schema.not_found": "No task form has this name.",
    "form_schema.bad_name": "A form name is not a file name ending in .json.",
    "form_schema.too_large": "The form schema is too large.",
    "form_schema.not_json": "The form schema is not JSON.",
    "form_schema.not_object": "The form schema is not an object with properties.",
    "form_schema.invalid": "The form is not valid JSON Schema.",
    "form_schema.duplicate_key": "A key appears twice in one object.",
    "form_schema.unknown_field": "Required or required-when names a field the form does not have.",
    "form_schema.choice_label": "A choice has no label in one language.",
    "form_schema.date_bound": "A date range bound is not a date, today or today+N days.",
    "form_schema.date_range": "A date field's earliest date is after its latest date.",
    "definition.decision_missing": "A process needs a decision that is not deployed.",
    "definition.called_missing": "A process calls a process that is not deployed.",
    "instance.not_found": "No process instance has this id.",
    "task.not_found": "No task has this id.",
    "user.not_found": "No user has this name.",
    "attachment.not_found": "No attachment has this id.",
    "token.not_found": "No API token has this id.",
    "job.not_found": "No job has this id.",
    "job.no_handler": "No handler is registered for this kind of job.",
    "mail.not_found": "No mail in the outbox has this id.",
    "service.unknown_operation": "No service operation has this name.",
    # access
    "access.start_role": "Starting this process needs a role the actor lacks.",
    "access.role_missing": "The task needs a role the actor lacks.",
    "access.assigned_to_other": "The task is assigned to someone else.",
    "access.four_eyes": "Four-eyes rule: the actor (or whom they act for) started it.",
    "access.four_eyes_delegate": "Four-eyes rule: the task cannot go to who started it.",
    "access.distinct_actors": "Each instance of this step needs a different person.",
    "access.handover_not_eligible": "The task cannot go to someone who may not work on it.",
    "access.no_access": "The actor may not see this request, task or file.",
    "access.pmo_only": "Only the PMO sees every running request.",
    "access.starter_only": "Only the person who started the request may withdraw it.",
    "access.admin_only": "Only a PMO administrator may do this.",
    "access.own_account": "An administrator cannot deactivate or demote their own account.",
    "user.username_invalid": "A username has characters or a length not allowed.",
    "user.username_taken": "The username is already taken.",
    "user.email_invalid": "The text is not an e-mail address.",
    "user.time_zone_invalid": "The text is not an IANA time zone.",
    "ooo.ends_before_start": "An out-of-office period must end after it starts.",
    "ooo.delegate_self": "Nobody can take over their own work.",
    "ooo.delegate_unknown": "The delegate is not an active user.",
    "ooo.delegate_not_allowed": "The delegate lacks a role the absent person's work needs.",
    "user.field_read_only": "The field cannot be changed through this verb.",
    "role.unknown": "No role has this key.",
    "role.not_project_scoped": "The role is global; it cannot be held for one project.",
    "sso.group_invalid": "A single sign-on group name is empty or too long.",
    "sso.mapping_not_found": "No single sign-on group mapping has this id.",
    "sla.duration_invalid": "The text is not an SLA duration (working days or ISO 8601).",
    "sla.too_long": "The SLA is longer than the longest allowed.",
    "sla.unknown_step": "The process or its user task does not exist.",
    "sla.not_found": "No SLA default is set for this step.",
    "calendar.line_invalid": "A line of the holiday list is not 'date, name, holiday|workday'.",
    "calendar.date_repeated": "A line of the holiday list repeats an earlier line's date.",
    "calendar.hours_invalid": "Working hours are not HH:MM-HH:MM with the start before the end.",
    "clock.duration_invalid": "The text is not a duration such as 2d, 4h or P1DT2H.",
    "clock.duration_negative": "The clock only moves forward, by a positive duration.",
    "clock.not_demo": "The clock can only be moved on a demo or test install.",
    "wait.not_closable": "The instance waits on no timer that may be closed early.",
    "wait.reason_required": "Closing a wait early needs a reason.",
    "access.process_owner_only": "Only a process owner may validate or deploy diagrams.",
    "access.token_owner_only": "Only its owner or a PMO administrator may revoke a token.",
    "access.self_delegation": "Nobody can delegate to themselves.",
    "task.not_claimed_by_you": "The task is not claimed by the actor.",
    # conflicts
    "task.already_completed": "The task is no longer open (completed, cancelled...).",
    "task.claimed_by_other": "Someone else claimed the task first.",
    "task.assigned_by_process": "The process assigned the task; it cannot be released.",
    "task.gone": "The task no longer exists.",
    "task.changed": "The task was completed or changed by someone else meanwhile.",
    "task.reassigned": "The task is now with someone else.",
    "instance.not_running": "The instance is no longer running.",
    "instance.changed": "Someone else saved the instance meanwhile; retries ran out.",
    "db.busy": "The database stayed busy through every retry; nothing was saved.",
    "job.not_failed": "Only a failed job can be retried.",
    "mail.not_failed": "Only a failed mail can be sent again.",
    # data and input
    "form.not_object": "The submitted data must be a JSON object.",
    "form.not_role_holder": "The person chosen does not hold the role this field needs.",
    "form.required": "A required field is missing or empty.",
    "form.enum": "The value is not one of the allowed values.",
    "form.const": "The value is not the one allowed value.",
    "form.minLength": "The text is too short.",
    "form.maxLength": "The text is too long.",
    "form.minimum": "The number is too small.",
    "form.maximum": "The number is too large.",
    "form.exclusiveMinimum": "The number is not greater than the limit.",
    "form.exclusiveMaximum": "The number is not less than the limit.",
    "form.multipleOf": "The number is not a multiple of the step.",
    "form.type": "The value has the wrong type.",
    "form.format": "The value does not have the expected format (date, email...).",
    "form.earliest": "The date is before the earliest date the form allows.",
    "form.latest": "The date is after the latest date the form allows.",
    "form.pattern": "The text does not match the expected pattern.",
    "form.minItems": "The list has too few items.",
    "form.maxItems": "The list has too many items.",
    "form.uniqueItems": "The list has duplicate items.",
    "form.additionalProperties": "The data has a field the form does not know.",
    "form.invalid": "The value failed another rule of the form schema.",
    "data.reserved": "The field name is reserved by the engine.",
    "data.unsafe": "The value cannot be stored as task data (not plain JSON).",
    "input.choice": "The value must be one of the listed choices.",
    "input.reason_required": "A reason must be given.",
    "input.already_assignee": "The person already has this task.",
    "input.after_unknown": "No task with this id to continue a list after.",
    "input.inactive_user": "The user is not active.",
    "input.too_long": "The text is too long.",
    "token.bad_duration": "The token lifetime is not a duration such as 90d.",
    "token.too_long_lived": "A token may live ten years at most.",
    "upload.empty": "The uploaded file is empty.",
    "upload.too_large": "The uploaded file is larger than allowed.",
    "upload.quota": "Too many uploads not yet part of a submitted form.",
    "upload.unknown": "A referenced upload does not exist or belongs to someone else.",
    # process run
    "run.failed": "An expression, script, decision or service call failed.",
    "run.loop_limit": "A loop ran more often than allowed.",
    "run.too_deep": "The process nests or loops too deeply.",
    "run.stalled": "The process stopped without reaching an end event.",
    "run.sla_failed": "The SLA expression of a task failed.",
    "state.unreadable": "A saved instance state cannot be loaded.",
    # deployments (InvalidDiagram and Problem)
    "deploy.problems": "The files cannot be deployed; see the problems.",
    "deploy.nothing": "A file holds nothing to deploy.",
    "deploy.bad_xml": "A file is not safe, well-formed XML.",
    "deploy.duplicate_file": "Two files of the deployment have the same name.",
    "deploy.unknown_file_kind": "A file is not a .bpmn, .dmn or .json form.",
    "deploy.no_process": "A diagram holds no process.",
    "deploy.duplicate_id": "An id is used twice.",
    "deploy.not_executable": "A process is not marked executable.",
    "deploy.library": "SpiffWorkflow refused the diagram.",
    "diagram.problem": "An element of a diagram breaks a rule (see the message).",
    "diagram.foreign_extensions": "The diagram was drawn for another tool, whose extensions "
    "the engine does not read.",
    "dmn.problem": "A decision table breaks a rule (see the message).",
    "dmn.unsupported_version": "The DMN version is not supported.",
    "dmn.key_changed": "A new version of a decision table has another decision id.",
    "form_file.invalid": "A form file is not a valid JSON Schema.",
    # ops console
    "ops.instance_moved_on": "The instance changed after the person saw it; nothing was done.",
    "instance.suspended": "The instance is suspended; it must be resumed first.",
    "instance.not_suspended": "Only a suspended instance can be resumed.",
    "incident.not_found": "No incident has this id.",
    "incident.not_open": "The incident is already resolved.",
    "ops.no_token": "No token waits at the step a move starts from.",
    "ops.several_tokens": "Several tokens wait at the step (multi-instance); none is moved.",
    "ops.step_unknown": "The process version has no element with this id.",
    "ops.step_not_enterable": "A token cannot be moved to this kind of element.",
    "ops.step_other_process": "The element belongs to another (sub)process than the token.",
    "ops.same_step": "The token already waits at this step.",
    "access.dashboard_only": "Only the PMO head and the PMO administrator see the dashboard.",
    "dashboard.date_invalid": "The text is not a date (YYYY-MM-DD).",
    "dashboard.period_reversed": "The period ends before it starts.",
    "dashboard.period_too_long": "The period is longer than the dashboard covers.",
    "dashboard.period_future": "The period starts after today.",
    "dashboard.category_unknown": "Not a project category.",
    "dashboard.figure_unknown": "Not a dashboard figure.",
    "dashboard.department_unknown": "No project involves this department.",
}


def _known(code: str) -> str:
    if code not in CODES:
        raise ValueError(f"unknown error code {code!r}: add it to engine.errors.CODES")
    return code


class FieldError(str):
    """A message about one field (or a reason), with its stable ``code`` and ``params``.

    A ``str`` (the English default text), so it prints, compares and serialises as
    before; the web layer reads ``code``/``params`` to say it in the user's language.
    """

    code: str
    params: dict[str, Any]

    def __new__(cls, message: str, code: str = "form.invalid", **params: Any) -> FieldError:
        """``FieldError("Must be at least 0.", "form.minimum", field="budget", limit=0)``."""
        self = super().__new__(cls, message)
        self.code = _known(code)
        self.params = params
        return self

    @property
    def message(self) -> str:
        """The English default text."""
        return str.__str__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle/copy with code and params."""
        return (_field_error, (self.message, self.code, self.params))


def _field_error(message: str, code: str, params: dict[str, Any]) -> FieldError:
    return FieldError(message, code, **params)


class EngineError(Exception):
    """Base class of every error the engine raises on purpose.

    ``EngineError(message, code="task.not_found", task_id=7)``: the English message is
    the default rendering; ``code`` (default: the class's) and ``params`` are for
    translation and for API clients.  A :class:`FieldError` as the message lends its code
    and params.
    """

    #: HTTP-ish status the web layer uses when it translates the error.
    status = 400
    #: The code of errors of this class whose raise site names no finer one.
    code = "engine.error"

    def __init__(self, message: str = "", *, code: str | None = None, **params: Any):
        super().__init__(message)
        if code is None and isinstance(message, FieldError):
            code, params = message.code, {**message.params, **params}
        self.code = _known(code or type(self).code)
        self.params: dict[str, Any] = params


class NotFound(EngineError):
    """An id or key that names nothing (process key, instance, task, user)."""

    status = 404
    code = "not_found"


class Forbidden(EngineError):
    """The actor may not do this (wrong role, four-eyes rule, not the assignee)."""

    status = 403
    code = "forbidden"


class Conflict(EngineError):
    """Someone else changed the same thing first (optimistic lock lost, task taken)."""

    status = 409
    code = "conflict"


class NotReady(Conflict):
    """The task exists but cannot be worked on now (already completed, cancelled...)."""

    code = "not_ready"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a diagram, decision table or form file.

    ``element_id``/``element_name``/``line`` are filled in whenever they can be known.
    """

    file: str
    message: str
    element_id: str | None = None
    element_name: str | None = None
    line: int | None = None
    #: Stable code (a key of :data:`CODES`) and its parameters (rule, column, id...).
    code: str = "diagram.problem"
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        """Refuse codes that are not registered."""
        _known(self.code)

    def __str__(self) -> str:
        """One line: ``file:line: element_id 'name': message``."""
        where = self.file + (f":{self.line}" if self.line else "")
        what = ""
        if self.element_id:
            what = f" {self.element_id}"
            if self.element_name:
                what += f" '{_one_line(self.element_name)}'"
            what += ":"
        return f"{where}:{what} {_one_line(self.message)}"

    def to_dict(self) -> dict[str, object]:
        """Plain-dict form, for JSON answers and templates."""
        return {
            "file": self.file,
            "line": self.line,
            "element_id": self.element_id,
            "element_name": self.element_name,
            "message": self.message,
            "code": self.code,
            "params": dict(self.params),
        }


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Problems by file, then line (file-wide ones, without a line, first); the order of
    the checks is kept among problems on the same line."""
    return sorted(problems, key=lambda p: (p.file, p.line or 0))


class InvalidDiagram(EngineError):
    """A deployment was refused; ``problems`` lists everything that is wrong."""

    status = 422
    code = "deploy.problems"

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sort_problems(problems)
        head = f"{len(self.problems)} problem(s) found"
        super().__init__(
            head + ":\n" + "\n".join(str(p) for p in self.problems), count=len(self.problems)
        )


class InvalidData(EngineError):
    """Submitted data failed validation; ``errors`` maps a field path to its message.

    Messages are :class:`FieldError` (plain strings are wrapped as ``form.invalid``).
    """

    status = 422
    code = "invalid_data"

    def __init__(
        self,
        errors: Mapping[str, str],
        message: str | None = None,
        *,
        code: str | None = None,
        **params: Any,
    ):
        self.errors: dict[str, FieldError] = {
            k: v if isinstance(v, FieldError) else FieldError(str(v), field=k)
            for k, v in errors.items()
        }
        text = message or "; ".join(f"{k or '(form)'}: {v}" for k, v in self.errors.items())
        super().__init__(text, code=code, **params)


class TaskFailed(EngineError):
    """An expression, script, decision or service call failed while the engine ran.

    Nothing was saved: the unit of work rolled back.
    """

    status = 422
    code = "run.failed"

    def __init__(
        self,
        message: str,
        *,
        element_id: str | None = None,
        element_name: str | None = None,
        line: int | None = None,
        error_type: str | None = None,
        source_line: str | None = None,
        code: str | None = None,
        **params: Any,
    ):
        self.element_id = element_id
        self.element_name = element_name
        self.line = line
        self.error_type = error_type
        self.source_line = source_line
        where = ""
        if element_id:
            where = f"element {element_id}"
            if element_name:
                where += f" '{element_name}'"
            if line:
                where += f", line {line}"
            where += ": "
        super().__init__(
            where + message,
            code=code,
            element_id=element_id,
            element_name=element_name,
            line=line,
            error_type=error_type,
            detail=message,
            **params,
        )
        self.detail = message


class WorkflowStalled(TaskFailed):
    """The engine stopped without reaching an end event and with nothing left to do."""

    code = "run.stalled"


class StateError(EngineError):
    """A saved instance state cannot be loaded (unknown serializer version, corrupt)."""

    status = 500
    code = "state.unreadable"


class InstanceChanged(Conflict):
    """Someone else saved the instance between this action's read and its write.

    Not the user's conflict: the engine retries the action on fresh state (see
    :mod:`engine.retry`); it reaches a caller only when retries run out.
    """

    code = "instance.changed"


class Busy(Conflict):
    """The database stayed busy (locks, serialization failures) through every retry."""

    code = "db.busy"
