"""What the BPMN converter's parts share: constants, the owner's settings, the result,
and the state every part of :class:`engine.camunda7.bpmn.BpmnConverter` reads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine.camunda7.common import (
    BPMN_NS,
    SPIFF_NS,
    FileReport,
)
from engine.camunda7.report import ServiceBinding

_B = f"{{{BPMN_NS}}}"
_S = f"{{{SPIFF_NS}}}"
HUMAN = frozenset({"userTask", "manualTask", "task"})
_ACTIVITIES = frozenset(
    {"userTask", "manualTask", "task", "serviceTask", "scriptTask", "businessRuleTask",
     "callActivity", "subProcess", "sendTask", "receiveTask"}
)  # fmt: skip
_SERVICE_LIKE = frozenset({"serviceTask", "sendTask", "businessRuleTask"})
_THROWS = frozenset({"intermediateThrowEvent", "endEvent"})
#: Camunda attributes PMOflow has no use for: they change nothing about what a process does.
_HARMLESS = frozenset(
    {
        "asyncBefore", "asyncAfter", "async", "exclusive", "jobPriority", "taskPriority",
        "failedJobRetryTimeCycle", "historyTimeToLive", "versionTag", "isStartableInTasklist",
        "modelerTemplate", "modelerTemplateVersion", "calledElementBinding",
        "calledElementVersion", "calledElementVersionTag", "calledElementTenantId",
        "decisionRefBinding", "decisionRefVersion", "decisionRefVersionTag",
        "decisionRefTenantId", "priority", "followUpDate", "formHandlerClass",
        "candidateStarterGroups", "candidateStarterUsers", "variableMappingClass",
        "variableMappingDelegateExpression", "errorMessage",
    }
)  # fmt: skip
#: Properties the engine reads itself: a Camunda property of that name is not carried over.
_ENGINE_PROPERTIES = frozenset(
    {"role", "assignee", "sla", "slaExpression", "fourEyes", "distinctActors", "closable",
     "formJsonSchemaFilename", "onCancel", "decision", "outcome", "description"}
)  # fmt: skip
#: Sentinel a condition outside the JUEL subset is replaced with: it compiles, and fails
#: loudly (NameError naming the flow) if the owner deploys without rewriting it.
REWRITE_MARK = "camunda_condition_to_rewrite"


@dataclass
class Settings:
    """The owner's choices and what the install has (see :func:`import_camunda`)."""

    group_roles: dict[str, str]
    operations: dict[str, str]
    known_operations: frozenset[str] | None
    known_roles: frozenset[str] | None

    def role_for(self, group: str) -> str | None:
        """The PMOflow role a Camunda group or lane name maps to, or None."""
        if group in self.group_roles:
            return self.group_roles[group] or None
        if self.known_roles is not None and group in self.known_roles:
            return group
        return None


@dataclass
class BpmnResult:
    """A converted BPMN file and what it needs beside it."""

    content: bytes
    forms: dict[str, bytes] = field(default_factory=dict)
    services: list[ServiceBinding] = field(default_factory=list)
    groups: dict[str, str | None] = field(default_factory=dict)


class ConverterState:
    """The attributes the converter's parts (mixins) share; set by ``BpmnConverter``."""

    report: FileReport
    settings: Settings
    result: BpmnResult
    lanes: dict[str, str]
    kept: set[str]
    stem: str
    decision_outputs: dict[str, list[str]]
    requires: dict[str, list[str]]


def _short(text: str, limit: int = 80) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def _form_stem(file: str) -> str:
    base = file.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    stem = _safe(base).lstrip("._-") or "form"
    return stem[:80]
