"""Spec-less persistence of SpiffWorkflow state.

The saved state holds the task tree and data only; the process spec is rebuilt from the
deployed definition (and cached).  The document is wrapped in our own envelope so the
serializer version is checked *before* SpiffWorkflow sees it (the library silently
migrates old versions and accepts unknown ones), and so bookkeeping such as the
per-element visit counts travels with the state.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.errors import FieldError, InvalidData, StateError

#: The SpiffWorkflow serializer format we write and the only one we read.
SPIFF_FORMAT = "1.5"
#: Our envelope's format.
ENVELOPE_FORMAT = 1
#: Keys SpiffWorkflow's registry treats as type tags inside data: a dict carrying one
#: would be "restored" into an object on load (or fail), stranding the instance.
RESERVED_DATA_KEYS = frozenset({"typename"})


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Like the stock converter, but leaves the spec out and takes it back on load."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec=None, subprocess_specs=None) -> BpmnWorkflow:
        from uuid import UUID

        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    SpeclessWorkflowConverter(BpmnWorkflow, registry)
    return BpmnWorkflowSerializer(registry, version=SPIFF_FORMAT)


_SERIALIZER = _make_serializer()


@dataclass
class SavedState:
    """What an instance row stores: the workflow plus our bookkeeping."""

    workflow: BpmnWorkflow
    visits: dict[str, int] = field(default_factory=dict)


def dump_state(state: SavedState) -> str:
    """Serialize a workflow (without its spec) and the visit counts to JSON text.

    Raises :class:`InvalidData` when task data holds something that would not survive a
    reload (a reserved type-tag key, a non-JSON value): nothing is written then.
    """
    wf = state.workflow
    for task in _all_tasks(wf):
        problems = list(find_unsafe_data(task.data, "data"))
        if problems:
            raise InvalidData(dict(problems[:5]), "task data cannot be saved: " + problems[0][1])
    problems = list(find_unsafe_data(wf.data, "data"))
    if problems:
        raise InvalidData(dict(problems[:5]), "workflow data cannot be saved: " + problems[0][1])
    body = _SERIALIZER.to_dict(wf)
    envelope = {
        "format": ENVELOPE_FORMAT,
        "spiff": SPIFF_FORMAT,
        "visits": state.visits,
        "workflow": body,
    }
    return json.dumps(envelope, separators=(",", ":"), default=_refuse)


def load_state(text: str, spec, subprocess_specs: dict) -> SavedState:
    """Rebuild a workflow from :func:`dump_state` output and its (cached) spec.

    Refuses any envelope or serializer version other than the current ones, before
    SpiffWorkflow gets a chance to migrate or misread it.
    """
    try:
        envelope = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise StateError(f"saved state is not valid JSON: {exc}", reason="json") from exc
    if not isinstance(envelope, dict):
        raise StateError("saved state is not a JSON object", reason="not_object")
    if envelope.get("format") != ENVELOPE_FORMAT or envelope.get("spiff") != SPIFF_FORMAT:
        raise StateError(
            f"saved state has format {envelope.get('format')!r} / serializer "
            f"{envelope.get('spiff')!r}; this engine reads only {ENVELOPE_FORMAT} / "
            f"{SPIFF_FORMAT}. Migrate it deliberately before loading."
        )
    try:
        wf = _SERIALIZER.from_dict(
            envelope["workflow"], spec=spec, subprocess_specs=subprocess_specs
        )
    except Exception as exc:  # the library raises anything from KeyError to TypeError
        raise StateError(
            f"saved state cannot be restored: {type(exc).__name__}: {exc}", reason="restore"
        ) from exc
    visits = envelope.get("visits") or {}
    return SavedState(workflow=wf, visits={str(k): int(v) for k, v in visits.items()})


def find_unsafe_data(value: Any, path: str) -> Iterator[tuple[str, FieldError]]:
    """Yield ``(path, message)`` for each value that would not round-trip as JSON."""
    if value is None or isinstance(value, bool | str | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            yield (
                path,
                FieldError(
                    f"{path} is {value}, which is not a JSON number", "data.unsafe", field=path
                ),
            )
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                yield (
                    path,
                    FieldError(f"{path} has a non-text key {key!r}", "data.unsafe", field=path),
                )
                continue
            sub = f"{path}[{key!r}]"
            if key in RESERVED_DATA_KEYS:
                yield (
                    sub,
                    FieldError(
                        f"{sub}: the key {key!r} is reserved by the engine",
                        "data.reserved",
                        field=sub,
                        key=key,
                    ),
                )
                continue
            yield from find_unsafe_data(item, sub)
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from find_unsafe_data(item, f"{path}[{i}]")
        return
    yield (
        path,
        FieldError(
            f"{path} holds a {type(value).__name__}, which is not a JSON value",
            "data.unsafe",
            field=path,
        ),
    )


def _refuse(obj: Any) -> Any:
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def _all_tasks(wf: BpmnWorkflow):
    yield from wf.tasks.values()
    for sub in wf.subprocesses.values():
        yield from sub.tasks.values()


def load_envelope_visits(text: str) -> dict[str, int]:
    """The visit counts from a saved state, without restoring the workflow."""
    try:
        envelope = json.loads(text)
        return {str(k): int(v) for k, v in (envelope.get("visits") or {}).items()}
    except (TypeError, ValueError, AttributeError):
        return {}
