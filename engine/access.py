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

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    any_,
    bindparam,
    exists,
    false,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased

from engine import identity
from engine.errors import FieldError, Forbidden, InvalidData
from engine.identity import Eligibility
from engine.store import rows
from engine.store.models import HumanTask, Notification, ProcessInstance, ProjectRole, User

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


def _candidates(
    session: Session, username: str, now: datetime, *, own_right: bool = False
) -> Iterator[tuple[str, str | None]]:
    """(person whose grants count, on whose behalf) in the order the rule tries them
    (``own_right``: the person alone, not those who delegated to them)."""
    yield username, None
    if own_right:
        return
    for person in sorted(identity.delegators(session, username, now)):
        yield person, person


def _holds(session: Session, person: str, task: Any) -> bool:
    if task.assignee is not None:
        return bool(task.assignee == person)
    if task.role is None:
        return False
    return identity.holds_role_for(session, person, task.role, task.project_id)


def may_work_on(
    session: Session,
    username: str,
    task: Any,
    started_by: str,
    now: datetime,
    *,
    own_right: bool = False,
) -> Eligibility:
    """May ``username`` work on ``task`` (claim, save, hand over, complete) now, and on
    whose behalf?  The engine's one rule (see the module's docstring); ``reason`` says why
    not, for the first candidate who holds the task, else for the missing role.
    ``own_right``: only with their own grants (not as someone's delegate)."""
    refusal: FieldError | None = None
    for person, behalf in _candidates(session, username, now, own_right=own_right):
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
    identity.prime(session, username, now)  # grants, delegations, roles: one statement
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


def grants_key(session: Session, username: str, now: datetime) -> tuple[Any, ...]:
    """Everything :func:`workable_filter`, :func:`workable_branches` and
    :func:`engine.identity.assigned_filter` build their conditions from, for ``username``
    at ``now``: the dialect, the roles' scopes, and each candidate (the user, then whoever
    delegated to them) with their roles held everywhere and per project. Equal keys give
    the same SQL, so a statement built from these conditions may be kept under it
    (:mod:`engine.store.built`); any grant, delegation or scope change makes a new key."""
    identity.prime(session, username, now)
    scopes = identity.role_scopes(session)
    return (
        session.get_bind().dialect.name,
        tuple(sorted(scopes.items())),
        tuple(
            (
                person,
                behalf,
                identity.global_roles(session, person),
                identity.project_roles(session, person),
            )
            for person, behalf in _candidates(session, username, now)
        ),
    )


@dataclass(frozen=True)
class Branch:
    """One way of holding a task's role (:func:`workable_branches`)."""

    condition: ColumnElement[bool]
    #: The tasks of the branch have no project: an ordered read may lead with
    #: ``project_id`` (constant here) to follow the pool's (role, project, due) index.
    no_project: bool = False


def workable_branches(session: Session, username: str, now: datetime) -> list[Branch] | None:
    """:func:`workable_filter` (``pool_only``) as **disjoint** conditions whose OR is
    that filter, one per way of holding a role, so each can be read through its own index
    (a sponsor's projects no longer filter a scan of the whole role's pool); None when
    they could overlap (a delegator's roles may repeat the user's: then the one condition
    serves)."""
    identity.prime(session, username, now)
    if identity.delegators(session, username, now):
        return None
    people = [username]
    extra = (not_(_four_eyes_excludes(people)), not_(_voted(people)))
    return [
        Branch(and_(HumanTask.status == "open", b.condition, *extra), b.no_project)
        for b in _role_branches(session, username)
    ]


def _role_clause(session: Session, person: str) -> ColumnElement[bool]:
    """Tasks whose role ``person`` holds (globally, or for the task's project)."""
    clauses = [b.condition for b in _role_branches(session, person)]
    return or_(*clauses) if clauses else false()


