"""Reading and routing human tasks: inbox queries, claim, unclaim, delegate, drafts.

All reads go to the indexed ``human_tasks`` table; nothing here deserializes a workflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Integer, and_, bindparam, false, func, or_, select, union_all
from sqlalchemy.orm import Session

from engine import access, identity, notifications
from engine.access import may_view_task
from engine.context import EngineContext
from engine.errors import Conflict, FieldError, Forbidden, InvalidData, NotFound
from engine.spiff.serializer import find_unsafe_data
from engine.store import rows
from engine.store.built import built
from engine.store.models import HumanTask, Notification, ProcessInstance
from engine.store.rows import Rec
from engine.store.uow import unit_of_work
from engine.views import TaskView, task_view

#: Orders of a task list; each ends in ``id`` so ties (same due date) page stably, and
#: each is served by an index on open tasks (migration 0016): (role, due_at, id) for a
#: role's pool, (assignee, due_at, id) for someone's own tasks.  ``due``: soonest first,
#: tasks without a due date last (``NULLS LAST`` on both databases).
SORTS = {
    "due": (HumanTask.due_at.asc().nulls_last(), HumanTask.id),
    "created": (HumanTask.created_at, HumanTask.id),
    "-created": (HumanTask.created_at.desc(), HumanTask.id.desc()),
    "name": (HumanTask.name, HumanTask.id),
}
#: The navigation bar counts up to this many tasks and shows "99+" beyond: what a page
#: costs must not grow with the whole system's open tasks.
BADGE_CAP = 100


@dataclass(frozen=True)
class TaskQuery:
    """Filters for :func:`list_tasks`. ``scope``: mine | claimable | all.

    ``after``: keyset paging, the id of the last task of the previous page (the list
    goes on after it in ``sort`` order; ``offset`` is then ignored).  ``count_limit``:
    count at most this many (the total says "at least" when it reaches it); None: exact.
    """

    scope: str = "mine"
    process_key: str | None = None
    role: str | None = None
    project_id: int | None = None
    instance_id: int | None = None
    status: str = "open"
    overdue_only: bool = False
    sort: str = "due"
    limit: int = 50
    offset: int = 0
    after: int | None = None
    count_limit: int | None = None


def list_tasks(
    ctx: EngineContext, session: Session, username: str | None, query: TaskQuery
) -> tuple[list[TaskView], int]:
    """Tasks matching ``query`` for ``username`` and the total count (for paging).

    The statements are built once per user's grants and filters (:mod:`engine.store.built`)
    and run with this call's time, limit and offset bound; a keyset page (``after``)
    builds its own, as it holds the values of the task it continues after."""
    now = ctx.clock.now()
    if SORTS.get(query.sort) is None:
        allowed = ", ".join(SORTS)
        raise InvalidData(
            {
                "sort": FieldError(
                    f"Choose one of: {allowed}.", "input.choice", field="sort", allowed=allowed
                )
            }
        )
    limit, offset = max(1, min(query.limit, 500)), max(0, query.offset)
    if query.after is not None:
        page, counted = _list_statements(
            session, username, query, now, _after(session, query.sort, query.after)
        )
        offset = 0
    else:
        grants = (
            access.grants_key(session, username, now)
            if username is not None and query.scope in ("mine", "claimable")
            else None
        )
        key = ("tasks", _query_key(query), username, grants)
        page, counted = built(key, lambda: _list_statements(session, username, query, now, None))
    params = {"now_": now, "limit_": limit, "offset_": offset, "first_": offset + limit}
    found = session.execute(page, params).all()
    total: int
    if offset == 0 and query.after is None and len(found) < limit:
        total = len(found)  # the whole result fits on this page
    elif found and query.count_limit is not None:
        total = int(found[0].total_ or 0)
    else:
        total = int(session.scalar(counted, params) or 0)
    if query.count_limit is not None:
        total = min(total, max(1, query.count_limit))
    return [_listed(row._mapping) for row in found], total


def _query_key(query: TaskQuery) -> TaskQuery:
    """What of ``query`` shapes its statements: all of it but its page (limit and offset
    are bound). Derived, not listed, so a filter added to :class:`TaskQuery` is in the key."""
    return replace(query, limit=0, offset=0)


#: The values a kept task-list statement is run with (:func:`list_tasks`).
_NOW = bindparam("now_", type_=HumanTask.due_at.type)
_LIMIT = bindparam("limit_", type_=Integer)
_OFFSET = bindparam("offset_", type_=Integer)
_FIRST = bindparam("first_", type_=Integer)


def _list_statements(
    session: Session, username: str | None, query: TaskQuery, now: datetime, after: Any
) -> tuple[Any, Any]:
    """A task list's page statement and its count statement (both run with ``now_``,
    ``limit_``, ``offset_`` and ``first_`` bound); ``after``: a keyset condition or None."""
    parts = _branches(session, username, query, now)
    if parts is not None and len(parts) < 2:  # one way (or none) to hold a role
        conds, parts = (parts[0][1] if parts else [false()]), None
    else:
        conds = _conditions(session, username, query, now, scope=parts is None)
    order = SORTS[query.sort]
    after_conds = [] if after is None else [after]
    # Only the instance columns a task list shows (never the saved state).
    q = select(HumanTask.__table__, *_INSTANCE_COLUMNS).join(
        ProcessInstance, ProcessInstance.id == HumanTask.instance_id
    )
    if parts is None:
        q = q.where(*conds, *after_conds)
    else:  # each branch's first tasks in order through its own index, then merged
        firsts = [
            select(HumanTask.id)
            .where(*part, *after_conds)
            .order_by(*((HumanTask.project_id, *order) if no_project else order))
            .limit(_FIRST)
            .subquery()
            for no_project, part in parts
        ]
        merged = union_all(*(select(f.c.id) for f in firsts)).subquery()
        q = q.where(HumanTask.id.in_(select(merged.c.id)))
    if parts is None:
        counted = _count(conds, query.count_limit).scalar_subquery()
    else:  # the branches are disjoint: their counts add up
        counts = [_count(part, query.count_limit).scalar_subquery() for _np, part in parts]
        counted = sum(counts[1:], counts[0])
    if query.count_limit is not None:  # a bounded count rides with the page (one statement)
        q = q.add_columns(counted.label("total_"))
    return q.order_by(*order).limit(_LIMIT).offset(_OFFSET), select(counted)


def _branches(
    session: Session, username: str | None, query: TaskQuery, now: datetime
) -> list[tuple[bool, list[Any]]] | None:
    """The claimable list as disjoint parts (:func:`engine.access.workable_branches`),
    each with the list's other filters and whether its tasks have no project; None: the
    one condition of :func:`claimable_filter` serves (a delegation: parts may overlap)."""
    if query.scope != "claimable" or username is None:
        return None
    branches = access.workable_branches(session, username, now)
    if branches is None:
        return None
    others = _conditions(session, username, query, now, scope=False)
    return [(b.no_project, [HumanTask.assignee.is_(None), b.condition, *others]) for b in branches]


def _conditions(
    session: Session, username: str | None, query: TaskQuery, now: datetime, *, scope: bool = True
) -> list[Any]:
    """The WHERE of a task list, on ``human_tasks`` alone (the count needs no join);
    without ``scope``, only the filters besides mine / claimable."""
    conds: list[Any] = []
    if query.scope in ("mine", "claimable") and not scope:
        pass
    elif query.scope in ("mine", "claimable"):
        if username is None:  # nobody: no task is assigned to them or theirs to claim
            conds.append(false())
        elif query.scope == "mine":
            conds.append(identity.assigned_filter(session, username, now))
        else:
            conds.append(claimable_filter(session, username, now))
    elif query.scope == "all":
        if query.status != "any":
            conds.append(HumanTask.status == query.status)
    else:
        raise InvalidData(
            {
                "scope": FieldError(
                    "Choose one of: mine, claimable, all.",
                    "input.choice",
                    field="scope",
                    allowed="mine, claimable, all",
                )
            }
        )
    if query.process_key:
        conds.append(HumanTask.process_key == query.process_key)
    if query.role:
        conds.append(HumanTask.role == query.role)
    if query.project_id is not None:
        conds.append(HumanTask.project_id == query.project_id)
    if query.instance_id is not None:
        conds.append(HumanTask.instance_id == query.instance_id)
    if query.overdue_only:  # the time is bound when the statement runs (list_tasks)
        conds.append(HumanTask.due_at.is_not(None))
        conds.append(HumanTask.due_at < _NOW)
    return conds


def _count(conds: list[Any], cap: int | None) -> Any:
    """``count(*)`` of the tasks matching ``conds``, reading at most ``cap`` rows."""
    if cap is None:
        return select(func.count()).select_from(HumanTask).where(*conds)
    found = select(HumanTask.id).where(*conds).limit(max(1, cap)).subquery()
    return select(func.count()).select_from(found)


def _after(session: Session, sort: str, task_id: int) -> Any:
    """Tasks after task ``task_id`` in ``sort`` order (keyset paging: the index that
    serves the order is entered at that task instead of counting rows from the start)."""
    last = session.execute(
        select(HumanTask.due_at, HumanTask.created_at, HumanTask.name).where(
            HumanTask.id == task_id
        )
    ).first()
    if last is None:
        raise InvalidData(
            {
                "after": FieldError(
                    f"No task {task_id} to continue after.",
                    "input.after_unknown",
                    field="after",
                    task_id=task_id,
                )
            }
        )
    due, created, name = last
    tid = HumanTask.id
    if sort == "due":
        if due is None:
            return and_(HumanTask.due_at.is_(None), tid > task_id)
        return or_(
            HumanTask.due_at > due,
            and_(HumanTask.due_at == due, tid > task_id),
            HumanTask.due_at.is_(None),
        )
    if sort == "created":
        return or_(
            HumanTask.created_at > created, and_(HumanTask.created_at == created, tid > task_id)
        )
    if sort == "-created":
        return or_(
            HumanTask.created_at < created, and_(HumanTask.created_at == created, tid < task_id)
        )
    return or_(HumanTask.name > name, and_(HumanTask.name == name, tid > task_id))


_INSTANCE_COLUMNS = (
    ProcessInstance.title.label("i_title"),
    ProcessInstance.business_key.label("i_business_key"),
)


_ONE_TASK = (
    select(
        HumanTask.__table__, *_INSTANCE_COLUMNS, ProcessInstance.started_by.label("i_started_by")
    )
    .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
    .where(HumanTask.id == bindparam("task_id"))
)


def claimable_filter(session: Session, username: str, now: datetime) -> Any:
    """Open tasks in a pool (nobody has them) that ``username`` may take: the engine's
    one rule (:func:`engine.access.may_work_on`) as SQL, so the inbox never offers a task
    the claim or the completion would refuse."""
    return and_(
        HumanTask.assignee.is_(None),
        access.workable_filter(session, username, now, pool_only=True),
    )


def _listed(values: Any) -> TaskView:
    task = SimpleNamespace(**{c.name: values[c.name] for c in HumanTask.__table__.c})
    inst = SimpleNamespace(title=values["i_title"], business_key=values["i_business_key"])
    return task_view(task, inst)


def counts(ctx: EngineContext, session: Session, username: str) -> dict[str, int]:
    """How many tasks are mine and how many I could claim (exact)."""
    found = nav_counts(ctx, session, username, cap=None)
    return {"mine": found["mine"], "claimable": found["claimable"]}


def nav_counts(
    ctx: EngineContext, session: Session, username: str, *, cap: int | None = BADGE_CAP
) -> dict[str, int]:
    """The navigation bar's badges in one statement: open tasks assigned to me (or to
    someone I act for), open tasks I could claim, and my unread notifications.

    Each count reads at most ``cap`` task rows through the indexes of the user's own
    tasks and of their roles' pools (a count of ``cap`` means "``cap`` or more"), so the
    badges cost the same with a hundred open tasks in the system or a hundred thousand;
    ``cap=None`` counts exactly."""
    now = ctx.clock.now()

    def build() -> Any:
        mine = identity.assigned_filter(session, username, now)
        claimable = claimable_filter(session, username, now)
        return select(
            _count([mine], cap).scalar_subquery(),
            _count([claimable], cap).scalar_subquery(),
            _unread(username, cap).scalar_subquery(),
        )

    key = ("nav", username, cap, access.grants_key(session, username, now))
    row = session.execute(built(key, build)).one()
    return {"mine": int(row[0] or 0), "claimable": int(row[1] or 0), "unread": int(row[2] or 0)}


def _unread(username: str, cap: int | None) -> Any:
    """``count(*)`` of the unread notifications of ``username``, reading at most ``cap``."""
    if cap is None:
        return notifications.unread_count_query(username)
    found = (
        select(Notification.id)
        .where(Notification.username == username, Notification.read_at.is_(None))
        .limit(cap)
        .subquery()
    )
    return select(func.count()).select_from(found)


def badge(count: int, cap: int = BADGE_CAP) -> str:
    """A badge's text for a count from :func:`nav_counts`: ``"99+"`` from ``cap`` on."""
    return f"{cap - 1}+" if count >= cap else str(count)


