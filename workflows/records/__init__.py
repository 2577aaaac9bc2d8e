"""PMO records: project registry, risk register, escalation log, lessons library.

The glue of the four PMO processes writes through these functions.  Each takes the unit
of work's ``Session`` and plain values, flushes but never commits, raises
``InvalidData({field: message})`` for bad input, ``NotFound`` and ``Conflict`` (illegal
transitions), and returns frozen dataclasses (:mod:`.views`); :func:`to_json` turns
those into task data.  See ``docs/records.md``.
"""

from __future__ import annotations

from workflows.records.codes import allocate_project_code, next_number
from workflows.records.currency import (
    RATES,
    REPORTING_CURRENCY,
    supported_currencies,
    to_reporting,
)
from workflows.records.escalations import (
    escalation_recipients,
    get_escalation,
    list_escalations,
    raise_escalation,
    record_escalation_decision,
    reopen_escalation,
    resolve_escalation,
    set_escalation_status,
)
from workflows.records.lessons import (
    add_lesson,
    curate_lessons,
    get_lesson,
    list_lessons,
    read_counts,
    record_read,
    search_lessons,
)
from workflows.records.projects import (
    approve_project,
    get_project,
    get_project_by_code,
    list_projects,
    propose_project,
    record_actuals,
    reject_project,
    set_stage,
    stage_history,
    update_proposal,
    withdraw_project,
)
from workflows.records.risks import (
    close_risk,
    decide_risk,
    escalate_risk,
    get_risk,
    list_risks,
    raise_risk,
    record_risk_review,
    revise_risk,
    risk_matrix,
)
from workflows.records.views import (
    EscalationView,
    LessonView,
    Money,
    ProjectView,
    RiskReviewView,
    RiskView,
    StageChangeView,
    to_json,
)

__all__ = [
    "RATES",
    "REPORTING_CURRENCY",
    "EscalationView",
    "LessonView",
    "Money",
    "ProjectView",
    "RiskReviewView",
    "RiskView",
    "StageChangeView",
    "add_lesson",
    "allocate_project_code",
    "approve_project",
    "close_risk",
    "curate_lessons",
    "decide_risk",
    "escalate_risk",
    "escalation_recipients",
    "get_escalation",
    "get_lesson",
    "get_project",
    "get_project_by_code",
    "get_risk",
    "list_escalations",
    "list_lessons",
    "list_projects",
    "list_risks",
    "next_number",
    "propose_project",
    "raise_escalation",
    "raise_risk",
    "read_counts",
    "record_actuals",
    "record_escalation_decision",
    "record_read",
    "record_risk_review",
    "reject_project",
    "reopen_escalation",
    "resolve_escalation",
    "revise_risk",
    "risk_matrix",
    "search_lessons",
    "set_escalation_status",
    "set_stage",
    "stage_history",
    "supported_currencies",
    "to_json",
    "to_reporting",
    "update_proposal",
    "withdraw_project",
]
