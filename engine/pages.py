"""Read models for the task-work pages (inbox, start, task, instance, request lists):
one call per page, plain dataclasses back.  (The PMO's own pages read the PMO records in
:mod:`workflows.records.pages`.)

Plain SQLAlchemy over the indexed tables (``process_instances``, ``human_tasks``,
``users``...) plus the :class:`~engine.api.Engine` verbs, which this module calls as a
client of the facade; the one workflow deserialized per page is the instance being shown
(for its data).  Also the few rules the pages enforce before calling a verb (who may see
an instance, who may withdraw it).  No Flask here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from engine import access, identity
from engine.access import ADMIN_ROLE, PMO_ROLES, may_start, may_view_instance
from engine.access import PROCESS_OWNER_ROLE as PROCESS_OWNER_ROLE  # for the web layer
from engine.api import Engine
from engine.cycle_times import InstanceCycle
from engine.definitions import DefinitionSnapshot, definition_view, get_process
from engine.definitions import name_translations as name_translations  # for the web layer
from engine.errors import Forbidden
from engine.instances import INITIATOR_KEY
from engine.store.models import (
    HumanTask,
    ProcessDefinition,
    ProcessInstance,
    ProjectRole,
    User,
    UserRole,
)
from engine.tasks import TaskQuery, task_and_row
from engine.tasks import badge as badge  # the navigation badges' "99+" (for webui)
from engine.views import (
    AuditView,
    DataViews,
    DefinitionView,
    InstanceView,
    TaskView,
    WaitView,
    task_view,
)
from engine.waits import CLOSERS

#: Per-task answers: never pre-filled from earlier steps (the next reviewer decides anew).
OUTCOME_KEYS = frozenset({"decision", "outcome", "comment"})
#: Data keys that are not the request's content.
HIDDEN_KEYS = OUTCOME_KEYS | {INITIATOR_KEY, "typename"}


@dataclass(frozen=True)
class Person:
    """Someone who can be picked in a form or shown by name."""

    username: str
    display_name: str
    roles: tuple[str, ...]
    #: The roles held everywhere: who may be chosen in a field limited to a role (a
    #: sponsor must hold the sponsor role; :func:`engine.access.check_people`).
    global_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Directory:
    """People and role names, for pickers and for showing names instead of keys."""

    people: tuple[Person, ...]
    role_names: dict[str, str]
    display_names: dict[str, str]

    def name(self, username: str | None) -> str:
        """Display name of a user (the username if unknown)."""
        return self.display_names.get(username or "", username or "")


#: No people, no names: a page whose directory is filled in afterwards.
NOBODY = Directory((), {}, {})


@dataclass(frozen=True)
class Waiting:
    """One open step of an instance: who has it, since when, due when."""

    task_id: int
    step: str
    element_id: str
    assignee: str | None
    role: str | None
    since: datetime
    due_at: datetime | None
    overdue: bool


@dataclass(frozen=True)
class InstanceRow:
    """An instance in a list (no workflow state read)."""

    id: int
    title: str
    business_key: str | None
    process_key: str
    process_name: str
    status: str
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    current_step: str
    waiting: tuple[Waiting, ...] = ()


@dataclass(frozen=True)
class InboxPage:
    """The inbox: one page of tasks, the total, and what the filters offer."""

    tasks: list[TaskView]
    total: int
    now: datetime
    process_names: dict[str, str]
    my_roles: tuple[str, ...]
    directory: Directory
    #: Timers the listed tasks' requests wait on, by instance id (what happens when).
    waits: dict[int, list[WaitView]] = field(default_factory=dict)

    def next_wait(self, task: TaskView) -> WaitView | None:
        """The soonest timer attached to ``task``'s step, if any."""
        return first_wait(self.waits.get(task.instance_id, []), task.element_id)


@dataclass(frozen=True)
class StartPage:
    """A process's start form."""

    definition: DefinitionView
    schema: dict[str, Any] | None
    directory: Directory


