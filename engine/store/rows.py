"""Core-level access to the tables every engine action touches.

Instances, human tasks, jobs and audit events are read and written with SQLAlchemy Core
statements rather than the ORM unit of work: an action touches about ten rows, and the
ORM's per-object bookkeeping cost several times more than the statements themselves
(see bench/). A :class:`Rec` is a row as a small mutable record that remembers which
columns changed, so writes send only those.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, RowMapping, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from engine.errors import NotFound, NotReady
from engine.store import pipeline
from engine.store.models import (
    AuditEvent,
    DecisionEvaluation,
    HumanTask,
    Job,
    ProcessInstance,
)

INSTANCES: Table = ProcessInstance.__table__
TASKS: Table = HumanTask.__table__
JOBS: Table = Job.__table__
AUDIT: Table = AuditEvent.__table__
EVALUATIONS: Table = DecisionEvaluation.__table__


class Rec:
    """One row of ``table`` as attributes; assignments are tracked for :func:`write`."""

    __slots__ = ("_dirty", "_table", "_values")

    def __init__(self, table: Table, values: Mapping[str, Any] | RowMapping):
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_dirty", set())

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"{self._table.name} has no column {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._table.c:
            raise AttributeError(f"{self._table.name} has no column {name!r}")
        if self._values.get(name) != value or name not in self._values:
            self._values[name] = value
            self._dirty.add(name)

    def changes(self) -> dict[str, Any]:
        """Columns assigned since the last write, with their new values."""
        return {name: self._values[name] for name in self._dirty}

    def mark_clean(self) -> None:
        """Forget pending changes (after they were written)."""
        self._dirty.clear()

    def __repr__(self) -> str:
        return f"<{self._table.name} {self._values.get('id')}>"


def _recs(table: Table, rows: Iterable[Any]) -> list[Rec]:
    return [Rec(table, row._mapping) for row in rows]


def new(table: Table, **values: Any) -> Rec:
    """A record not yet inserted (every column present, defaults None)."""
    full = {c.name: None for c in table.c}
    full.update(values)
    return Rec(table, full)


#: Execution options of a write nobody reads the result of now (queued on PostgreSQL).
DEFERRED = {pipeline.DEFER: True}

# Statements are built once and reused with parameters: building SQLAlchemy expression
# objects on every call cost more than running them.
_INSERTS: dict[str, Any] = {}
_UPDATES: dict[tuple[str, tuple[str, ...], bool], Any] = {}


def _insert_stmt(table: Table) -> Any:
    stmt = _INSERTS.get(table.name)
    if stmt is None:
        stmt = _INSERTS[table.name] = insert(table).returning(table.c.id)
    return stmt


def _update_stmt(table: Table, columns: tuple[str, ...], guarded: bool = False) -> Any:
    key = (table.name, columns, guarded)
    stmt = _UPDATES.get(key)
    if stmt is None:
        where = [table.c.id == bindparam("w_id")]
        if guarded:
            where.append(table.c.revision == bindparam("w_revision"))
        stmt = _UPDATES[key] = (
            update(table).where(*where).values({c: bindparam(f"v_{c}") for c in columns})
        )
    return stmt


def insert_rec(session: Session, rec: Rec) -> Rec:
    """INSERT the record and set its generated id."""
    values = {k: v for k, v in rec._values.items() if k != "id"}
    rec._values["id"] = session.execute(_insert_stmt(rec._table), values).scalar_one()
    rec.mark_clean()
    return rec


def write(session: Session, rec: Rec) -> None:
    """UPDATE the changed columns of a record by id (nothing when unchanged)."""
    changes = rec.changes()
    if changes:
        columns = tuple(sorted(changes))
        params = {f"v_{c}": changes[c] for c in columns}
        params["w_id"] = rec.id
        session.execute(_update_stmt(rec._table, columns), params, execution_options=DEFERRED)
        rec.mark_clean()


# --------------------------------------------------------------------------- reads


_TASK_AND_INSTANCE = (
    select(TASKS, *[c.label(f"i_{c.name}") for c in INSTANCES.c])
    .join(INSTANCES, INSTANCES.c.id == TASKS.c.instance_id)
    .where(TASKS.c.id == bindparam("task_id"))
)
_OPEN_TASKS = (
    select(TASKS)
    .where(TASKS.c.instance_id == bindparam("instance_id"), TASKS.c.status == "open")
    .order_by(TASKS.c.id)
)
_INSTANCE = select(INSTANCES).where(INSTANCES.c.id == bindparam("instance_id"))


def _instance_and_open_tasks(instance_id_expr: Any) -> Any:
    task_cols = [c.label(f"t_{c.name}") for c in TASKS.c]
    return (
        select(INSTANCES, *task_cols)
        .outerjoin(TASKS, (TASKS.c.instance_id == INSTANCES.c.id) & (TASKS.c.status == "open"))
        .where(INSTANCES.c.id == instance_id_expr)
        .order_by(TASKS.c.id)
    )


_BY_INSTANCE = _instance_and_open_tasks(bindparam("instance_id"))
_BY_TASK = _instance_and_open_tasks(
    select(TASKS.c.instance_id).where(TASKS.c.id == bindparam("task_id")).scalar_subquery()
)


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


_LOCK_BY_TASK = (
    select(INSTANCES.c.id)
    .where(
        INSTANCES.c.id
        == select(TASKS.c.instance_id).where(TASKS.c.id == bindparam("task_id")).scalar_subquery()
    )
    .with_for_update()
)
_LOCK_BY_INSTANCE = (
    select(INSTANCES.c.id).where(INSTANCES.c.id == bindparam("instance_id")).with_for_update()
)


def instance_with_open_tasks(
    session: Session,
    *,
    task_id: int | None = None,
    instance_id: int | None = None,
    lock: bool = False,
) -> tuple[Rec, list[Rec]] | None:
    """An instance and its open human tasks in one round trip, found by either id.

    With ``task_id`` the instance is the task's (whatever the task's own status).
    ``lock``: the instance row is locked first (``FOR UPDATE`` on PostgreSQL; SQLite's
    writers are serialized by its database lock), so the open tasks read are current and
    stay so until commit: every action on one instance runs one after the other.
    """
    if lock and _is_postgres(session):
        # Lock first, read after: under READ COMMITTED a statement that waited for the
        # lock sees the new instance row but the *old* rows of anything it joined.
        # In pipeline mode (engine.store.pipeline) the lock is queued and sent with the
        # read below: one round trip, still two statements (the read's snapshot is taken
        # after the lock is granted). Nobody reads the lock's own rows.
        if task_id is not None:
            session.execute(_LOCK_BY_TASK, {"task_id": task_id}, execution_options=DEFERRED)
        else:
            session.execute(
                _LOCK_BY_INSTANCE, {"instance_id": instance_id}, execution_options=DEFERRED
            )
    if task_id is not None:
        result = session.execute(_BY_TASK, {"task_id": task_id})
    else:
        result = session.execute(_BY_INSTANCE, {"instance_id": instance_id})
    inst: Rec | None = None
    tasks: list[Rec] = []
    for row in result:
        values = row._mapping
        if inst is None:
            inst = Rec(INSTANCES, {c.name: values[c] for c in INSTANCES.c})
        if values["t_id"] is not None:
            tasks.append(Rec(TASKS, {c.name: values[f"t_{c.name}"] for c in TASKS.c}))
    return (inst, tasks) if inst is not None else None


def task_and_instance(session: Session, task_id: int) -> tuple[Rec, Rec] | None:
    """A human task and its instance, in one query."""
    row = session.execute(_TASK_AND_INSTANCE, {"task_id": task_id}).first()
    if row is None:
        return None
    values = row._mapping
    task = Rec(TASKS, {c.name: values[c] for c in TASKS.c})
    inst = Rec(INSTANCES, {c.name: values[f"i_{c.name}"] for c in INSTANCES.c})
    return task, inst


_INSTANCE_LOCKED = _INSTANCE.with_for_update()
_INSTANCE_LOCKED_OR_SKIP = _INSTANCE.with_for_update(skip_locked=True)


def instance(
    session: Session, instance_id: int, *, lock: bool = False, skip_locked: bool = False
) -> Rec | None:
    """An instance row; ``lock``: locked first on PostgreSQL (``skip_locked``: None
    instead of waiting when another transaction holds it)."""
    q = _INSTANCE
    if lock and _is_postgres(session):
        q = _INSTANCE_LOCKED_OR_SKIP if skip_locked else _INSTANCE_LOCKED
    row = session.execute(q, {"instance_id": instance_id}).first()
    return Rec(INSTANCES, row._mapping) if row is not None else None


def open_tasks(session: Session, instance_id: int) -> list[Rec]:
    """The instance's open human tasks, oldest first."""
    return _recs(TASKS, session.execute(_OPEN_TASKS, {"instance_id": instance_id}))


