"""Run a decision table on test inputs (the test panel) or on the inputs recorded from
past instances (the what-if), in the sandbox, exactly as a running instance would.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.errors import FieldError, InvalidData
from engine.spiff.decisions import Evaluation, evaluate_values
from engine.spiff.sandbox import SandboxedScriptEngine, SandboxError
from engine.store.models import DecisionDefinition, DecisionEvaluation, ProcessInstance
from engine.views import RuleTestResult, WhatIfChange, WhatIfResult, WhatIfSummary

_NUMBER_TYPES = frozenset({"number", "integer", "long", "double"})
_TRUE = frozenset({"true", "yes", "1", "是"})
_FALSE = frozenset({"false", "no", "0", "否"})


def script_engine(ctx: EngineContext) -> SandboxedScriptEngine:
    """The sandbox a table runs in (the engine's limits and helper functions)."""
    return SandboxedScriptEngine(limits=ctx.settings.sandbox, helpers=ctx.helpers)


def coerce_inputs(engine: DMNEngine, given: Mapping[str, Any]) -> dict[str, Any]:
    """Typed input values per column id from values given by column id or label (text
    from a form is converted by the column's type; errors per field)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for column in engine.decision_table.inputs:
        raw = given.get(column.id, given.get(column.label or "", None))
        try:
            values[column.id] = _typed(raw, column.typeRef)
        except ValueError as exc:
            errors[f"inputs.{column.id}"] = FieldError(
                f"{column.label or column.id}: {exc}",
                "rule.input_invalid",
                field=f"inputs.{column.id}",
                column=column.label or column.id,
                detail=str(exc),
            )
    if errors:
        raise InvalidData(errors)
    return values


def _typed(raw: Any, type_ref: str | None) -> Any:
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    if text == "":
        return None
    if (type_ref or "").lower() in _NUMBER_TYPES:
        try:
            number = float(text.replace(",", ""))
        except ValueError:
            raise ValueError("enter a number") from None
        return int(number) if number.is_integer() else number
    if (type_ref or "").lower() == "boolean":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError("enter true or false")
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]  # typed as the table's cells write it: "high"
    return raw


def plain_value(raw: Any) -> Any:
    """A test-panel variable typed as text: a number if it reads as one, else the text."""
    if not isinstance(raw, str):
        return raw
    try:
        number = float(raw.strip())
    except ValueError:
        return raw
    return int(number) if number.is_integer() else number


def run_test(
    ctx: EngineContext,
    engine: DMNEngine,
    label: str,
    values: Mapping[str, Any],
    variables: Mapping[str, Any],
) -> RuleTestResult:
    """Run a table on test values; an error in a cell is part of the answer, not a crash."""
    try:
        found = evaluate_values(engine, values, script_engine(ctx), variables)
    except (SpiffWorkflowException, SandboxError, ValueError, TypeError) as exc:
        return RuleTestResult(label, [], {}, error=_error_text(exc))
    return RuleTestResult(label, found.rows, found.columns)


def _error_text(exc: BaseException) -> str:
    notes = " ".join(getattr(exc, "__notes__", []) or [])
    cause = exc.__cause__ or exc.__context__
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if cause is not None and str(cause) not in text:
        text = f"{text} ({cause})"
    return f"{text} {notes}".strip()


# --------------------------------------------------------------------------- what-if


def what_if(ctx: EngineContext, session: Session, key: str, draft: DMNEngine) -> WhatIfResult:
    """Replay ``draft`` over the last recorded evaluation of ``key`` by every instance."""
    latest: dict[int, DecisionEvaluation] = {}
    for row in session.scalars(
        select(DecisionEvaluation)
        .where(DecisionEvaluation.decision_key == key)
        .order_by(DecisionEvaluation.id)
    ):
        latest[row.instance_id] = row
    titles = (
        dict(
            session.execute(
                select(ProcessInstance.id, ProcessInstance.title).where(
                    ProcessInstance.id.in_(list(latest))
                )
            ).all()
        )
        if latest
        else {}
    )
    expressions = _recorded_expressions(session, {r.definition_id for r in latest.values()})
    sandbox = script_engine(ctx)
    changed: list[WhatIfChange] = []
    failed: list[tuple[int, str]] = []
    for instance_id, row in sorted(latest.items()):
        try:
            values = _values_for(draft, row, expressions.get(row.definition_id or 0, {}))
            after = evaluate_values(draft, values, sandbox, row.inputs.get("context") or {})
        except (SpiffWorkflowException, SandboxError, ValueError, TypeError, KeyError) as exc:
            failed.append((instance_id, _error_text(exc)))
            continue
        change = _compare(
            instance_id,
            titles.get(instance_id, ""),
            (row.outputs or {}).get("columns") or {},
            after,
            draft,
        )
        if change is not None:
            changed.append(change)
    return WhatIfResult(
        key=key,
        checked=len(latest) - len(failed),
        changed=changed,
        summary=_summary(changed),
        failed=failed,
    )


def _recorded_expressions(session: Session, ids: set[int | None]) -> dict[int, dict[str, str]]:
    """Per recorded version: input column id -> its expression (to match renamed columns)."""
    found: dict[int, dict[str, str]] = {}
    wanted = [i for i in ids if i is not None]
    for row in (
        session.scalars(select(DecisionDefinition).where(DecisionDefinition.id.in_(wanted)))
        if wanted
        else []
    ):
        found[row.id] = {
            c["id"]: (c.get("expression") or "").strip() for c in row.meta.get("inputs", [])
        }
    return found


def _values_for(
    draft: DMNEngine, row: DecisionEvaluation, expressions: dict[str, str]
) -> dict[str, Any]:
    """The recorded value of each of the draft's input columns: by column id, else by an
    identical input expression; a column never recorded cannot be replayed."""
    recorded = row.inputs.get("values") or {}
    by_expression = {e: recorded[i] for i, e in expressions.items() if i in recorded}
    values = {}
    for column in draft.decision_table.inputs:
        if column.id in recorded:
            values[column.id] = recorded[column.id]
        elif (column.expression or "").strip() in by_expression:
            values[column.id] = by_expression[(column.expression or "").strip()]
        else:
            raise KeyError(f"input '{column.label or column.id}' was not recorded for it")
    return values


def _compare(
    instance_id: int,
    title: str,
    before: Mapping[str, list[Any]],
    after: Evaluation,
    draft: DMNEngine,
) -> WhatIfChange | None:
    labels = {o.name or o.label: o.label or o.name for o in draft.decision_table.outputs}
    columns = []
    for name in dict.fromkeys([*before, *after.columns]):
        old, new = list(before.get(name, [])), list(after.columns.get(name, []))
        if Counter(map(repr, old)) == Counter(map(repr, new)):
            continue
        added = _minus(new, old)
        removed = _minus(old, new)
        columns.append((labels.get(name, name), added, removed))
    if not columns:
        return None
    return WhatIfChange(instance_id, title, dict(before), dict(after.columns), columns)


def _minus(values: list[Any], other: list[Any]) -> list[Any]:
    left = list(other)
    found = []
    for value in values:
        if value in left:
            left.remove(value)
        else:
            found.append(value)
    return found


def _summary(changed: list[WhatIfChange]) -> list[WhatIfSummary]:
    counts: Counter[tuple[str, str, str]] = Counter()
    values: dict[tuple[str, str, str], Any] = {}
    for change in changed:
        seen = set()
        for column, added, removed in change.columns:
            for kind, items in (("added", added), ("removed", removed)):
                for value in items:
                    key = (column, kind, repr(value))
                    if key not in seen:
                        seen.add(key)
                        counts[key] += 1
                        values[key] = value
    return [
        WhatIfSummary(column, kind, values[(column, kind, r)], n)
        for (column, kind, r), n in counts.most_common()
    ]