def get_task(
    ctx: EngineContext, session: Session, task_id: int, username: str | None = None
) -> TaskView:
    """One task; with ``username``, only if they may see it (else :class:`Forbidden`)."""
    return task_and_row(ctx, session, task_id, username)[0]


def task_and_row(
    ctx: EngineContext, session: Session, task_id: int, username: str | None = None
) -> tuple[TaskView, Any]:
    """:func:`get_task` and the task's row (every column as an attribute), from one read:
    the task page needs the row's draft and the columns the access rules ask."""
    found = session.execute(_ONE_TASK, {"task_id": task_id}).first()
    if found is None:
        raise NotFound(f"no task {task_id}", code="task.not_found", task_id=task_id)
    values = found._mapping
    row = SimpleNamespace(**{c.name: values[c.name] for c in HumanTask.__table__.c})
    inst = SimpleNamespace(
        title=values["i_title"],
        business_key=values["i_business_key"],
        started_by=values["i_started_by"],
    )
    if username is not None and not may_view_task(session, username, row, inst, ctx.clock.now()):
        raise Forbidden("you have no access to this task", code="access.no_access", task_id=task_id)
    return task_view(row, inst), row


def claim(ctx: EngineContext, session: Session, task_id: int, username: str) -> TaskView:
    """Take an open task for its role; refused if someone else has it."""
    with unit_of_work(session):
        now = ctx.clock.now()
        row, inst = _open(session, task_id)
        if row.assignee == username:
            return task_view(row, inst)
        if row.assignee is not None:
            raise Conflict(
                f"task {task_id} is already claimed by {row.assignee}",
                code="task.claimed_by_other",
                task_id=task_id,
                user=row.assignee,
            )
        access.require_may_work_on(session, username, row, inst.started_by, now)
        row.assignee, row.claimed_at = username, now
        _transition(session, row, None, now, username, "claimed")
        return task_view(row, inst)


