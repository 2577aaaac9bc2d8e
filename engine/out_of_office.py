"""Out of office: a person names a period and a delegate; work assigned to them in that
period goes to the delegate, and the audit says so.

The period is a :class:`~engine.store.models.Delegation` of kind ``out_of_office``, so
the delegate may also take the absent person's role tasks meanwhile (the ordinary
delegation rules of :mod:`engine.identity`).  The delegate must be an active user who
holds every role the absent person's work needs (their global roles, administration
roles aside); the four-eyes rule still holds: a four-eyes task whose delegate started
the request stays with its assignee.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from engine import access, identity
from engine.access import ADMIN_ROLE, PROCESS_OWNER_ROLE
from engine.errors import FieldError, InvalidData
from engine.store import rows
from engine.store.models import Delegation, User
from engine.store.rows import Rec
from engine.views import OutOfOfficeView

KIND = "out_of_office"
#: Roles that are administration, not task work: a delegate need not hold them.
NOT_WORK = frozenset({ADMIN_ROLE, PROCESS_OWNER_ROLE})


def _view(row: Delegation) -> OutOfOfficeView:
    return OutOfOfficeView(
        delegate=row.to_user, starts_at=row.starts_at, ends_at=row.ends_at, reason=row.reason
    )


def _current(session: Session, username: str, now: datetime) -> Delegation | None:
    """The person's out-of-office period that has not ended, if any."""
    return session.scalars(
        select(Delegation)
        .where(
            Delegation.from_user == username,
            Delegation.kind == KIND,
            or_(Delegation.ends_at.is_(None), Delegation.ends_at > now),
        )
        .order_by(Delegation.starts_at)
    ).first()


def get(session: Session, username: str, now: datetime) -> OutOfOfficeView | None:
    """The person's current or coming out-of-office period."""
    row = _current(session, username, now)
    return _view(row) if row is not None else None


def _check(
    session: Session, username: str, delegate: str, starts_at: datetime, ends_at: datetime
) -> dict[str, FieldError]:
    errors: dict[str, FieldError] = {}
    if ends_at <= starts_at:
        errors["ends_at"] = FieldError(
            "The period must end after it starts.",
            "ooo.ends_before_start",
            field="ends_at",
        )
    if not delegate:
        errors["delegate"] = FieldError(
            "Name the person who takes over your work.", "form.required", field="delegate"
        )
        return errors
    if delegate == username:
        errors["delegate"] = FieldError(
            "You cannot take over your own work.", "ooo.delegate_self", field="delegate"
        )
        return errors
    user = session.scalar(select(User).where(User.username == delegate))
    if user is None or not user.active:
        errors["delegate"] = FieldError(
            f"There is no active user {delegate!r}.",
            "ooo.delegate_unknown",
            field="delegate",
            user=delegate,
        )
        return errors
    needed = identity.global_roles(session, username) - NOT_WORK
    missing = sorted(needed - identity.global_roles(session, delegate))
    if missing:
        errors["delegate"] = FieldError(
            f"{delegate} may not do this work: they lack the role {', '.join(missing)}.",
            "ooo.delegate_not_allowed",
            field="delegate",
            user=delegate,
            role=", ".join(missing),
        )
    return errors


def set_period(
    session: Session,
    username: str,
    now: datetime,
    *,
    delegate: str,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
) -> OutOfOfficeView:
    """Replace the person's out-of-office period (:class:`InvalidData` naming the field
    when the period ends before it starts or the delegate may not do the work)."""
    delegate = (delegate or "").strip()
    errors = _check(session, username, delegate, starts_at, ends_at)
    if errors:
        raise InvalidData(errors)
    _remove(session, username, now)
    identity.forget_cached(session)
    row = Delegation(
        from_user=username,
        to_user=delegate,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason.strip()[:2000],
        created_at=now,
        kind=KIND,
    )
    session.add(row)
    session.flush()
    rows.audit(
        session,
        instance_id=None,
        at=now,
        actor=username,
        kind="out_of_office_set",
        reason=row.reason or None,
        detail={
            "delegate": delegate,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
        },
    )
    return _view(row)


def _remove(session: Session, username: str, now: datetime) -> int:
    result = session.execute(
        delete(Delegation).where(
            Delegation.from_user == username,
            Delegation.kind == KIND,
            or_(Delegation.ends_at.is_(None), Delegation.ends_at > now),
        )
    )
    identity.forget_cached(session)
    return int(getattr(result, "rowcount", 0) or 0)


def clear(session: Session, username: str, now: datetime) -> bool:
    """End the person's out-of-office period now (audited); False if there was none."""
    if not _remove(session, username, now):
        return False
    rows.audit(
        session, instance_id=None, at=now, actor=username, kind="out_of_office_ended", detail={}
    )
    return True


def delegate_for(session: Session, username: str, now: datetime) -> str | None:
    """Who takes over work assigned to ``username`` right now, if they are away."""
    return session.scalar(
        select(Delegation.to_user).where(
            Delegation.from_user == username,
            Delegation.kind == KIND,
            Delegation.starts_at <= now,
            or_(Delegation.ends_at.is_(None), Delegation.ends_at > now),
        )
    )


def redirect(session: Session, task: Rec, started_by: str, now: datetime, actor: str) -> None:
    """Hand a newly assigned task to its assignee's delegate if the assignee is away and
    the delegate may do the work (:func:`engine.access.handover_eligibility`: the step's
    role, for its project, four eyes, an earlier vote); else it stays with the assignee.
    Audited either way (with why it stayed)."""
    absent = task.assignee
    if not absent:
        return
    delegate = delegate_for(session, absent, now)
    if delegate is None:
        return
    kind = "out_of_office_redirected"
    why = None
    eligible = access.handover_eligibility(session, delegate, task, started_by, now, own_right=True)
    if not eligible.allowed:
        kind, why = "out_of_office_kept", eligible.reason  # not theirs to do
    else:
        task.assignee = delegate
    rows.audit(
        session,
        instance_id=task.instance_id,
        at=now,
        actor=actor,
        kind=kind,
        element_id=task.element_id,
        element_name=task.name,
        detail={"task": task.name, "from": absent, "to": delegate}
        if why is None
        else {"task": task.name, "from": absent, "to": delegate, "why": str(why)},
    )