@dataclass(frozen=True)
class InstancePage:
    """Everything about one instance, as the instance page shows it."""

    instance: InstanceView
    process_name: str
    now: datetime
    data: dict[str, Any]
    fields: dict[str, dict[str, Any]]
    history: list[AuditView]
    visited: dict[str, int]
    waiting: tuple[Waiting, ...]
    can_withdraw: bool
    can_reassign: bool
    directory: Directory
    #: Timers the request waits on, soonest first, and whether this user may close one.
    waits: tuple[WaitView, ...] = ()
    can_close_wait: bool = False
    #: How long the request and each of its steps took (elapsed and working days).
    cycle: InstanceCycle | None = None
    #: For an administrator: whom each open task (by id) may be reassigned to (the
    #: engine's rule: role, four eyes, an earlier vote of the same round).
    reassign_to: dict[int, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskPage:
    """One task with its form, its values and the instance it belongs to."""

    task: TaskView
    page: InstancePage
    schema: dict[str, Any] | None
    values: dict[str, Any]
    has_draft: bool
    can_act: bool
    why_not: str
    can_claim: bool
    can_unclaim: bool
    #: Who could take the task from its pool (open and unassigned), by the engine's rule.
    candidates: tuple[str, ...] = ()
    #: Whom the user may hand the task over to (by the same rule; never themselves).
    handover: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstanceList:
    """One page of instances and the total."""

    rows: list[InstanceRow]
    total: int
    now: datetime
    directory: Directory
    process_names: dict[str, str] = field(default_factory=dict)


def directory(session: Session) -> Directory:
    """Active users with the roles they hold (globally or on any project), and role
    display names.  A picker limited to a role (``x-role: sponsor``) offers the people who
    hold it globally (``global_roles``): the engine refuses anyone else
    (:func:`engine.access.check_people`)."""
    roles: dict[str, set[str]] = {}
    held: dict[str, set[str]] = {}
    for username, role in session.execute(select(UserRole.username, UserRole.role_key)):
        roles.setdefault(username, set()).add(role)
        held.setdefault(username, set()).add(role)
    for username, role in session.execute(_project_role_pairs(session)):
        roles.setdefault(username, set()).add(role)
    people = tuple(
        Person(
            u.username,
            u.display_name or u.username,
            tuple(sorted(roles.get(u.username, ()))),
            tuple(sorted(held.get(u.username, ()))),
        )
        for u in session.execute(
            select(User.username, User.display_name)
            .where(User.active.is_(True))
            .order_by(User.display_name, User.username)
        )
    )
    names = identity.role_names(session)
    return Directory(people, names, {p.username: p.display_name for p in people})


def _project_role_pairs(session: Session) -> Any:
    """The distinct (user, role) pairs of ``project_roles``.  On PostgreSQL a skip scan
    of the (username, role_key) index: one probe per pair (a few hundred) instead of
    reading every project's roles (60,000 rows with 20,000 projects)."""
    if session.get_bind().dialect.name != "postgresql":
        return select(ProjectRole.username, ProjectRole.role_key).distinct()
    return text(
        "WITH RECURSIVE pairs(username, role_key) AS ("
        " (SELECT username, role_key FROM project_roles ORDER BY username, role_key LIMIT 1)"
        " UNION ALL"
        " SELECT n.username, n.role_key FROM pairs, LATERAL ("
        "  SELECT p.username, p.role_key FROM project_roles p"
        "  WHERE (p.username, p.role_key) > (pairs.username, pairs.role_key)"
        "  ORDER BY p.username, p.role_key LIMIT 1) n"
        ") SELECT username, role_key FROM pairs"
    )


def names(session: Session, usernames: Iterable[str | None]) -> Directory:
    """Display names of ``usernames`` only (active or not), and role names: for pages
    that show names but offer no picker (the whole directory grows with the
    organisation)."""
    return Directory((), identity.role_names(session), display_names(session, usernames))


def display_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    """Username -> display name (the username when it has none) of those of
    ``usernames`` that are users; one statement, none for an empty set."""
    wanted = sorted({u for u in usernames if u})
    if not wanted:
        return {}
    found = session.execute(
        select(User.username, User.display_name).where(User.username.in_(wanted))
    )
    return {u: d or u for u, d in found}


#: At most this many distinct strings of a page are looked up as usernames (a request
#: whose data holds more shows the rest by username).
MOST_NAMES = 2000

#: The longest username (``users.username``).
_USERNAME_MAX = 64


def usernames_in(*values: Any) -> set[str]:
    """Every string that could be a username (1-64 characters) anywhere in ``values``,
    through nested mappings, lists and tuples: the people a page may name (a person
    picked in a form, a reviewer inside a row, whom an audit entry handed a task to)
    without knowing each form's shape.  Strings that are no username find no user."""
    out: set[str] = set()
    stack: list[Any] = list(values)
    while stack and len(out) < MOST_NAMES:
        value = stack.pop()
        if isinstance(value, str):
            if 0 < len(value) <= _USERNAME_MAX:
                out.add(value)
        elif isinstance(value, Mapping):
            stack.extend(value.values())
        elif isinstance(value, list | tuple | set | frozenset):
            stack.extend(value)
    return out


def has_person_picker(schema: Any) -> bool:
    """Does the form offer a person picker (``x-widget: user``) anywhere, nested rows
    and objects included?  Only such a form needs the whole directory; a read-only field
    (``readOnly``) offers nothing to pick: it shows a name the page looks up anyway."""
    stack: list[Any] = [schema]
    while stack:
        value = stack.pop()
        if isinstance(value, Mapping):
            if value.get("readOnly") is True:
                continue
            if value.get("x-widget") == "user":
                return True
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _people_shown(page: InstancePage) -> set[str]:
    """Whom the instance page names: the starter, everyone in its history (actors and
    whoever an entry's detail names), the holders of its open steps, the people its
    data names, whom its steps were completed by and whom they may be reassigned to."""
    return usernames_in(
        page.instance.started_by,
        [(e.actor, e.detail) for e in page.history],
        [w.assignee for w in page.waiting],
        page.data,
        [s.completed_by for s in page.cycle.steps] if page.cycle else [],
        list(page.reassign_to.values()),
    )


def _with_directory(
    session: Session, page: InstancePage, more: Iterable[str | None] = (), *, people: bool = False
) -> InstancePage:
    """``page`` with the names it shows (and ``more``); with ``people``, the whole
    directory too, for a form's person pickers."""
    shown = names(session, [*_people_shown(page), *more])
    if people:
        full = directory(session)
        shown = replace(full, display_names={**shown.display_names, **full.display_names})
    return replace(page, directory=shown)


def process_names(session: Session) -> dict[str, str]:
    """Process key -> name of its newest deployed version."""
    rows = session.execute(
        select(ProcessDefinition.key, ProcessDefinition.name).order_by(ProcessDefinition.version)
    )
    return dict(rows.all())


def inbox_page(eng: Engine, session: Session, username: str, query: TaskQuery) -> InboxPage:
    """The inbox for ``username``: ``eng.tasks`` plus what the filters need."""
    tasks, total = eng.tasks(session, username, query)
    mine = identity.global_roles(session, username) | {
        r for _p, r in identity.project_roles(session, username)
    }
    return InboxPage(
        tasks,
        total,
        eng.clock.now(),
        process_names(session),
        tuple(sorted(mine)),
        names(session, {t.assignee for t in tasks if t.assignee}),
        eng.waits_of(session, {t.instance_id for t in tasks}),
    )


def first_wait(waits: list[WaitView] | tuple[WaitView, ...], element_id: str) -> WaitView | None:
    """The soonest of ``waits`` attached to the step ``element_id``."""
    return next((w for w in waits if w.attached_to == element_id), None)


def startable(eng: Engine, session: Session, username: str) -> list[DefinitionView]:
    """Deployed processes ``username`` may start (no start role: anyone)."""
    return [
        d
        for d in eng.definitions(session)
        if not d.start_role or may_start(session, username, d.start_role, None)
    ]


def start_page(eng: Engine, session: Session, process_key: str, username: str) -> StartPage:
    """The start form of ``process_key``; :class:`Forbidden` without its start role."""
    view = definition_view(get_process(session, process_key, eng.clock.now()))
    if view.start_role and not may_start(session, username, view.start_role, None):
        raise Forbidden(
            f"starting {view.name!r} needs the role {view.start_role!r}",
            code="access.start_role",
            process=view.name,
            role=view.start_role,
        )
    schema = eng.form_schema(session, view.id, view.start_form)
    return StartPage(
        view,
        schema,
        directory(session) if has_person_picker(schema) else names(session, ()),
    )


def waiting_steps(tasks: list[TaskView], now: datetime) -> tuple[Waiting, ...]:
    """Where a request waits: one entry per open task."""
    return tuple(
        Waiting(
            t.id,
            t.name,
            t.element_id,
            t.assignee,
            t.role,
            t.claimed_at or t.created_at,
            t.due_at,
            t.due_at is not None and t.due_at < now,
        )
        for t in tasks
        if t.status == "open"
    )


def instance_page(
    eng: Engine, session: Session, instance_id: int, username: str, *, checked: bool = False
) -> InstancePage:
    """The instance page with the names of the people it shows (``checked``: access was
    already established through a task)."""
    return _with_directory(
        session, _unnamed_instance_page(eng, session, instance_id, username, checked=checked)
    )


def _unnamed_instance_page(
    eng: Engine,
    session: Session,
    instance_id: int,
    username: str,
    *,
    checked: bool = False,
    views: DataViews | None = None,
) -> InstancePage:
    """The instance page with an empty directory, which the caller fills (``views``: the
    instance's data when the caller already read it)."""
    if views is None:  # the read that brings the request also checks who may see it
        views = eng.instance_and_task_data(
            session, instance_id, None, viewer=None if checked else username
        )
        checked = True
    view = views.instance
    if not checked and not may_view_instance(session, username, view, eng.clock.now()):
        raise access.no_access(instance_id=instance_id)
    definition = eng.cache.definition(session, view.definition_id)
    now = eng.clock.now()
    waits = tuple(eng.waits(session, instance_id))
    roles = identity.global_roles(session, username)
    return InstancePage(
        instance=view,
        process_name=definition.name,
        now=now,
        data=views.data,
        fields=_fields(definition),
        history=eng.history(session, instance_id),
        visited=views.visited,
        waiting=waiting_steps(view.open_tasks, now),
        can_withdraw=view.status == "running" and view.started_by == username,
        can_reassign=ADMIN_ROLE in roles,
        reassign_to=_reassign_to(session, view, now) if ADMIN_ROLE in roles else {},
        directory=NOBODY,
        waits=waits,
        can_close_wait=view.status == "running"
        and any(w.closable for w in waits)
        and (view.started_by == username or bool(CLOSERS & roles)),
        cycle=eng.cycle_time(session, instance_id),
    )


def _reassign_to(session: Session, view: InstanceView, now: datetime) -> dict[int, tuple[str, ...]]:
    open_ids = [t.id for t in view.open_tasks if t.status == "open"]
    if not open_ids:
        return {}
    rows = session.scalars(select(HumanTask).where(HumanTask.id.in_(open_ids)))
    return {row.id: access.handover_candidates(session, row, view.started_by, now) for row in rows}


@dataclass(frozen=True)
class Deadlines:
    """When a PMO record's request is due and what happens then: its open steps (who has
    them, due when, overdue or not) and the timers and reminders it waits on."""

    instance_id: int
    status: str
    now: datetime
    waiting: tuple[Waiting, ...]
    waits: tuple[WaitView, ...]
    directory: Directory

    def waits_of(self, element_id: str) -> list[WaitView]:
        """What happens, and when, to the open step ``element_id``."""
        return [w for w in self.waits if w.attached_to == element_id]

    @property
    def other_waits(self) -> list[WaitView]:
        """Timers not attached to an open step (a decision window, a waiting period)."""
        open_steps = {w.element_id for w in self.waiting}
        return [w for w in self.waits if w.attached_to not in open_steps]


def deadlines(eng: Engine, session: Session, instance_id: int) -> Deadlines:
    """The deadlines of one request from the indexed rows (no workflow is loaded)."""
    view = eng.instance(session, instance_id)
    now = eng.clock.now()
    return Deadlines(
        instance_id,
        view.status,
        now,
        waiting_steps(view.open_tasks, now),
        tuple(eng.waits(session, instance_id)),
        names(session, {t.assignee for t in view.open_tasks if t.status == "open"}),
    )


def _fields(definition: DefinitionSnapshot) -> dict[str, dict[str, Any]]:
    """Field name -> schema over every form of a version (start form first)."""
    names = sorted(definition.forms, key=lambda n: n != definition.meta.get("start_form"))
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        for key, prop in (definition.forms[name].get("properties") or {}).items():
            if isinstance(prop, dict):
                out.setdefault(key, prop)
    return out


def task_page(eng: Engine, session: Session, task_id: int, username: str) -> TaskPage:
    """A task page; :class:`Forbidden` when ``username`` may not see the task."""
    task, row = task_and_row(eng.ctx, session, task_id, username)  # one read
    views = eng.instance_and_task_data(
        session,
        task.instance_id,
        task_id if task.status == "open" else None,
        spiff_task_id=row.spiff_task_id,
    )
    page = _unnamed_instance_page(
        eng, session, task.instance_id, username, checked=True, views=views
    )
    schema = eng.form_schema(
        session, task.form_definition_id or page.instance.definition_id, task.form
    )
    props = (schema or {}).get("properties") or {}
    seen = page.data if views.task_data is None else views.task_data
    values = {k: v for k, v in seen.items() if k in props and k not in OUTCOME_KEYS}
    values.update(row.draft or {})
    in_pool = task.status == "open" and task.assignee is None and bool(task.role)
    candidates = (
        access.handover_candidates(session, row, page.instance.started_by, page.now)
        if in_pool
        else ()
    )
    can_act, why_not, handover = False, "", tuple[str, ...]()
    started_by = page.instance.started_by
    if task.status == "open":
        eligible = access.may_work_on(session, username, row, started_by, page.now)
        can_act, why_not = eligible.allowed, eligible.reason
        if can_act and in_pool:  # the same rule over the same pool: read it once
            handover = tuple(u for u in candidates if u != username)
        elif can_act:
            handover = access.handover_candidates(
                session, row, started_by, page.now, exclude=(username,)
            )
    page = _with_directory(
        session,
        page,
        [task.assignee, task.completed_by, *candidates, *handover, *usernames_in(values)],
        people=has_person_picker(schema),
    )
    return TaskPage(
        task=task,
        page=page,
        schema=schema,
        values=values,
        has_draft=bool(row.draft),
        can_act=can_act,
        why_not=why_not,
        can_claim=can_act and task.assignee is None,
        # only a task the user claimed goes back to the pool: one the process assigned
        # (a rework step for the submitter) must not become everyone's
        can_unclaim=(
            task.status == "open"
            and task.assignee == username
            and bool(task.role)
            and task.claimed_at is not None
        ),
        candidates=candidates,
        handover=handover,
    )


def _instance_rows(
    eng: Engine, session: Session, query: Any, offset: int, limit: int
) -> tuple[list[InstanceRow], int]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    insts = session.scalars(
        query.order_by(ProcessInstance.id.desc())
        .limit(max(1, min(limit, 200)))
        .offset(max(0, offset))
    ).all()
    ids = [i.id for i in insts]
    open_tasks: dict[int, list[HumanTask]] = {}
    for t in session.scalars(
        select(HumanTask)
        .where(HumanTask.instance_id.in_(ids), HumanTask.status == "open")
        .order_by(HumanTask.id)
    ):
        open_tasks.setdefault(t.instance_id, []).append(t)
    now, names = eng.clock.now(), process_names(session)
    rows = [
        InstanceRow(
            i.id,
            i.title,
            i.business_key,
            i.process_key,
            names.get(i.process_key, i.process_key),
            i.status,
            i.started_by,
            i.started_at,
            i.ended_at,
            i.current_step,
            waiting_steps([task_view(t, i) for t in open_tasks.get(i.id, [])], now),
        )
        for i in insts
    ]
    return rows, int(total)


def my_requests(
    eng: Engine,
    session: Session,
    username: str,
    *,
    status: str | None = None,
    offset: int = 0,
    limit: int = 25,
) -> InstanceList:
    """Instances ``username`` started, newest first, with where each one waits."""
    q = select(ProcessInstance).where(ProcessInstance.started_by == username)
    if status:
        q = q.where(ProcessInstance.status == status)
    rows, total = _instance_rows(eng, session, q, offset, limit)
    return InstanceList(rows, total, eng.clock.now(), names(session, _row_people(rows)))


def running_instances(
    eng: Engine,
    session: Session,
    username: str,
    *,
    process_key: str | None = None,
    offset: int = 0,
    limit: int = 25,
) -> InstanceList:
    """Every running instance (PMO roles only), newest first."""
    if not identity.global_roles(session, username) & PMO_ROLES:
        raise Forbidden("only the PMO sees every running request", code="access.pmo_only")
    q = select(ProcessInstance).where(ProcessInstance.status == "running")
    if process_key:
        q = q.where(ProcessInstance.process_key == process_key)
    rows, total = _instance_rows(eng, session, q, offset, limit)
    return InstanceList(
        rows, total, eng.clock.now(), names(session, _row_people(rows)), process_names(session)
    )


def _row_people(rows: list[InstanceRow]) -> set[str | None]:
    """Whom a list of instances names: their starters and the holders of their steps."""
    return {r.started_by for r in rows} | {w.assignee for r in rows for w in r.waiting}


@dataclass(frozen=True)
class FormPreviewPage:
    """A draft form checked, sample data validated against it (errors by field), and the
    people its person pickers offer (the form designer's live preview)."""

    schema: dict[str, Any]
    errors: dict[str, Any]
    directory: Directory


def form_preview(
    eng: Engine, session: Session, actor: str, text: str, data: dict[str, Any]
) -> FormPreviewPage:
    """The designer's preview of a draft form (process owners; :class:`InvalidData` by
    JSON pointer when the schema is broken): what :meth:`Engine.preview_form` says, with
    the directory, so a person picker in the preview lists the real people."""
    found = eng.preview_form(session, actor, text, data)
    return FormPreviewPage(found.schema, found.errors, directory(session))
