"""Who may see and do what, beyond holding a task's role (see :mod:`engine.identity`).

Plain checks over the indexed tables: who may start a process, see a task or an instance,
work on a task, withdraw a request or reassign work.  No workflow is loaded here.

**One rule decides who may work on a task** (:func:`may_work_on`): the check when someone
claims, saves, hands over or completes, the inbox's "claimable" list (:func:`workable_filter`,
the same rule as SQL over ``human_tasks``), the task page's buttons and the hand-over list
(:func:`handover_candidates`) all apply it, so nobody is offered what they would be refused.
A candidate (the person in their own right, else someone who delegated to them) may work on
a task when they hold it (assignee) or its role (for its project when project-scoped), the
four-eyes rule does not exclude them (neither they nor whom they act for started the
request), and on a ``distinctActors`` step (committee votes) neither has completed another
instance of the same run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, not_, or_, select
from sqlalchemy.orm import Session, aliased

from engine import identity
from engine.errors import FieldError, Forbidden
from engine.identity import Eligibility
from engine.store import rows
from engine.store.models import HumanTask, Notification, ProcessInstance, User

#: Roles that see every instance (the PMO's overview pages).
PMO_ROLES = frozenset({"pmo_admin", "pmo_head", "pmo_reviewer"})
#: Role that may reassign anyone's open task.
ADMIN_ROLE = "pmo_admin"
#: Role that may validate and deploy diagrams.
PROCESS_OWNER_ROLE = "process_owner"


def may_start(session: Session, actor: str, role: str, project_id: int | None) -> bool:
    """May ``actor`` start a process whose start event lies in ``role``'s lane?"""
    if role in identity.global_roles(session, actor):
        return True
    if project_id is not None:
        return identity.holds_role_for(session, actor, role, project_id)
    return any(r == role for _p, r in identity.project_roles(session, actor))


def _candidates(session: Session, username: str, now: datetime) -> Iterator[tuple[str, str | None]]:
    """(person whose grants count, on whose behalf) in the order the rule tries them."""
    yield username, None
    for person in sorted(identity.delegators(session, username, now)):
        yield person, person


def _holds(session: Session, person: str, task: Any) -> bool:
    if task.assignee is not None:
        return bool(task.assignee == person)
    if task.role is None:
        return False
    return identity.holds_role_for(session, person, task.role, task.project_id)


def may_work_on(
    session: Session, username: str, task: Any, started_by: str, now: datetime
) -> Eligibility:
    """May ``username`` work on ``task`` (claim, save, hand over, complete) now, and on
    whose behalf?  The engine's one rule (see the module's docstring); ``reason`` says why
    not, for the first candidate who holds the task, else for the missing role."""
    refusal: FieldError | None = None
    for person, behalf in _candidates(session, username, now):
        if not _holds(session, person, task):
            continue
        if task.four_eyes and started_by in (username, behalf):
            problem: FieldError | None = identity.four_eyes_message(started_by, username)
        elif task.distinct_actors:
            problem = identity.distinct_actor_problem(session, task, username, behalf)
        else:
            problem = None
        if problem is None:
            return Eligibility(True, behalf)
        refusal = refusal or problem
    if refusal is not None:
        return Eligibility(False, None, refusal)
    return Eligibility(False, None, identity.not_holding_message(task))


def require_may_work_on(
    session: Session, username: str, task: Any, started_by: str, now: datetime
) -> Eligibility:
    """:func:`may_work_on`, raising :class:`Forbidden` with the reason when not allowed."""
    eligible = may_work_on(session, username, task, started_by, now)
    identity.require(eligible)
    return eligible


def workable_filter(
    session: Session, username: str, now: datetime, *, pool_only: bool = False
) -> ColumnElement[bool]:
    """:func:`may_work_on` as an SQL condition on ``human_tasks`` (open tasks only), for
    lists and counts: no workflow is loaded, one statement answers for a whole page.

    ``pool_only``: only tasks nobody holds (the caller adds ``assignee IS NULL``); the
    condition then names roles alone, so an index on (role, ...) of the pool serves it."""
    clauses: list[ColumnElement[bool]] = []
    for person, behalf in _candidates(session, username, now):
        people = [username] if behalf is None else [username, behalf]
        holds = (
            _role_clause(session, person)
            if pool_only
            else or_(
                HumanTask.assignee == person,
                and_(HumanTask.assignee.is_(None), _role_clause(session, person)),
            )
        )
        clauses.append(and_(holds, not_(_four_eyes_excludes(people)), not_(_voted(people))))
    return and_(HumanTask.status == "open", or_(*clauses))


def _role_clause(session: Session, person: str) -> ColumnElement[bool]:
    """Tasks whose role ``person`` holds (globally, or for the task's project)."""
    scopes = identity.role_scopes(session)
    held = identity.global_roles(session, person)
    clauses: list[ColumnElement[bool]] = []
    everywhere = [r for r in held if scopes.get(r, "global") == "global"]
    project_scoped = [r for r in held if scopes.get(r) == "project"]
    if everywhere:
        clauses.append(HumanTask.role.in_(everywhere))
    if project_scoped:
        clauses.append(and_(HumanTask.role.in_(project_scoped), HumanTask.project_id.is_(None)))
    by_role: dict[str, list[int]] = {}
    for project_id, role in sorted(identity.project_roles(session, person)):
        by_role.setdefault(role, []).append(project_id)
    for role, projects in sorted(by_role.items()):
        # one IN list per role, not one OR branch per project: a sponsor of 200 projects
        # is one index range, not 200 (issue 16)
        clauses.append(and_(HumanTask.role == role, HumanTask.project_id.in_(projects)))
    return or_(*clauses) if clauses else false()