def unclaim(ctx: EngineContext, session: Session, task_id: int, username: str) -> TaskView:
    """Give a claimed task back to its role's pool."""
    with unit_of_work(session):
        now = ctx.clock.now()
        row, inst = _open(session, task_id)
        if row.assignee != username:
            raise Forbidden(
                f"task {task_id} is not claimed by you",
                code="task.not_claimed_by_you",
                task_id=task_id,
            )
        definition = ctx.cache.definition(session, row.form_definition_id or inst.definition_id)
        props = definition.meta.get("elements", {}).get(row.element_id, {}).get("properties") or {}
        if row.role is None or props.get("assignee"):
            raise Conflict(
                "this task was assigned to you by the process, not taken from a "
                "pool; hand it over (delegate) instead",
                code="task.assigned_by_process",
                task_id=task_id,
            )
        row.assignee, row.claimed_at = None, None
        _transition(session, row, username, now, username, "unclaimed")
        return task_view(row, inst)


def delegate(
    ctx: EngineContext,
    session: Session,
    task_id: int,
    username: str,
    to_user: str,
    reason: str,
    *,
    admin: bool = False,
    override: bool = False,
) -> TaskView:
    """Hand a task to a named person with a reason (``admin``: reassign anyone's task).

    The person must be allowed to do the work (:func:`engine.access.require_handover`);
    ``override`` (an administrator only, always with the reason given) hands it over
    anyway, and the audit records that it was an override and why the rule refused."""
    if not reason or not reason.strip():
        raise InvalidData(
            {
                "reason": FieldError(
                    "Give a reason for handing this task over.",
                    "input.reason_required",
                    field="reason",
                )
            }
        )
    with unit_of_work(session):
        now = ctx.clock.now()
        row, inst = _open(session, task_id)
        identity.get_user(session, to_user)
        if not admin:
            access.require_may_work_on(session, username, row, inst.started_by, now)
        if to_user == row.assignee:
            raise InvalidData(
                {
                    "to_user": FieldError(
                        f"{to_user} already has this task.",
                        "input.already_assignee",
                        field="to_user",
                        user=to_user,
                    )
                }
            )
        if row.four_eyes and to_user == inst.started_by:
            raise Forbidden(
                f"four-eyes rule: {to_user} submitted this request and may not review it",
                code="access.four_eyes_delegate",
                task_id=task_id,
                user=to_user,
            )
        refused = None
        if admin and override:
            eligible = access.handover_eligibility(session, to_user, row, inst.started_by, now)
            refused = None if eligible.allowed else str(eligible.reason)
        else:
            access.require_handover(session, to_user, row, inst.started_by, now)
        previous = row.assignee
        row.assignee, row.claimed_at = to_user, now
        _transition(
            session,
            row,
            previous,
            now,
            username,
            "reassigned" if admin else "delegated",
            reason=reason.strip(),
            detail={"from": previous, "to": to_user}
            if refused is None
            else {"from": previous, "to": to_user, "override": refused},
        )
        note = notifications.task_assigned(inst, row)
        notifications.write(
            session,
            notifications.note(
                note.usernames,
                note.kind,
                "New task: %(step)s",
                "%(title)s (%(who)s: %(reason)s)",
                params={
                    **(note.message or {}).get("params", {}),
                    "who": {"user": username},
                    "reason": reason.strip(),
                },
                link=note.link,
                instance_id=note.instance_id,
                human_task_id=note.human_task_id,
            ),
            now,
        )
        return task_view(row, inst)