def _role_branches(session: Session, person: str) -> list[Branch]:
    """The ways ``person`` holds a task's role, as disjoint conditions: a role held
    everywhere; a project-scoped role held globally (tasks of no project); a role held
    for particular projects (unless held everywhere already)."""
    scopes = identity.role_scopes(session)
    held = identity.global_roles(session, person)
    branches: list[Branch] = []
    everywhere = sorted(r for r in held if scopes.get(r, "global") == "global")
    project_scoped = sorted(r for r in held if scopes.get(r) == "project")
    if everywhere:
        branches.append(Branch(HumanTask.role.in_(everywhere)))
    if project_scoped:
        branches.append(
            Branch(
                and_(HumanTask.role.in_(project_scoped), HumanTask.project_id.is_(None)),
                no_project=True,
            )
        )
    granted: dict[str, list[int]] = {}
    for project, role in identity.project_roles(session, person):
        if role not in everywhere:  # else every task of the role is workable already
            granted.setdefault(role, []).append(project)
    postgres = session.get_bind().dialect.name == "postgresql"
    for role in sorted(granted):
        if postgres:
            # the grants read with the user's roles, bound as one array: the planner
            # knows how many projects (a semi-join on project_roles was estimated at a
            # third of a sponsor's 300 and read the whole role's pool), and psycopg
            # binds one parameter, not one per project (issue 16)
            ids = bindparam(None, sorted(granted[role]), type_=ARRAY(Integer))
            in_projects = HumanTask.project_id == any_(ids)
        else:
            in_projects = HumanTask.project_id.in_(
                select(ProjectRole.project_id).where(
                    ProjectRole.username == person, ProjectRole.role_key == role
                )
            )
        branches.append(Branch(and_(HumanTask.role == role, in_projects)))
    return branches


#: The completed tasks a vote test reads (an alias made once: an alias's columns are
#: adapted on first use, and building that again for every list cost ~4 ms per page).
_DONE = aliased(HumanTask, name="voted_done")


def _four_eyes_excludes(people: list[str]) -> ColumnElement[bool]:
    """A four-eyes task of a request one of ``people`` started (the task row carries who
    started its request: no instance is read per task)."""
    return and_(HumanTask.four_eyes.is_(True), HumanTask.started_by.in_(people))


def _voted(people: list[str]) -> ColumnElement[bool]:
    """A ``distinctActors`` task whose run one of ``people`` already completed an
    instance of (directly or for someone)."""
    done = _DONE
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
    session: Session,
    to_user: str,
    task: Any,
    started_by: str,
    now: datetime,
    *,
    own_right: bool = False,
) -> Eligibility:
    """May ``task`` be handed to ``to_user``?  Whether they could work on it once it is
    theirs: its role (a step with a role), four eyes, an earlier vote of the same round.
    ``own_right``: with their own grants only (an out-of-office delegate must hold the
    step's role, for its project, themselves: the absent person's grants do not count)."""
    handed = SimpleNamespace(**{c.name: getattr(task, c.name) for c in HumanTask.__table__.c})
    handed.assignee = None if task.role else to_user
    return may_work_on(session, to_user, handed, started_by, now, own_right=own_right)


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
    """Whoever has it, worked on it, or started the instance may see a task, and while
    nobody has it, whoever holds its role (a step given to one person is not shown to
    everyone with the same role, e.g. a PM's rework to the other PMs); the PMO and the
    steering committee see every task (:func:`sees_everything`)."""
    if username in (inst.started_by, row.completed_by, row.assignee):
        return True
    if sees_everything(session, username):
        return True
    people = [username, *identity.delegators(session, username, now)]
    if row.assignee is not None:  # a step given to someone: theirs (and their delegates')
        return row.assignee in people
    return row.role is not None and any(
        identity.holds_role_for(session, p, row.role, row.project_id) for p in people
    )


