"""Words the engine and the diagrams bring in English, said in the user's language.

- Engine errors, field errors and reasons are said by their stable ``code`` and
  ``params`` (:data:`MESSAGES`); nothing reads the engine's English text back.
- Role keys get their display names.
- Common form words (``Decision``, ``Comment``...) and outcome values (``accept``) are
  translated when a schema gives no ``x-title-zh`` / ``x-enum-titles`` of its own.
"""

from __future__ import annotations

from flask_babel.speaklater import LazyString

from webui.i18n import gettext
from webui.i18n import lazy_gettext as _l

ROLE_LABELS = {
    "pm": _l("Project manager"),
    "sponsor": _l("Project sponsor"),
    "pmo_reviewer": _l("PMO reviewer"),
    "pmo_head": _l("PMO head"),
    "finance": _l("Finance controller"),
    "steering": _l("Steering committee"),
    "team": _l("Project team member"),
    "process_owner": _l("Process owner"),
    "pmo_admin": _l("PMO administrator"),
}



def N_(text: str) -> str:
    """Mark ``text`` for extraction; it is translated where it is shown."""
    return text


#: Common words of form schemas and outcomes, translated when a schema has no zh title.
VOCABULARY = frozenset((
    N_("Title"), N_("Budget"), N_("Comment"), N_("Decision"), N_("Outcome"), N_("Reason"),
    N_("Planned start"), N_("Planned end"), N_("Description"), N_("Category"),
    N_("Accept"), N_("Approve"), N_("Reject"), N_("Rework"), N_("Escalate"), N_("Yes"),
    N_("No"), N_("Proposal"), N_("Review"), N_("Currency"), N_("Amount"),
))

_TYPES = {
    "number": _l("Must be a number."),
    "integer": _l("Must be a whole number."),
    "string": _l("Must be text."),
    "boolean": _l("Must be yes or no."),
    "array": _l("Must be a list."),
    "object": _l("Must be a group of values."),
}