def timer_jobs(session: Session, instance_id: int) -> list[Rec]:
    """Every timer job of an instance."""
    return _recs(
        JOBS,
        session.execute(
            select(JOBS).where(JOBS.c.instance_id == instance_id, JOBS.c.kind == "timer")
        ),
    )


def due_job_candidates(
    session: Session, now: datetime, skip: Collection[int] = (), limit: int = 20
) -> list[tuple[int, int | None]]:
    """(job id, instance id) of pending jobs whose time has passed (strictly before
    ``now``, as SpiffWorkflow's timers fire only once their time is past), oldest first,
    not in ``skip``.  Nothing is locked: the runner locks the instance, then the job."""
    q = (
        select(JOBS.c.id, JOBS.c.instance_id)
        .where(JOBS.c.status == "pending", JOBS.c.due_at < now)
        .order_by(JOBS.c.due_at, JOBS.c.id)
        .limit(limit)
    )
    if skip:
        q = q.where(JOBS.c.id.not_in(list(skip)))
    return [(r.id, r.instance_id) for r in session.execute(q)]


def job(session: Session, job_id: int, *, lock: bool = False) -> Rec | None:
    """A job by id; ``lock``: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (None when another
    worker holds it)."""
    q = select(JOBS).where(JOBS.c.id == job_id)
    if lock and _is_postgres(session):
        q = q.with_for_update(skip_locked=True)
    row = session.execute(q).first()
    return Rec(JOBS, row._mapping) if row is not None else None


