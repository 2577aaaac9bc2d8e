"""The PMO records' vocabularies: stages, categories, statuses and allowed transitions.

Forms, decision tables and glue use these values; the repository refuses anything else.
"""

from __future__ import annotations

# --------------------------------------------------------------------------- projects

PROJECT_STAGES = (
    "Proposed", "Initiation", "Executing", "Closing", "Closed", "Rejected", "Withdrawn",
)
#: Stages from which no transition leads anywhere.
FINAL_STAGES = frozenset({"Closed", "Rejected", "Withdrawn"})
#: Stages of an approved, running project (risks and escalations may be raised).
ACTIVE_STAGES = frozenset({"Initiation", "Executing", "Closing"})

#: from stage -> stages it may move to.
STAGE_TRANSITIONS: dict[str, frozenset[str]] = {
    "Proposed": frozenset({"Initiation", "Rejected", "Withdrawn"}),
    "Initiation": frozenset({"Executing", "Closing", "Withdrawn"}),
    "Executing": frozenset({"Closing"}),
    # Closing -> Executing: the closure was sent back (acceptance refused, work remains).
    "Closing": frozenset({"Closed", "Executing"}),
    "Closed": frozenset(),
    "Rejected": frozenset(),
    "Withdrawn": frozenset(),
}
#: Transitions that must carry a reason (a rejection or a send-back always does).
STAGE_REASON_REQUIRED = frozenset({("Proposed", "Rejected"), ("Closing", "Executing")})

PROJECT_CATEGORIES = (
    "it", "construction", "rnd", "compliance", "operations", "marketing", "other",
)
RISK_RATINGS = ("low", "medium", "high")

# --------------------------------------------------------------------------- risks

#: The PMO's unified risk classification.
RISK_CATEGORIES = (
    "technical", "schedule", "cost", "supplier", "compliance", "currency", "cultural",
    "resource", "scope", "other",
)
RISK_LEVELS = ("low", "medium", "high")
RISK_RESPONSES = ("avoid", "mitigate", "transfer", "accept")
RISK_STATUSES = ("under_review", "sent_back", "accepted", "closed")
REVIEW_OUTCOMES = ("approve", "send_back", "escalate")
TOP_REVIEW_LEVEL = 3

# --------------------------------------------------------------------------- escalations

ESCALATION_KINDS = (
    "resource_conflict", "priority_conflict", "vendor", "budget", "scope",
)
SEVERITIES = ("low", "medium", "high", "critical")
ESCALATION_STATUSES = (
    "triage", "pmo", "steering", "handed_back", "decided", "resolved", "reopened",
)
DECISION_LEVELS = ("pmo", "steering")

_ROUTE = frozenset({"pmo", "steering", "handed_back", "decided"})
#: from status -> statuses it may move to.
ESCALATION_TRANSITIONS: dict[str, frozenset[str]] = {
    "triage": _ROUTE,
    "reopened": _ROUTE | {"triage"},
    "pmo": frozenset({"steering", "handed_back", "decided"}),
    "steering": frozenset({"handed_back", "decided"}),
    "handed_back": frozenset({"resolved", "reopened"}),
    "decided": frozenset({"resolved", "reopened"}),
    "resolved": frozenset(),
}
#: Statuses in which the PMO (level "pmo") may decide; steering decides in "steering".
PMO_DECIDES_IN = frozenset({"triage", "reopened", "pmo"})

# --------------------------------------------------------------------------- lessons

LESSON_CATEGORIES = (*RISK_CATEGORIES[:-1], "stakeholder", "communication", "quality",
                     "process", "other")
