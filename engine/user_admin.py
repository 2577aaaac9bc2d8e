"""What a PMO administrator does to people: create them, change their e-mail, language
and time zone, reset a password, deactivate or reactivate them, grant and revoke roles
(everywhere, or for one project).  Every change is audited with before and after (see
:mod:`engine.admin_audit`).  Nothing here commits: the facade runs each verb as one unit
of work after checking that the actor is a PMO administrator.

Deactivating someone stops their sign-in and their API tokens at once (both check
``users.active``).  Open tasks they held go back to the step's role, so the rest of the
role can take them; tasks the process assigned to them with no role to fall back on stay
assigned and are reported, for an administrator to reassign.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import admin_audit, identity
from engine.errors import FieldError, Forbidden, InvalidData
from engine.store import rows
from engine.store.models import HumanTask, ProjectRole, Role, User, UserRole
from engine.views import Deactivation, RoleView, UserView

MIN_PASSWORD = 8
_USERNAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
#: What :func:`update` may change.
PROFILE_FIELDS = ("display_name", "email", "locale", "time_zone")


@dataclass(frozen=True)
class NewUser:
    """A person to create (the password is the initial one, to be changed)."""

    username: str
    password: str
    display_name: str = ""
    email: str | None = None
    locale: str | None = None
    time_zone: str | None = None
    roles: tuple[str, ...] = ()


def roles(session: Session) -> list[RoleView]:
    """Every role, by key."""
    return [
        RoleView(r.key, r.name, r.scope) for r in session.scalars(select(Role).order_by(Role.key))
    ]


def users(session: Session) -> list[UserView]:
    """Every user (active or not) with their roles, by username; three statements."""
    held: dict[str, list[str]] = {}
    for name, role in session.execute(select(UserRole.username, UserRole.role_key)):
        held.setdefault(name, []).append(role)
    per_project: dict[str, list[tuple[int, str]]] = {}
    for name, project, role in session.execute(
        select(ProjectRole.username, ProjectRole.project_id, ProjectRole.role_key)
    ):
        per_project.setdefault(name, []).append((int(project), role))
    return [
        UserView(
            id=u.id,
            username=u.username,
            display_name=u.display_name,
            email=u.email,
            active=u.active,
            locale=u.locale,
            roles=tuple(sorted(held.get(u.username, ()))),
            project_roles=tuple(sorted(per_project.get(u.username, ()))),
            time_zone=u.time_zone,
        )
        for u in session.scalars(select(User).order_by(User.username))
    ]


def create(session: Session, actor: str, now: datetime, new: NewUser) -> UserView:
    """Create an active user with global roles; field errors all at once."""
    username = new.username.strip()
    errors: dict[str, str] = {}
    # at least one letter or digit: identity.create_user refuses a name of only "-", "." or "_"
    if not _USERNAME.fullmatch(username) or not any(ch.isalnum() for ch in username):
        errors["username"] = FieldError(
            "Use 1 to 64 letters, digits, '.', '-' or '_'.",
            "user.username_invalid",
            field="username",
        )
    elif session.scalar(select(User.id).where(User.username == username)) is not None:
        errors["username"] = FieldError(
            f"The username {username!r} is already taken.",
            "user.username_taken",
            field="username",
            name=username,
        )
    profile = {
        "display_name": (new.display_name or "").strip() or username,
        "email": new.email,
        "locale": new.locale,
        "time_zone": new.time_zone,
    }
    profile, field_errors = _clean_profile(profile)
    errors |= field_errors
    if problem := _password_problem(new.password):
        errors["password"] = problem
    unknown = sorted(set(new.roles) - identity.role_keys(session))
    if unknown:
        errors["roles"] = FieldError(
            f"Unknown role(s): {', '.join(unknown)}.",
            "role.unknown",
            field="roles",
            role=", ".join(unknown),
        )
    if errors:
        raise InvalidData(errors)
    user = identity.create_user(
        session,
        username,
        now=now,
        password=new.password,
        display_name=profile["display_name"] or username,
        email=profile["email"],
        roles=new.roles,
    )
    user.locale, user.time_zone = profile["locale"], profile["time_zone"]
    session.flush()
    admin_audit.record(
        session,
        actor=actor,
        now=now,
        kind="user.created",
        target=username,
        after={**profile, "roles": sorted(new.roles)},
    )
    return identity.user_view(session, user)


def update(
    session: Session, actor: str, now: datetime, username: str, changes: Mapping[str, str | None]
) -> UserView:
    """Change a user's display name, e-mail, language or time zone (only the fields
    given); audits what changed, before and after."""
    extra = sorted(set(changes) - set(PROFILE_FIELDS))
    if extra:
        raise InvalidData(
            {
                extra[0]: FieldError(
                    "This field cannot be changed here.", "user.field_read_only", field=extra[0]
                )
            }
        )
    user = identity.get_user(session, username)
    cleaned, errors = _clean_profile(changes)
    if "display_name" in cleaned and not cleaned["display_name"]:
        errors["display_name"] = FieldError(
            "This field is required.", "form.required", field="display_name"
        )
    if errors:
        raise InvalidData(errors)
    before = {k: getattr(user, k) for k in cleaned if getattr(user, k) != cleaned[k]}
    after = {k: cleaned[k] for k in before}
    for key, value in after.items():
        setattr(user, key, value)
    if after:
        admin_audit.record(
            session,
            actor=actor,
            now=now,
            kind="user.updated",
            target=username,
            before=before,
            after=after,
        )
    return identity.user_view(session, user)


def reset_password(
    session: Session, actor: str, now: datetime, username: str, password: str
) -> None:
    """Give a user a new password (audited without it)."""
    if problem := _password_problem(password):
        raise InvalidData({"password": problem})
    identity.set_password(session, username, password)
    admin_audit.record(session, actor=actor, now=now, kind="user.password_reset", target=username)


def set_active(
    session: Session,
    actor: str,
    now: datetime,
    username: str,
    active: bool,
    reason: str | None = None,
) -> Deactivation:
    """Deactivate (no sign-in, no API tokens, held tasks back to their role) or
    reactivate a user."""
    user = identity.get_user(session, username)
    if not active and username == actor:
        raise Forbidden("you cannot deactivate your own account", code="access.own_account")
    released: list[int] = []
    kept: list[int] = []
    if user.active != active:
        user.active = active
        if not active:
            released, kept = _release_tasks(session, actor, now, username)
            user.session_version = (user.session_version or 0) + 1  # signed out everywhere
        admin_audit.record(
            session,
            actor=actor,
            now=now,
            kind="user.reactivated" if active else "user.deactivated",
            target=username,
            before={"active": not active},
            after={"active": active, "released_tasks": released},
            reason=reason,
        )
    identity.forget_cached(session)
    return Deactivation(identity.user_view(session, user), tuple(released), tuple(kept))


def _release_tasks(
    session: Session, actor: str, now: datetime, username: str
) -> tuple[list[int], list[int]]:
    """Put the user's open tasks back to their role's pool, each instance locked first."""
    held = session.execute(
        select(
            HumanTask.id,
            HumanTask.instance_id,
            HumanTask.role,
            HumanTask.element_id,
            HumanTask.name,
        )
        .where(HumanTask.assignee == username, HumanTask.status == "open")
        .order_by(HumanTask.instance_id, HumanTask.id)
    ).all()
    released, kept = [], []
    for task in held:
        if task.role is None:
            kept.append(task.id)
            continue
        rows.require_instance(session, task.instance_id, lock=True)
        if rows.update_open_task(
            session, task.id, expect_assignee=username, assignee=None, claimed_at=None
        ):
            released.append(task.id)
            rows.audit(
                session,
                instance_id=task.instance_id,
                at=now,
                actor=actor,
                kind="released",
                element_id=task.element_id,
                element_name=task.name,
                human_task_id=task.id,
                reason=f"{username} was deactivated; the task went back to its role",
                detail={"from": username, "role": task.role},
            )
    return released, kept


def grant_role(session: Session, actor: str, now: datetime, username: str, role: str) -> UserView:
    """Give a user a role everywhere (idempotent: no change, no audit row)."""
    user = identity.get_user(session, username)
    _require_role(session, role)
    held = identity.global_roles(session, username)
    if role not in held:
        identity.set_roles(session, username, held | {role})
        admin_audit.record(
            session,
            actor=actor,
            now=now,
            kind="role.granted",
            target=username,
            before={"roles": sorted(held)},
            after={"roles": sorted(held | {role})},
        )
    return identity.user_view(session, user)


def revoke_role(session: Session, actor: str, now: datetime, username: str, role: str) -> UserView:
    """Take a global role away (an administrator cannot drop their own admin role)."""
    user = identity.get_user(session, username)
    _require_role(session, role)
    if username == actor and role == "pmo_admin":
        raise Forbidden(
            "you cannot take away your own administrator role", code="access.own_account"
        )
    held = identity.global_roles(session, username)
    if role in held:
        identity.set_roles(session, username, held - {role})
        admin_audit.record(
            session,
            actor=actor,
            now=now,
            kind="role.revoked",
            target=username,
            before={"roles": sorted(held)},
            after={"roles": sorted(held - {role})},
        )
    return identity.user_view(session, user)


def grant_project_role(
    session: Session, actor: str, now: datetime, username: str, project_id: int, role: str
) -> UserView:
    """Give a user a project-scoped role (e.g. sponsor) for one project."""
    user = identity.get_user(session, username)
    _require_project_role(session, role, project_id)
    if (project_id, role) not in identity.project_roles(session, username):
        identity.grant_project_role(session, project_id, username, role)
        admin_audit.record(
            session,
            actor=actor,
            now=now,
            kind="project_role.granted",
            target=username,
            before={},
            after={"project_id": project_id, "role": role},
        )
    return identity.user_view(session, user)


def revoke_project_role(
    session: Session, actor: str, now: datetime, username: str, project_id: int, role: str
) -> UserView:
    """Take a project-scoped role away for one project."""
    user = identity.get_user(session, username)
    _require_project_role(session, role, project_id)
    if (project_id, role) in identity.project_roles(session, username):
        identity.revoke_project_role(session, project_id, username, role)
        admin_audit.record(
            session,
            actor=actor,
            now=now,
            kind="project_role.revoked",
            target=username,
            before={"project_id": project_id, "role": role},
            after={},
        )
    return identity.user_view(session, user)


def _require_role(session: Session, role: str) -> Role:
    found = session.get(Role, role) if role else None
    if found is None:
        raise InvalidData(
            {"role": FieldError(f"Unknown role {role!r}.", "role.unknown", field="role", role=role)}
        )
    return found


def _require_project_role(session: Session, role: str, project_id: Any) -> None:
    if isinstance(project_id, bool) or not isinstance(project_id, int) or project_id < 1:
        raise InvalidData(
            {"project": FieldError("Choose a project.", "form.required", field="project")}
        )
    if _require_role(session, role).scope != "project":
        raise InvalidData(
            {
                "role": FieldError(
                    f"{role!r} is not a project role; grant it to the person everywhere instead.",
                    "role.not_project_scoped",
                    field="role",
                    role=role,
                )
            }
        )


def _clean_profile(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, FieldError]]:
    """Profile fields trimmed (empty optional ones to None) and the errors per field."""
    out: dict[str, Any] = {}
    errors: dict[str, FieldError] = {}
    for key, raw in values.items():
        value = raw.strip() if isinstance(raw, str) else raw
        out[key] = value if value or key == "display_name" else None
    if len(out.get("display_name") or "") > 200:
        errors["display_name"] = FieldError(
            "Must be at most 200 characters.", "form.maxLength", field="display_name", limit=200
        )
    email = out.get("email")
    if email and (len(email) > 320 or not _EMAIL.fullmatch(email)):
        errors["email"] = FieldError(
            f"{email!r} is not an e-mail address.", "user.email_invalid", field="email", value=email
        )
    locale = out.get("locale")
    if locale and locale not in identity.LOCALES:
        allowed = ", ".join(sorted(identity.LOCALES))
        errors["locale"] = FieldError(
            f"Choose one of: {allowed}.",
            "form.enum",
            field="locale",
            allowed=allowed,
            values=sorted(identity.LOCALES),
        )
    zone = out.get("time_zone")
    if zone and not valid_time_zone(zone):
        errors["time_zone"] = FieldError(
            f"{zone!r} is not a time zone such as Asia/Shanghai.",
            "user.time_zone_invalid",
            field="time_zone",
            value=zone,
        )
    return out, errors


def valid_time_zone(name: str) -> bool:
    """Is ``name`` an IANA time zone this system knows (``Europe/Berlin``, ``UTC``)?"""
    if len(name) > 64:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _password_problem(password: str | None) -> FieldError | None:
    if not password or len(password) < MIN_PASSWORD:
        return FieldError(
            f"Must be at least {MIN_PASSWORD} characters.",
            "form.minLength",
            field="password",
            limit=MIN_PASSWORD,
        )
    if len(password) > 256:
        return FieldError(
            "Must be at most 256 characters.", "form.maxLength", field="password", limit=256
        )
    return None
