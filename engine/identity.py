"""Users, roles, project-scoped roles, delegation; who may work on which task.

A role is *global* (any holder may take its tasks) or *project*-scoped (only people who
hold it for the task's project, e.g. "the sponsor of this project").  A delegation lets
one person act for another for a period; the audit trail records both names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    String,
    and_,
    bindparam,
    cast,
    delete,
    event,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.orm import Session

from engine.errors import FieldError, Forbidden, NotFound
from engine.passwords import check_password as password_matches
from engine.passwords import hash_password
from engine.store.models import Delegation, HumanTask, ProjectRole, Role, User, UserRole
from engine.store.rows import Rec
from engine.views import UserView

#: Languages a user may choose.
LOCALES = frozenset({"en", "zh"})


@dataclass(frozen=True)
class RoleSpec:
    """A role to create: key, display name, scope ("global" or "project")."""

    key: str
    name: str
    scope: str = "global"
    description: str = ""


@dataclass(frozen=True)
class Eligibility:
    """Whether someone may work on a task, and for whom they act."""

    allowed: bool
    on_behalf_of: str | None = None
    reason: str = ""


def ensure_roles(session: Session, roles: Iterable[RoleSpec]) -> None:
    """Create or update roles (idempotent). Does not commit."""
    forget_cached(session)
    for spec in roles:
        if spec.scope not in ("global", "project"):
            raise ValueError(f"role {spec.key}: scope must be 'global' or 'project'")
        row = session.get(Role, spec.key)
        if row is None:
            session.add(
                Role(key=spec.key, name=spec.name, scope=spec.scope, description=spec.description)
            )
        else:
            row.name, row.scope, row.description = spec.name, spec.scope, spec.description
    session.flush()


def role_keys(session: Session) -> frozenset[str]:
    """Every role key that exists."""
    return frozenset(session.scalars(select(Role.key)))


def create_user(
    session: Session,
    username: str,
    *,
    now: datetime,
    password: str | None = None,
    display_name: str = "",
    email: str | None = None,
    roles: Iterable[str] = (),
) -> User:
    """Create a user with global roles. Does not commit. Passwords are stored hashed."""
    username = username.strip()
    if (
        not username
        or len(username) > 64
        or not username.replace("_", "").replace("-", "").replace(".", "").isalnum()
    ):
        raise ValueError(
            f"invalid username {username!r}: use letters, digits, '.', '-' or '_' (max 64)"
        )
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise ValueError(f"user {username!r} already exists")
    user = User(
        username=username,
        display_name=display_name or username,
        email=email,
        password_hash=hash_password(password) if password else None,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    set_roles(session, username, roles)
    return user


def set_password(session: Session, username: str, password: str) -> None:
    """Replace a user's password (hashed) and end their sessions. Does not commit."""
    user = get_user(session, username)
    user.password_hash = hash_password(password)
    user.session_version = (user.session_version or 0) + 1


def check_password(session: Session, username: str, password: str) -> User | None:
    """The active user if the password matches, else None (never says which part failed)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not user.password_hash:
        # Spend the same time as a real check so usernames cannot be probed by timing.
        password_matches(DUMMY_HASH, password)
        return None
    return user if password_matches(user.password_hash, password) else None


DUMMY_HASH = hash_password("not-a-password")


def get_user(session: Session, username: str) -> User:
    """The user row or :class:`NotFound`."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user named {username!r}", code="user.not_found", user=username)
    return user


def set_roles(session: Session, username: str, roles: Iterable[str]) -> None:
    """Replace a user's global roles. Unknown role keys raise ValueError."""
    forget_cached(session)
    wanted = set(roles)
    unknown = wanted - role_keys(session)
    if unknown:
        raise ValueError(f"unknown role(s): {', '.join(sorted(unknown))}")
    session.execute(delete(UserRole).where(UserRole.username == username))
    for key in sorted(wanted):
        session.add(UserRole(username=username, role_key=key))
    session.flush()


def grant_project_role(session: Session, project_id: int, username: str, role: str) -> None:
    """Give ``username`` the role for one project (idempotent). Does not commit."""
    forget_cached(session)
    get_user(session, username)
    if session.get(Role, role) is None:
        raise ValueError(f"unknown role {role!r}")
    exists = session.scalar(
        select(ProjectRole).where(
            ProjectRole.project_id == project_id,
            ProjectRole.username == username,
            ProjectRole.role_key == role,
        )
    )
    if exists is None:
        session.add(ProjectRole(project_id=project_id, username=username, role_key=role))
        session.flush()