#: Engine error code -> template (``%(name)s`` from the error's params), said in the
#: user's language.  Codes in :data:`VERBATIM` have none: their text comes from elsewhere.
MESSAGES: dict[str, LazyString] = {
    # not found
    "process.not_found": _l("There is no deployed process with the key %(key)s."),
    "process.version_not_found": _l("Process %(key)s has no version %(version)s."),
    "decision.not_found": _l("There is no decision table %(key)s."),
    "draft.not_found": _l("There is no draft %(draft_id)s."),
    "draft.process_key_invalid": _l("Give the process an id (at most %(limit)s characters)."),
    "draft.empty": _l("The diagram is empty."),
    "draft.too_large": _l("The diagram is larger than %(limit_mb)s MB."),
    "version.comment_required": _l("Say what changed and why."),
    "move.reason_required": _l("Say why the instances move to the new version."),
    "rule.comment_required": _l("Say why the rule changes (a comment is required)."),
    "rule.comment_too_long": _l("Keep the comment under %(limit)s characters."),
    "rule.effective_in_past": _l("Choose now or a later date."),
    "rule.no_draft": _l("There is no draft of %(key)s to publish; save one first."),
    "rule.input_invalid": _l("%(column)s does not take this value: %(detail)s"),
    "definition.not_found": _l("There is no process definition %(definition_id)s."),
    "definition.decision_missing": _l("Process %(process)s needs the decision %(key)s, which "
                                      "is not deployed."),
    "definition.called_missing": _l("Process %(process)s calls %(key)s, which is not "
                                    "deployed."),
    "instance.not_found": _l("There is no request %(instance_id)s."),
    "task.not_found": _l("There is no task %(task_id)s."),
    "user.not_found": _l("There is no user named “%(user)s”."),
    "attachment.not_found": _l("There is no attachment %(attachment_id)s."),
    "token.not_found": _l("There is no API token %(token_id)s."),
    "job.not_found": _l("There is no job %(job_id)s."),
    "mail.not_found": _l("There is no mail %(mail_id)s in the outbox."),
    "job.no_handler": _l("No handler is registered for jobs of kind %(kind)s."),
    "service.unknown_operation": _l("No service operation named %(name)s is registered."),
    # access
    "access.start_role": _l("Starting “%(process)s” needs the role “%(role)s”."),
    "access.role_missing": _l("This task needs the role “%(role)s”."),
    "access.assigned_to_other": _l("This task is assigned to %(user)s."),
    "access.four_eyes_delegate": _l("Four-eyes rule: %(user)s submitted this request and may "
                                    "not review it."),
    "access.distinct_actors": _l("%(user)s has already completed “%(name)s” in this "
                                 "request; each instance of this step needs a different "
                                 "person."),
    "access.handover_not_eligible": _l("%(user)s may not work on this task, so it cannot "
                                       "be handed to them."),
    "access.no_access": _l("You have no access to this."),
    "access.pmo_only": _l("Only the PMO sees every running request."),
    "access.starter_only": _l("Only the person who started this request may withdraw it."),
    "access.admin_only": _l("Only a PMO administrator may do this."),
    "access.process_owner_only": _l("Only a process owner may validate or deploy diagrams."),
    "access.token_owner_only": _l("Only its owner or a PMO administrator may revoke a "
                                  "token."),
    "access.self_delegation": _l("Nobody can delegate to themselves."),
    "task.not_claimed_by_you": _l("Task %(task_id)s is not claimed by you."),
    # conflicts
    "task.claimed_by_other": _l("Task %(task_id)s is already claimed by %(user)s."),
    "task.assigned_by_process": _l("The process assigned this task to you; it was not taken "
                                   "from a pool. Hand it over (delegate) instead."),
    "task.gone": _l("Task %(task_id)s no longer exists."),
    "task.changed": _l("Task %(task_id)s (%(name)s) was completed or changed by someone "
                       "else meanwhile."),
    "task.reassigned": _l("Task %(task_id)s (%(name)s) was reassigned meanwhile."),
    "instance.not_running": _l("Request %(instance_id)s is no longer running."),
    "instance.changed": _l("Someone else changed this request while you worked on it; "
                           "reload and try again."),
    "db.busy": _l("The system is busy with other work; nothing was saved, please try "
                  "again."),
    "job.not_failed": _l("Job %(job_id)s has not failed, so it cannot be retried."),
    "mail.not_failed": _l("Mail %(mail_id)s has not failed, so it cannot be sent again."),
    # data and input
    "form.not_object": _l("The submitted data must be a JSON object."),
    "form.not_role_holder": _l("%(user)s may not be chosen here: they do not hold the role "
                               "%(role)s."),
    "form.required": _l("This field is required."),
    "form.enum": _l("Choose one of: %(allowed)s."),
    "form.minLength": _l("Must be at least %(limit)s characters."),
    "form.maxLength": _l("Must be at most %(limit)s characters."),
    "form.minimum": _l("Must be at least %(limit)s."),
    "form.maximum": _l("Must be at most %(limit)s."),
    "form.exclusiveMinimum": _l("Must be greater than %(limit)s."),
    "form.exclusiveMaximum": _l("Must be less than %(limit)s."),
    "form.multipleOf": _l("Must be a multiple of %(limit)s."),
    "form.minItems": _l("Choose at least %(limit)s."),
    "form.maxItems": _l("Choose at most %(limit)s."),
    "form.pattern": _l("Has the wrong format."),
    "form.const": _l("This value cannot be changed."),
    "form.uniqueItems": _l("Each entry may appear only once."),
    "diagram.unasked_field": _l("The condition reads %(name)s, which no form of this process "
                                "asks for."),
    "form_schema.not_found": _l("There is no form %(name)s."),
    "form_schema.bad_name": _l("A form name is a file name ending in .json (letters, digits, "
                               "_ . -)."),
    "form_schema.too_large": _l("The form is larger than %(limit)s characters."),
    "form_schema.not_json": _l("The form is not JSON (line %(line)s)."),
    "form_schema.not_object": _l("A form is an object with properties (type: object)."),
    "form_schema.invalid": _l("Not valid JSON Schema (rule %(keyword)s)."),
    "form_schema.duplicate_key": _l("The key %(key)s appears twice."),
    "form_schema.unknown_field": _l("No field %(name)s in this form."),
    "form_schema.choice_label": _l("The choice %(value)s has no %(language)s label."),
    "form_schema.date_bound": _l("%(name)s: the earliest or latest date must be a date "
                                 "(YYYY-MM-DD), today, or today+N / today-N days, not "
                                 "%(value)s."),
    "form_schema.date_range": _l("%(name)s: the earliest date %(earliest)s is after the latest "
                                 "date %(latest)s."),
    "form.earliest": _l("Must be on or after %(limit)s."),
    "form.latest": _l("Must be on or before %(limit)s."),
    "form.additionalProperties": _l("The form does not have this field."),
    "data.reserved": _l("This name is reserved by the engine."),
    "data.unsafe": _l("This value cannot be stored (it is not plain text, number, list or "
                      "group)."),
    "input.choice": _l("Choose one of: %(allowed)s."),
    "input.reason_required": _l("Please give a reason."),
    "input.already_assignee": _l("%(user)s already has this task."),
    "input.after_unknown": _l("There is no task %(task_id)s to continue the list after."),
    "input.inactive_user": _l("%(user)s is not an active user."),
    "input.too_long": _l("Use at most %(limit)s characters."),
    "token.bad_duration": _l("Give a duration such as 90d, 12h or 2w, or never."),
    "token.too_long_lived": _l("A token may live ten years at most."),
    "upload.empty": _l("The file is empty."),
    "upload.too_large": _l("The file is larger than %(limit_mb)s MB."),
    "upload.quota": _l("You have %(held_mb)s MB of uploads not yet part of a submitted form; "
                       "the limit is %(limit_mb)s MB. Submit or discard those forms first "
                       "(unsubmitted uploads are deleted after a day)."),
    "upload.unknown": _l("This attachment does not exist or is not yours to attach."),
    # process run (detail: the library's or the script's own words)
    "run.failed": _l("A step of the process failed: %(detail)s"),
    "run.loop_limit": _l("A loop of the process ran more often than allowed: %(detail)s"),
    "run.too_deep": _l("The process nests or loops too deeply for the engine."),
    "run.stalled": _l("The process stopped without reaching its end: %(detail)s"),
    "run.sla_failed": _l("The deadline (SLA) of a step could not be worked out: %(detail)s"),
    "state.unreadable": _l("The saved state of this request cannot be loaded; the "
                           "administrator has been told."),
    # deployments
    "deploy.problems": _l("%(count)s problem(s) found."),
    "deploy.nothing": _l("Nothing to deploy in this file."),
    "deploy.duplicate_file": _l("Two files of the deployment have this name."),
    "deploy.unknown_file_kind": _l("Unknown kind of file: expected a .bpmn diagram, a .dmn "
                                   "decision table or a .json form schema."),
    "deploy.no_process": _l("The file contains no process."),
    "deploy.duplicate_id": _l("The id %(key)s is used more than once."),
    "deploy.not_executable": _l("Process “%(process)s” is marked as not executable (a "
                                "description, not a process to run): nothing to deploy; "
                                "tick “Executable” in its properties to deploy it."),
    "user.username_invalid": _l("Use 1 to 64 letters, digits, '.', '-' or '_'."),
    "user.username_taken": _l("The username %(name)s is already taken."),
    "user.email_invalid": _l("%(value)s is not an e-mail address."),
    "user.time_zone_invalid": _l("%(value)s is not a time zone such as Asia/Shanghai."),
    "ooo.ends_before_start": _l("The period must end after it starts."),
    "ooo.delegate_self": _l("You cannot take over your own work."),
    "ooo.delegate_unknown": _l("There is no active user %(user)s."),
    "ooo.delegate_not_allowed": _l("%(user)s may not do this work: they lack the role %(role)s."),
    "user.field_read_only": _l("This field cannot be changed here."),
    "role.unknown": _l("Unknown role: %(role)s."),
    "sso.group_invalid": _l("Give the group's name as the provider sends it (1 to 200 "
                            "characters)."),
    "sso.mapping_not_found": _l("There is no such group mapping (perhaps someone removed it "
                                "already)."),
    "role.not_project_scoped": _l("%(role)s is not a project role; grant it everywhere "
                                  "instead."),
    "sla.duration_invalid": _l("%(value)s is not a duration such as P3D (three working days) "
                               "or PT4H."),
    "sla.too_long": _l("At most %(limit)s working days."),
    "sla.unknown_step": _l("Choose a step of a deployed process."),
    "sla.not_found": _l("No SLA default is set for %(process)s / %(element_id)s."),
    "calendar.line_invalid": _l("Line %(line)s (%(value)s) is not 'YYYY-MM-DD, name, "
                                "holiday|workday'."),
    "calendar.date_repeated": _l("Line %(line)s (%(value)s) repeats the date of line "
                                 "%(other)s."),
    "clock.duration_invalid": _l("%(value)s is not a duration such as 2d, 4h or P1DT2H."),
    "clock.duration_negative": _l("%(value)s: the clock only moves forward."),
    "clock.not_demo": _l("The clock can only be moved on a demo or test install."),
    "calendar.hours_invalid": _l("%(value)s is not working hours such as 09:00-18:00 (the "
                                 "start before the end)."),
    "wait.not_closable": _l("This request waits on nothing that may be closed early."),
    "wait.reason_required": _l("Give a reason for closing the wait early."),
    "access.own_account": _l("You cannot deactivate your own account or take away your own "
                             "administrator role."),
    "dmn.key_changed": _l("The decision id must stay %(key)s (processes call the table by "
                          "it), not %(found)s."),
    "dmn.unsupported_version": _l("This DMN version is not supported; save the table as DMN "
                                  "1.3."),
    # ops console
    "ops.instance_moved_on": _l("Request %(instance_id)s changed after you opened the page "
                                "(version %(seen)s, now %(revision)s): last change: "
                                "%(change)s; it is %(status)s, at: %(step)s. Nothing was "
                                "done; reload and decide again."),
    "instance.suspended": _l("Request %(instance_id)s is suspended; a PMO administrator must "
                             "resume it first."),
    "instance.not_suspended": _l("Request %(instance_id)s is not suspended (it is "
                                 "%(status)s)."),
    "incident.not_found": _l("There is no incident %(incident_id)s."),
    "incident.not_open": _l("Incident %(incident_id)s is already resolved."),
    "ops.no_token": _l("No token waits at %(element_id)s (tokens wait at: %(waiting)s)."),
    "ops.several_tokens": _l("%(count)s tokens wait at %(element_id)s (a multi-instance "
                             "step); they cannot be moved one by one."),
    "ops.step_unknown": _l("Version %(version)s of the process has no element "
                           "%(element_id)s."),
    "ops.step_not_enterable": _l("%(element_id)s (%(name)s) is a %(type)s: a token can only "
                                 "be moved to a task, a subprocess or an intermediate "
                                 "event."),
    "ops.step_other_process": _l("%(element_id)s belongs to %(process)s, not to "
                                 "%(token_process)s where the token waits."),
    "ops.same_step": _l("The token already waits at %(element_id)s."),
    "access.dashboard_only": _l("Only the PMO head and the PMO administrator see the "
                                "dashboard."),
    "dashboard.date_invalid": _l("%(value)s is not a date (YYYY-MM-DD)."),
    "dashboard.period_reversed": _l("The period ends (%(end)s) before it starts (%(start)s)."),
    "dashboard.period_too_long": _l("Choose a period of at most three years."),
    "dashboard.period_future": _l("The period starts after today (%(today)s)."),
    "dashboard.category_unknown": _l("%(value)s is not a project category."),
    "dashboard.figure_unknown": _l("%(value)s is not a dashboard figure."),
    "dashboard.department_unknown": _l("No project involves the department %(value)s."),
}