# --------------------------------------------------------------------------- writes


# ``inline()``: no implicit RETURNING of the new id (nobody reads it), so it can be queued.
_AUDIT_INSERT = insert(AUDIT).inline()
_EVALUATION_INSERT = insert(EVALUATIONS).inline()


def audit(session: Session, **values: Any) -> None:
    """Append an audit event."""
    values.setdefault("detail", {})
    session.execute(_AUDIT_INSERT, values, execution_options=DEFERRED)


def decision_evaluation(session: Session, **values: Any) -> None:
    """Record one evaluation of a decision table by an instance."""
    session.execute(_EVALUATION_INSERT, values, execution_options=DEFERRED)


def save_state(
    session: Session,
    inst: Rec,
    state: str,
    now: datetime,
    *,
    bump: bool = True,
    conflict: Callable[[], Exception] | None = None,
) -> bool:
    """Write the state and other changed columns if nobody else changed the row.

    ``UPDATE ... WHERE id = ? AND revision = ?``: False when 0 rows matched. ``bump``
    False keeps the revision (the first save of a new instance).  With ``conflict``, the
    check may be left to the end of the transaction on PostgreSQL (pipeline mode): then
    ``conflict()`` is raised before commit instead, and this returns True.
    """
    values = inst.changes()
    values.update(state=state, revision=inst.revision + (1 if bump else 0), updated_at=now)
    columns = tuple(sorted(values))
    params = {f"v_{c}": values[c] for c in columns}
    params.update(w_id=inst.id, w_revision=inst.revision)
    stmt = _update_stmt(INSTANCES, columns, guarded=True)
    if conflict is not None:
        result = session.execute(stmt, params, execution_options=DEFERRED)
        if pipeline.check_later(session, result, _one, conflict) is False:
            return False
    elif cast("CursorResult[Any]", session.execute(stmt, params)).rowcount != 1:
        return False
    inst._values.update(values)
    inst.mark_clean()
    return True


