"""The doctor: find stranded instances and rows out of step with the saved state, keep
them as incidents, and repair them (:mod:`.checks`, :mod:`.incidents`, :mod:`.repair`).

"Never stranded silently": ``pmoflow doctor`` and the worker's periodic pass both run
:func:`run`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.doctor.checks import DOCTOR_ACTOR, KINDS, Scan, check
from engine.doctor.incidents import list_incidents, record, resolve_instance
from engine.doctor.repair import after_cancel, force_cancel, rerun
from engine.store.uow import unit_of_work
from engine.views import DoctorReport


def run(
    ctx: EngineContext,
    session: Session,
    *,
    keep: bool = True,
    offset: int = 0,
    limit: int | None = None,
) -> DoctorReport:
    """Check, then (``keep``) turn the findings into incidents in one unit of work."""
    scan = check(ctx, session, offset=offset, limit=limit, batch=ctx.settings.doctor_batch)
    if not keep:
        return DoctorReport(findings=scan.findings, instances_checked=scan.instances_checked)
    with unit_of_work(session):
        return record(
            session,
            scan.findings,
            ctx.clock.now(),
            complete=scan.complete,
            instances_checked=scan.instances_checked,
        )


__all__ = [
    "DOCTOR_ACTOR",
    "KINDS",
    "Scan",
    "after_cancel",
    "check",
    "force_cancel",
    "list_incidents",
    "record",
    "rerun",
    "resolve_instance",
    "run",
]