#: Codes whose English text is the message itself, shown as it is: a schema author's
#: ``errorMessage``, an XML parser's or SpiffWorkflow's words, a rule checker's finding,
#: and the generic codes of a class (its raise site named no finer code, e.g. the records
#: of ``workflows/``, whose own words are better than a generic sentence).
VERBATIM = frozenset({"form.invalid", "deploy.bad_xml", "deploy.library", "diagram.problem",
                      "dmn.problem", "form_file.invalid", "engine.error", "not_found",
                      "forbidden", "conflict", "not_ready", "invalid_data"})


class _Params(dict):
    """Params for a template: a missing one renders empty instead of failing."""

    def __missing__(self, key: str) -> str:
        return ""


def say(item: object) -> str:
    """An engine error, field error or problem in the user's language, by its ``code`` and
    ``params`` (never by its English text); without a known code: its text as is."""
    code = getattr(item, "code", None)
    params = _Params(getattr(item, "params", None) or {})
    text = str(getattr(item, "message", item) if not isinstance(item, BaseException) else item)
    if params.get("custom"):  # the schema's own errorMessage
        return str(params["custom"])
    special = _SPECIAL.get(code or "")
    if special is not None:
        return special(params) or text
    template = MESSAGES.get(code or "")
    if template is None:
        return text
    if "role" in params:
        params["role"] = ", ".join(role_label(r.strip()) for r in str(params["role"]).split(","))
    if "process" in params:
        from webui.wording import label

        params["process"] = label(params["process"])
    return str(template) % params