def update_open_task(
    session: Session,
    task_id: int,
    *,
    expect_assignee: Any = ...,
    conflict: Callable[[], Exception] | None = None,
    **values: Any,
) -> bool:
    """Change an open task only if it is still open (and, with ``expect_assignee``, still
    held by that person, ``None`` for nobody): one statement whose row count says whether
    this action won.  False: someone else changed or completed it first.  With
    ``conflict``, see :func:`save_state`."""
    guard = "any" if expect_assignee is ... else "none" if expect_assignee is None else "is"
    stmt = _open_task_update(tuple(sorted(values)), guard)
    params = {f"v_{c}": v for c, v in values.items()}
    params.update(w_id=task_id, w_assignee=expect_assignee if guard == "is" else None)
    if guard != "is":
        params.pop("w_assignee")
    if conflict is not None:
        result = session.execute(stmt, params, execution_options=DEFERRED)
        return pipeline.check_later(session, result, _one, conflict) is not False
    return cast("CursorResult[Any]", session.execute(stmt, params)).rowcount == 1


_OPEN_TASK_UPDATES: dict[tuple[tuple[str, ...], str], Any] = {}


def _open_task_update(columns: tuple[str, ...], guard: str) -> Any:
    """``UPDATE human_tasks SET ... WHERE id = ? AND status = 'open' [AND assignee ...]``,
    built once per column set (building it per call cost more than running it)."""
    key = (columns, guard)
    stmt = _OPEN_TASK_UPDATES.get(key)
    if stmt is None:
        cond = [TASKS.c.id == bindparam("w_id"), TASKS.c.status == "open"]
        if guard == "none":
            cond.append(TASKS.c.assignee.is_(None))
        elif guard == "is":
            cond.append(TASKS.c.assignee == bindparam("w_assignee"))
        stmt = _OPEN_TASK_UPDATES[key] = (
            update(TASKS).where(*cond).values({c: bindparam(f"v_{c}") for c in columns})
        )
    return stmt


def _one(count: int) -> bool:
    return count == 1


def cancel_open(session: Session, instance_id: int, now: datetime) -> None:
    """Cancel every open task and pending job of an instance."""
    session.execute(
        update(TASKS)
        .where(TASKS.c.instance_id == instance_id, TASKS.c.status == "open")
        .values(status="cancelled", completed_at=now)
    )
    session.execute(
        update(JOBS)
        .where(JOBS.c.instance_id == instance_id, JOBS.c.status == "pending")
        .values(status="cancelled", finished_at=now)
    )


def require_instance(session: Session, instance_id: int, *, lock: bool = False) -> Rec:
    """The instance row (``lock``: locked first, see :func:`instance`) or
    :class:`NotFound`."""
    inst = instance(session, instance_id, lock=lock)
    if inst is None:
        raise instance_not_found(instance_id)
    return inst


def instance_not_found(instance_id: int) -> NotFound:
    """The one refusal of a read of an instance that does not exist."""
    return NotFound(
        f"no process instance {instance_id}", code="instance.not_found", instance_id=instance_id
    )


def require_open_task(session: Session, task_id: int) -> tuple[Rec, Rec]:
    """The open task and its instance (one query), or NotFound / NotReady."""
    found = task_and_instance(session, task_id)
    if found is None:
        raise NotFound(f"no task {task_id}", code="task.not_found", task_id=task_id)
    row, inst = found
    if row.status != "open":
        who = f" by {row.completed_by}" if row.completed_by else ""
        raise NotReady(
            f"task {task_id} ({row.name}) is already {row.status}{who}",
            code="task.already_completed",
            task_id=task_id,
            name=row.name,
            status=row.status,
            by=row.completed_by,
        )
    return row, inst