def _four_eyes_excludes(people: list[str]) -> ColumnElement[bool]:
    """A four-eyes task of a request one of ``people`` started."""
    started = aliased(ProcessInstance)  # a list may join the instance table already
    return and_(
        HumanTask.four_eyes.is_(True),
        exists().where(started.id == HumanTask.instance_id, started.started_by.in_(people)),
    )


def _voted(people: list[str]) -> ColumnElement[bool]:
    """A ``distinctActors`` task whose run one of ``people`` already completed an
    instance of (directly or for someone)."""
    done = aliased(HumanTask)
    return and_(
        HumanTask.distinct_actors.is_(True),
        exists().where(
            done.instance_id == HumanTask.instance_id,
            done.status == "completed",
            done.element_id == HumanTask.element_id,
            done.multi_ref.is_not_distinct_from(HumanTask.multi_ref),
            or_(done.completed_by.in_(people), done.on_behalf_of.in_(people)),
        ),
    )


def handover_eligibility(
    session: Session, to_user: str, task: Any, started_by: str, now: datetime
) -> Eligibility:
    """May ``task`` be handed to ``to_user``?  Whether they could work on it once it is
    theirs: its role (a step with a role), four eyes, an earlier vote of the same round."""
    handed = SimpleNamespace(**{c.name: getattr(task, c.name) for c in HumanTask.__table__.c})
    handed.assignee = None if task.role else to_user
    return may_work_on(session, to_user, handed, started_by, now)


def require_handover(
    session: Session, to_user: str, task: Any, started_by: str, now: datetime
) -> None:
    """Refuse to hand ``task`` to someone the rule would not let work on it."""
    eligible = handover_eligibility(session, to_user, task, started_by, now)
    if not eligible.allowed:
        raise Forbidden(
            f"{to_user} may not work on this task: {eligible.reason}",
            code="access.handover_not_eligible",
            task_id=task.id,
            user=to_user,
            why=eligible.reason,
        )


def handover_candidates(
    session: Session, task: Any, started_by: str, now: datetime, *, exclude: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """Active users an open task may be handed to (sorted; never ``exclude`` nor its
    current assignee): the step's role holders, or every user for a step without a role,
    each checked with :func:`handover_eligibility`."""
    if task.role:
        pool = identity.holders(session, task.role, task.project_id)
    else:
        pool = sorted(session.scalars(select(User.username).where(User.active.is_(True))))
    skip = {*exclude, task.assignee}
    if task.role and not task.distinct_actors:
        # Every one of the pool holds the step's role (that is how it was read), so the
        # rule leaves only four eyes to check: no statement per person (a role of 30
        # people made 60).  Votes (distinctActors) are checked person by person below.
        return tuple(u for u in pool if u not in skip and not (task.four_eyes and u == started_by))
    return tuple(
        u
        for u in pool
        if u not in skip and handover_eligibility(session, u, task, started_by, now).allowed
    )


def may_view_task(session: Session, username: str, row: Any, inst: Any, now: datetime) -> bool:
    """Whoever may work on it, worked on it, or started the instance may see a task."""
    if username in (inst.started_by, row.completed_by, row.assignee):
        return True
    people = [username, *identity.delegators(session, username, now)]
    if row.role is not None and any(
        identity.holds_role_for(session, p, row.role, row.project_id) for p in people
    ):
        return True
    return row.assignee is not None and row.assignee in people


def may_view_instance(session: Session, username: str, inst: Any, now: datetime) -> bool:
    """The starter, the PMO, whoever may see one of its tasks, and whoever the process
    told about it (a notification names the instance: e.g. the PM of a project an
    escalation affects, following the link of the decision) may see an instance."""
    if inst.started_by == username or identity.global_roles(session, username) & PMO_ROLES:
        return True
    told = session.scalar(
        select(Notification.id)
        .where(Notification.username == username, Notification.instance_id == inst.id)
        .limit(1)
    )
    if told is not None:
        return True
    rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == inst.id))
    return any(may_view_task(session, username, row, inst, now) for row in rows)


def require_starter(session: Session, instance_id: int, username: str) -> None:
    """Only the person who started a request may withdraw it (:class:`Forbidden`)."""
    if rows.require_instance(session, instance_id).started_by != username:
        raise Forbidden(
            "only the person who started this request may withdraw it",
            code="access.starter_only",
            instance_id=instance_id,
        )


def require_admin(session: Session, username: str) -> None:
    """Only a PMO administrator may reassign other people's tasks (:class:`Forbidden`)."""
    if ADMIN_ROLE not in identity.global_roles(session, username):
        raise Forbidden(
            "only a PMO administrator may reassign tasks", code="access.admin_only", role=ADMIN_ROLE
        )


def require_rules_admin(session: Session, username: str) -> None:
    """Only a PMO administrator may read, test, edit or publish decision tables
    (:class:`Forbidden`)."""
    if ADMIN_ROLE not in identity.global_roles(session, username):
        raise Forbidden(
            "only a PMO administrator may edit or publish rules",
            code="access.admin_only",
            role=ADMIN_ROLE,
        )


def require_process_owner(session: Session, username: str) -> None:
    """Only a process owner may validate or deploy diagrams (:class:`Forbidden`)."""
    if PROCESS_OWNER_ROLE not in identity.global_roles(session, username):
        raise Forbidden(
            "only a process owner may validate or deploy diagrams",
            code="access.process_owner_only",
            role=PROCESS_OWNER_ROLE,
        )


def require_user_admin(session: Session, username: str) -> None:
    """Only a PMO administrator may manage users, roles and SLA defaults
    (:class:`Forbidden`)."""
    if ADMIN_ROLE not in identity.global_roles(session, username):
        raise Forbidden(
            "only a PMO administrator may manage users, roles and SLA defaults",
            code="access.admin_only",
            role=ADMIN_ROLE,
        )