def field_message(message: object) -> str:
    """A field's validation message (a ``FieldError``) in the user's language."""
    return say(message)


def access_message(message: object) -> str:
    """Why someone may not work on a task (a coded reason), in the user's language."""
    return say(message)


def _type_text(params: dict) -> str:
    return str(_TYPES.get(str(params.get("expected")), "")) if params.get("expected") else ""


def _four_eyes(params: dict) -> str:
    if params.get("own"):
        return gettext("Four-eyes rule: you submitted this request, so someone else must "
                       "review it.")
    return gettext("Four-eyes rule: %(user)s, for whom you act, submitted this request.",
                   user=params.get("starter", ""))


def _not_open(params: dict) -> str:
    if params.get("status") == "completed" and params.get("by"):
        return gettext("Task %(task_id)s is already completed by %(user)s.",
                       task_id=params.get("task_id", ""), user=params["by"])
    return gettext("Task %(task_id)s is no longer open.", task_id=params.get("task_id", ""))


def _format(params: dict) -> str:
    if params.get("format") == "date":
        return gettext("Must be a valid date (YYYY-MM-DD).")
    return gettext("Must be a valid %(format)s.", format=params.get("format", ""))


#: Codes whose text depends on their params beyond filling them in (``form.type`` with
#: a list of types, say, falls back to the English text).
def _unasked(params: dict) -> str:
    if params.get("decision"):
        return gettext("The decision table %(decision)s reads %(name)s, which no form of this "
                       "process asks for.", decision=params["decision"], name=params.get("name"))
    return str(MESSAGES["diagram.unasked_field"]) % params