# Who holds what is read several times per request (navigation counts, inbox filters,
# access checks); it is cached for the duration of one transaction and dropped whenever a
# transaction ends or this module changes a grant.
_CACHE_KEY = "pmoflow.identity"


def _cached(session: Session, key: tuple, load: Callable[[], Any]) -> Any:
    cache = session.info.setdefault(_CACHE_KEY, {})
    if key not in cache:
        cache[key] = load()
    return cache[key]


def forget_cached(session: Session) -> None:
    """Drop the per-transaction cache of roles and delegations."""
    session.info.pop(_CACHE_KEY, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_after_transaction(session: Session, _transaction: Any) -> None:
    forget_cached(session)


def prime(session: Session, username: str, now: datetime) -> None:
    """Read everything :func:`global_roles`, :func:`project_roles`, :func:`delegators`
    and :func:`role_scopes` answer for ``username`` in one statement (a page asks all
    four; on PostgreSQL each statement is a round trip). Cached like them, for the
    transaction."""
    cache = session.info.setdefault(_CACHE_KEY, {})
    keys = (
        ("global", username),
        ("project", username),
        ("delegators", username, now.replace(microsecond=0)),
        ("roles",),
    )
    if all(k in cache for k in keys):
        return
    found: dict[str, set] = {"g": set(), "p": set(), "d": set()}
    roles: dict[str, tuple[str, str]] = {}
    params = {"username": username, "now": now}
    for kind, value, name, scope in session.execute(_GRANTS, params):
        if kind == "r":
            roles[value] = (name, scope)
        elif kind == "p":  # one row per role: its projects' ids, comma-separated
            found["p"].update((int(p), value) for p in name.split(","))
        else:
            found[kind].add(value)
    cache.update(
        zip(
            keys,
            (frozenset(found["g"]), frozenset(found["p"]), frozenset(found["d"]), roles),
            strict=True,
        )
    )


_NO_TEXT = cast(null(), String)
_GRANTS = union_all(
    select(literal("g"), UserRole.role_key, _NO_TEXT, _NO_TEXT).where(
        UserRole.username == bindparam("username")
    ),
    # a sponsor of 300 projects: one row per role, not 300 (fetching and converting
    # them was ~2 ms of each inbox page)
    select(
        literal("p"),
        ProjectRole.role_key,
        func.aggregate_strings(cast(ProjectRole.project_id, String), ","),
        _NO_TEXT,
    )
    .where(ProjectRole.username == bindparam("username"))
    .group_by(ProjectRole.role_key),
    select(literal("d"), Delegation.from_user, _NO_TEXT, _NO_TEXT).where(
        Delegation.to_user == bindparam("username"),
        Delegation.starts_at <= bindparam("now"),
        or_(Delegation.ends_at.is_(None), Delegation.ends_at > bindparam("now")),
    ),
    # the roles table (a handful of rows): every list and check asks a role's scope
    select(literal("r"), Role.key, Role.name, Role.scope),
)


def global_roles(session: Session, username: str) -> frozenset[str]:
    """Roles held everywhere."""
    return _cached(
        session,
        ("global", username),
        lambda: frozenset(
            session.scalars(select(UserRole.role_key).where(UserRole.username == username))
        ),
    )


def project_roles(session: Session, username: str) -> frozenset[tuple[int, str]]:
    """(project id, role) pairs held for particular projects."""

    def load() -> frozenset[tuple[int, str]]:
        rows = session.execute(
            select(ProjectRole.project_id, ProjectRole.role_key).where(
                ProjectRole.username == username
            )
        )
        return frozenset((int(p), r) for p, r in rows)

    return _cached(session, ("project", username), load)


def delegators(session: Session, username: str, now: datetime) -> frozenset[str]:
    """People who have delegated their work to ``username`` right now (cached to the
    second: one page asks several times, each with its own ``now``)."""
    key = ("delegators", username, now.replace(microsecond=0))
    return _cached(
        session,
        key,
        lambda: frozenset(
            session.scalars(
                select(Delegation.from_user).where(
                    Delegation.to_user == username,
                    Delegation.starts_at <= now,
                    or_(Delegation.ends_at.is_(None), Delegation.ends_at > now),
                )
            )
        ),
    )


def _roles(session: Session) -> dict[str, tuple[str, str]]:
    return _cached(
        session,
        ("roles",),
        lambda: {
            key: (name, scope)
            for key, name, scope in session.execute(select(Role.key, Role.name, Role.scope))
        },
    )


def role_scopes(session: Session) -> dict[str, str]:
    """Role key -> "global" or "project"."""
    return {key: scope for key, (_name, scope) in _roles(session).items()}


def role_names(session: Session) -> dict[str, str]:
    """Role key -> display name."""
    return {key: name for key, (name, _scope) in _roles(session).items()}


_HOLDS_ROLE = select(
    select(Role.scope).where(Role.key == bindparam("role")).scalar_subquery(),
    exists().where(
        UserRole.username == bindparam("username"), UserRole.role_key == bindparam("role")
    ),
    exists().where(
        ProjectRole.username == bindparam("username"),
        ProjectRole.role_key == bindparam("role"),
        ProjectRole.project_id == bindparam("project_id"),
    ),
)


def holds_role_for(session: Session, username: str, role: str, project_id: int | None) -> bool:
    """Does ``username`` hold ``role`` for this project (or globally, for global roles)?

    One query: the role's scope decides whether the global grant or the grant for this
    project counts (an unknown role counts as global).
    """
    scope, global_grant, project_grant = _cached(
        session,
        ("holds", username, role, project_id),
        lambda: tuple(
            session.execute(
                _HOLDS_ROLE, {"username": username, "role": role, "project_id": project_id}
            ).one()
        ),
    )
    if scope == "project" and project_id is not None:
        return bool(project_grant)
    return bool(global_grant)


def not_holding_message(task: HumanTask | Rec | Any) -> FieldError:
    """Why someone who neither has ``task`` nor holds its role may not work on it."""
    if task.assignee:
        return FieldError(
            f"this task is assigned to {task.assignee}",
            "access.assigned_to_other",
            task_id=task.id,
            user=task.assignee,
        )
    scope = f" for project {task.project_id}" if task.project_id is not None else ""
    return FieldError(
        f"this task needs the role {task.role!r}{scope}",
        "access.role_missing",
        task_id=task.id,
        role=task.role,
        project_id=task.project_id,
    )


def distinct_actor_problem(
    session: Session, task: HumanTask | Rec | Any, username: str, on_behalf_of: str | None
) -> FieldError | None:
    """For multi-instance steps marked ``distinctActors`` (committee votes): why this person
    may not take another instance of the same step, or None.

    Nobody completes two instances of one run of a step (one committee round), neither
    directly nor for the person they act for. A later run (after rework) is a new round.
    """
    people = {username} | ({on_behalf_of} if on_behalf_of else set())
    same_run = (
        HumanTask.multi_ref == task.multi_ref
        if task.multi_ref is not None
        else HumanTask.multi_ref.is_(None)
    )
    done = session.scalar(
        select(HumanTask.completed_by)
        .where(
            HumanTask.instance_id == task.instance_id,
            HumanTask.element_id == task.element_id,
            same_run,
            HumanTask.status == "completed",
            or_(HumanTask.completed_by.in_(people), HumanTask.on_behalf_of.in_(people)),
        )
        .limit(1)
    )
    if done is None:
        return None
    return FieldError(
        f"{username} has already completed '{task.name}' in this request; each "
        "instance of this step needs a different person",
        "access.distinct_actors",
        user=username,
        task_id=task.id,
        name=task.name,
    )


def four_eyes_message(started_by: str, actor: str) -> FieldError:
    """Why the four-eyes rule refuses ``actor`` a task of a request ``started_by`` made."""
    who = "you" if started_by == actor else f"{started_by}, for whom you act,"
    return FieldError(
        f"four-eyes rule: {who} submitted this request and may not review it",
        "access.four_eyes",
        starter=started_by,
        actor=actor,
        own=started_by == actor,
    )


def require(eligible: Eligibility) -> None:
    """Raise :class:`Forbidden` with the reason when not allowed."""
    if not eligible.allowed:
        raise Forbidden(eligible.reason)


def assigned_filter(session: Session, username: str, now: datetime):
    """SQL condition for open tasks assigned to ``username`` or to someone they act for."""
    people = [username, *sorted(delegators(session, username, now))]
    return and_(HumanTask.status == "open", HumanTask.assignee.in_(people))


def revoke_project_role(session: Session, project_id: int, username: str, role: str) -> None:
    """Take a project-scoped role away (e.g. the sponsor changed). Does not commit."""
    forget_cached(session)
    session.execute(
        delete(ProjectRole).where(
            ProjectRole.project_id == project_id,
            ProjectRole.username == username,
            ProjectRole.role_key == role,
        )
    )


def holders(session: Session, role: str, project_id: int | None = None) -> list[str]:
    """Active users who hold ``role`` (for this project, when the role is project-scoped
    and a project is given), sorted; e.g. whom to remind about a pool task."""
    scope = role_scopes(session).get(role, "global")
    if scope == "project" and project_id is not None:
        q = select(ProjectRole.username).where(
            ProjectRole.role_key == role, ProjectRole.project_id == project_id
        )
    else:
        q = select(UserRole.username).where(UserRole.role_key == role)
    q = q.join(User, User.username == q.selected_columns[0]).where(User.active.is_(True))
    return sorted(set(session.scalars(q)))


def holders_anywhere(session: Session, role: str) -> list[str]:
    """Active users who hold ``role`` globally or for any project, sorted: e.g. whom to
    tell about a risk waiting at the PMO heads' level (no directory is read)."""
    held = union(
        select(UserRole.username).where(UserRole.role_key == role),
        select(ProjectRole.username).where(ProjectRole.role_key == role),
    ).subquery()
    q = select(User.username).where(User.active.is_(True), User.username.in_(select(held)))
    return sorted(session.scalars(q))


def is_active_user(session: Session, username: str) -> bool:
    """Is ``username`` an active user?"""
    found = session.scalar(select(User.active).where(User.username == username))
    return bool(found)


_ACTIVE_USER = select(
    User.id,
    User.username,
    User.display_name,
    User.email,
    User.active,
    User.locale,
    User.time_zone,
    User.session_version,
    User.locked_at,
).where(User.id == bindparam("id"), User.active.is_(True))


def active_user(
    session: Session, user_id: int, now: datetime, session_version: int | None = None
) -> UserView | None:
    """The active user with this id and their global roles (None if there is none, or
    if ``session_version`` is given and is not the user's: that session was ended).

    Reads columns, not the ORM entity (this runs on every web request), and primes the
    per-transaction cache with what pages ask next (roles, project roles, delegations).
    """
    return user_of_row(
        session, session.execute(_ACTIVE_USER, {"id": user_id}).first(), now, session_version
    )


def active_user_with(*columns: Any) -> Select[Any]:
    """The read :func:`active_user` makes, carrying ``columns`` too (bound: ``id``); its
    row goes to :func:`user_of_row`."""
    return _ACTIVE_USER.add_columns(*columns)


def user_of_row(
    session: Session, row: Any, now: datetime, session_version: int | None = None
) -> UserView | None:
    """:func:`active_user`'s answer from its row (None: no such active user)."""
    if row is None or session_version not in (None, row.session_version):
        return None
    prime(session, row.username, now)
    return UserView(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        email=row.email,
        active=row.active,
        locale=row.locale,
        roles=tuple(sorted(global_roles(session, row.username))),
        project_roles=tuple(sorted(project_roles(session, row.username))),
        time_zone=row.time_zone,
        session_version=row.session_version,
        locked=row.locked_at is not None,
    )


def user_view(session: Session, user: User) -> UserView:
    """A :class:`UserView` of a user row."""
    return UserView(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        active=user.active,
        locale=user.locale,
        roles=tuple(sorted(global_roles(session, user.username))),
        project_roles=tuple(sorted(project_roles(session, user.username))),
        time_zone=user.time_zone,
        session_version=user.session_version or 0,
        locked=user.locked_at is not None,
    )


def add_delegation(
    session: Session,
    from_user: str,
    to_user: str,
    starts_at: datetime,
    ends_at: datetime | None,
    reason: str,
    now: datetime,
) -> Delegation:
    """Record that ``from_user`` lets ``to_user`` act for them. Does not commit."""
    forget_cached(session)
    if from_user == to_user:
        raise Forbidden("nobody can delegate to themselves", code="access.self_delegation")
    get_user(session, from_user)
    get_user(session, to_user)
    row = Delegation(
        from_user=from_user,
        to_user=to_user,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row