# --------------------------------------------------------------------------- need-to-know
#
# Who sees what (docs/access.md): ONE policy, asked by every reader (pages, search, the
# API, attachments, notifications and e-mail).  Each rule exists twice, as an SQL condition
# for lists and counts (one indexed statement per page, no row loaded to be thrown away)
# and as a check for one object, which asks the same SQL condition about that one row, so
# the two cannot disagree.
#
# - the PMO roles and the steering committee see every project, request and record;
# - everyone else sees the projects where they hold a role (``project_roles``) or that name
#   them (a record's own people columns, e.g. a project's PM and sponsor), everything of
#   those projects, and the requests they take part in: started, were assigned, completed
#   a step (or for whom one was completed), hold a step's role, or were named in it (a
#   notification of the request was addressed to them);
# - published lessons are for everyone (the records layer adds that condition).
#
# A denied read of one object is :class:`Forbidden` (HTTP 403, ``access.no_access``)
# everywhere: ids are sequential, so a 404 would hide nothing, and a 403 tells a person who
# follows an old link why the page is closed to them.

#: Roles that see every project, request, risk, escalation and lesson.
SEES_ALL_ROLES = PMO_ROLES | {"steering"}


def sees_everything(session: Session, username: str) -> bool:
    """Does ``username`` hold a role that sees the whole portfolio (PMO, steering)?"""
    return bool(identity.global_roles(session, username) & SEES_ALL_ROLES)


def _my_projects(username: str) -> Any:
    """Ids of the projects where ``username`` holds a role, as a subquery."""
    return select(ProjectRole.project_id).where(ProjectRole.username == username)


def _took_part(session: Session, username: str, now: datetime) -> ColumnElement[bool]:
    """A step of the instance (``ProcessInstance``) that ``username`` was assigned,
    completed (or was acted for), or that nobody has and whose role they (or whom they
    stand in for) hold (:func:`may_view_task`)."""
    people = [username, *sorted(identity.delegators(session, username, now))]
    roles = [_role_clause(session, p) for p in people]
    return exists().where(
        HumanTask.instance_id == ProcessInstance.id,
        or_(
            HumanTask.assignee.in_(people),
            HumanTask.completed_by == username,
            HumanTask.on_behalf_of.in_(people),
            and_(HumanTask.assignee.is_(None), or_(*roles)),
        ),
    )


def instance_filter(session: Session, username: str, now: datetime) -> ColumnElement[bool]:
    """The need-to-know rule as an SQL condition on ``process_instances``: the requests
    ``username`` may see (every one for the PMO and the steering committee)."""
    if sees_everything(session, username):
        return true()
    told = exists().where(
        Notification.username == username, Notification.instance_id == ProcessInstance.id
    )
    return or_(
        ProcessInstance.started_by == username,
        ProcessInstance.project_id.in_(_my_projects(username)),
        told,
        _took_part(session, username, now),
    )


def visible_instances(session: Session, username: str, now: datetime) -> Any:
    """Ids of the requests ``username`` may see, as a subquery (for ``IN``)."""
    return select(ProcessInstance.id).where(instance_filter(session, username, now))


def project_filter(
    session: Session, username: str, project_id: Any, *named: Any, projects: Any = None
) -> ColumnElement[bool]:
    """The projects ``username`` may see, as an SQL condition on a project id column
    (``project_id``): those where they hold a role, those in ``projects`` (a subquery of
    project ids whose record names them, e.g. as PM), or rows naming them in one of the
    ``named`` columns; every project for the PMO and the steering committee."""
    if sees_everything(session, username):
        return true()
    clauses = [project_id.in_(_my_projects(username)), *(column == username for column in named)]
    if projects is not None:
        clauses.append(project_id.in_(projects))
    return or_(*clauses)


def record_filter(
    session: Session,
    username: str,
    now: datetime,
    project_id: Any,
    instance_id: Any,
    *named: Any,
    projects: Any = None,
) -> ColumnElement[bool]:
    """The records (risk, escalation, lesson) ``username`` may see, as an SQL condition:
    their project is visible (:func:`project_filter`, with ``projects``), the request that
    made them is (:func:`instance_filter`), or they name ``username`` in one of the
    ``named`` columns (who raised it, its owner, its author)."""
    if sees_everything(session, username):
        return true()
    return or_(
        project_filter(session, username, project_id, *named, projects=projects),
        instance_id.in_(visible_instances(session, username, now)),
    )