def _foreign(params: dict) -> str:
    """Which tool a diagram was drawn for, and what to do (by the engine's advice key)."""
    tool, settings = params.get("tool", ""), params.get("settings", "")
    if not params.get("advice"):
        return gettext("This diagram was drawn in %(tool)s: its %(tool)s extensions (layout, "
                       "documentation) are ignored; the problems listed are about the BPMN "
                       "itself.", tool=tool)
    said = gettext("This diagram was drawn for %(tool)s: the engine does not read its "
                   "%(tool)s settings (%(settings)s).", tool=tool, settings=settings)
    advice = {
        "import_camunda7": gettext("Use Import from Camunda 7, which converts what it can "
                                   "and lists the rest."),
        "activiti": gettext("Early Camunda 7 diagrams use this namespace too: for those use "
                            "Import from Camunda 7; otherwise set roles, operations and "
                            "forms again in the modeler's properties panel."),
    }.get(params["advice"], gettext("Set roles, operations and forms again in the modeler's "
                                    "properties panel."))
    return said + ("" if said.endswith("。") else " ") + advice  # no space after a 。


_SPECIAL = {"form.type": _type_text, "access.four_eyes": _four_eyes,
            "task.already_completed": _not_open, "form.format": _format,
            "diagram.unasked_field": _unasked, "diagram.foreign_extensions": _foreign}


def word(text: str | None) -> str:
    """A common form word in the user's language (unknown words as they are)."""
    if not text:
        return ""
    return gettext(text) if text in VOCABULARY else text


def role_label(key: str | None, fallback: dict[str, str] | None = None) -> str:
    """Display name of a role key."""
    if not key:
        return ""
    if key in ROLE_LABELS:
        return str(ROLE_LABELS[key])
    return (fallback or {}).get(key, key)


def role_labels(fallback: dict[str, str] | None = None) -> dict[str, str]:
    """Every known role key with its display name in the user's language (for the
    diagram's lanes)."""
    keys = set(ROLE_LABELS) | set(fallback or {})
    return {key: role_label(key, fallback) for key in sorted(keys)}


def process_failed(detail: str) -> str:
    """What a person is told when a step of the process itself failed on their input."""
    return gettext("The process could not go on, so nothing was saved; your input is kept. "
                   "Please tell the process owner: %(detail)s", detail=detail)