def save_draft(
    ctx: EngineContext, session: Session, task_id: int, username: str, data: Mapping[str, Any]
) -> TaskView:
    """Keep unfinished form input on the task (not validated, not run)."""
    with unit_of_work(session):
        now = ctx.clock.now()
        row, inst = _open(session, task_id)
        access.require_may_work_on(session, username, row, inst.started_by, now)
        unsafe = dict(find_unsafe_data(dict(data), "data"))
        if unsafe:
            raise InvalidData(unsafe)
        if not rows.update_open_task(session, row.id, draft=dict(data)):
            raise _lost(session, row.id)
        row.draft = dict(data)
        row.mark_clean()
        return task_view(row, inst)


def _open(session: Session, task_id: int) -> tuple[Rec, Rec]:
    """The open task and its instance, the instance row locked first (one lock order for
    every action on an instance: the instance, then its tasks and jobs)."""
    found = rows.instance_with_open_tasks(session, task_id=task_id, lock=True)
    if found is not None:
        inst, open_rows = found
        for row in open_rows:
            if row.id == task_id:
                return row, inst
    return rows.require_open_task(session, task_id)  # raises NotFound or NotReady


def _transition(
    session: Session,
    row: Rec,
    previous: str | None,
    now: datetime,
    actor: str,
    kind: str,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write the task row's change if the task is still open and still held by
    ``previous`` (one winner), and the audit event that explains it."""
    if not rows.update_open_task(session, row.id, expect_assignee=previous, **row.changes()):
        raise _lost(session, row.id)
    row.mark_clean()
    rows.audit(
        session,
        instance_id=row.instance_id,
        at=now,
        actor=actor,
        kind=kind,
        element_id=row.element_id,
        element_name=row.name,
        human_task_id=row.id,
        reason=reason,
        detail=detail or {},
    )


def _lost(session: Session, task_id: int) -> Conflict:
    """The conflict to report when a conditional update found the task changed: who has
    it or who completed it now."""
    found = rows.task_and_instance(session, task_id)
    if found is None:
        return Conflict(f"task {task_id} no longer exists", code="task.gone", task_id=task_id)
    row, _inst = found
    if row.status != "open":
        who = f" by {row.completed_by}" if row.completed_by else ""
        return Conflict(
            f"task {task_id} ({row.name}) was {row.status}{who} meanwhile",
            code="task.changed",
            task_id=task_id,
            name=row.name,
            status=row.status,
            by=row.completed_by,
        )
    return Conflict(
        f"task {task_id} ({row.name}) is now with {row.assignee or 'nobody'}",
        code="task.reassigned",
        task_id=task_id,
        name=row.name,
        user=row.assignee,
    )