def may_see_project(session: Session, username: str, project_id: int, *named: str) -> bool:
    """May ``username`` see this project (``named``: the people its record names)?"""
    if sees_everything(session, username) or username in named:
        return True
    return (
        session.scalar(_my_projects(username).where(ProjectRole.project_id == project_id).limit(1))
        is not None
    )


def may_view_instance(session: Session, username: str, inst: Any, now: datetime) -> bool:
    """May ``username`` see this request?  The one-object form of :func:`instance_filter`
    (the same SQL condition, asked about this row)."""
    if inst.started_by == username or sees_everything(session, username):
        return True
    found = session.scalar(
        select(ProcessInstance.id)
        .where(ProcessInstance.id == inst.id, instance_filter(session, username, now))
        .limit(1)
    )
    return found is not None


def require_view_instance(session: Session, username: str, inst: Any, now: datetime) -> None:
    """:func:`may_view_instance`, raising :class:`Forbidden` (``access.no_access``)."""
    if not may_view_instance(session, username, inst, now):
        raise no_access(instance_id=inst.id)


def no_access(**fields: Any) -> Forbidden:
    """The one refusal of a read the need-to-know policy denies (HTTP 403)."""
    return Forbidden("you have no access to this", code="access.no_access", **fields)


def audience(
    session: Session, usernames: Iterable[str], inst: Any, now: datetime, *, named: bool = False
) -> tuple[str, ...]:
    """Of ``usernames``, those who may be told about request ``inst`` (in-app and by
    e-mail): whoever may see it.  ``named``: the process names these people on the request
    (e.g. the PMs of the projects an escalation affects), which is itself a reason to see
    it; they are told, and the notification then lets them open it."""
    people = tuple(dict.fromkeys(u for u in usernames if u))
    if named or inst is None:
        return people
    return tuple(u for u in people if may_view_instance(session, u, inst, now))


def check_people(
    session: Session,
    schema: Mapping[str, Any] | None,
    data: Mapping[str, Any],
    project_id: int | None = None,
) -> None:
    """Refuse a person chosen in a field limited to a role (``x-widget: user`` with
    ``x-role``, e.g. a proposal's sponsor) who is not an active user holding that role:
    globally (the organisation's register of who may take it), or for the request's
    project (``project_id``, else a ``project_id`` the form names), so a project's own team
    members can be picked for it, while being named sponsor of one project does not make
    someone eligible on a new proposal.  :class:`InvalidData` naming the field; the form's
    person picker lists the same people (``Person.global_roles``, plus project holders
    when the form names a project)."""
    if project_id is None and isinstance(data.get("project_id"), int):
        project_id = data["project_id"]
    errors: dict[str, FieldError] = {}
    for name, prop in ((schema or {}).get("properties") or {}).items():
        if not isinstance(prop, Mapping):
            continue
        items = prop.get("items")
        role = prop.get("x-role") or (items.get("x-role") if isinstance(items, Mapping) else None)
        value = data.get(name)
        if not role or value in (None, "", []):
            continue
        for chosen in value if isinstance(value, list) else [value]:
            if not isinstance(chosen, str) or chosen == "":
                continue
            active = session.scalar(select(User.active).where(User.username == chosen))
            held = role in identity.global_roles(session, chosen) or (
                project_id is not None
                and identity.holds_role_for(session, chosen, role, project_id)
            )
            if not active or not held:
                errors[name] = FieldError(
                    f"{chosen} may not be chosen here: they do not hold the role {role}.",
                    "form.not_role_holder",
                    field=name,
                    user=chosen,
                    role=role,
                )
                break
    if errors:
        raise InvalidData(errors)


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
