"""Single sign-on: people who sign in through an OpenID Connect provider.

The web layer runs the authorization code flow and validates the ID token; what it hands
in here is the token's claims, already trusted.  This module

- reads the claims it needs (:func:`claims_from_token`): issuer and subject identify the
  person for good, ``preferred_username`` (else the e-mail address) names them on first
  sign-in, ``name`` and ``email`` are kept up to date, the groups claim lists groups;
- links the provider's person to a PMOflow user by (issuer, subject) in
  ``sso_identities``, creating the user (active, no password) at the first sign-in;
  a username is never taken over: when the wanted one belongs to someone else a suffix
  is added;
- sets the user's SSO roles from the groups through the administrator's mapping
  (``sso_group_roles``): the roles the previous sign-in granted are replaced by the ones
  this sign-in's groups give; roles granted by hand stay;
- remembers groups nobody mapped (``sso_groups_seen``) for the administration page;
- refuses a deactivated user, and audits every sign-in, refusal and failure (kinds
  ``sso.*``, not administration changes) and every change to the mapping
  (``sso_mapping.*``, shown with the administration's changes).

Nothing here commits: the facade (:class:`engine.api.Engine`) runs each verb as one unit
of work, the audit rows in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine import admin_audit, identity
from engine.errors import FieldError, InvalidData, NotFound
from engine.store import rows
from engine.store.models import AuditEvent, Role, SsoGroupRole, SsoGroupSeen, SsoIdentity, User
from engine.views import AuditView, RoleView, UserView, audit_view

#: Longest group name kept (longer ones are ignored).
MAX_GROUP = 200
#: The actor audit rows name when nobody is signed in yet.
ANONYMOUS = "-"
_USERNAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


class ClaimsMissing(ValueError):
    """The ID token lacks a claim PMOflow needs (``claim`` names it)."""

    def __init__(self, claim: str) -> None:
        super().__init__(f"the ID token has no usable {claim!r} claim")
        self.claim = claim


@dataclass(frozen=True)
class SsoClaims:
    """What a validated ID token says about the person."""

    issuer: str
    subject: str
    #: The username wanted at the first sign-in (from ``preferred_username`` or e-mail).
    username: str
    display_name: str
    email: str | None
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class SsoSignIn:
    """The outcome of a sign-in: the user, or why they were refused."""

    user: UserView | None
    #: None when signed in; ``sso.user_inactive`` for a deactivated user.
    refused: str | None = None
    created: bool = False


@dataclass(frozen=True)
class SsoMappingView:
    """One row of the mapping: members of ``group`` hold ``role``."""

    id: int
    group: str
    role: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class SeenGroupView:
    """A group a sign-in named that no mapping row names."""

    group: str
    last_seen_at: datetime


@dataclass(frozen=True)
class SsoAdminPage:
    """The administration page of single sign-on."""

    mappings: list[SsoMappingView]
    roles: list[RoleView]
    unmapped: list[SeenGroupView]
    changes: list[AuditView]
    #: How many people have signed in through the provider.
    linked_users: int


# --------------------------------------------------------------------------- claims


def claims_from_token(claims: Mapping[str, Any], groups_claim: str = "groups") -> SsoClaims:
    """The parts of validated ID token claims PMOflow uses (:class:`ClaimsMissing` when
    ``iss``, ``sub`` or both ``preferred_username`` and ``email`` are absent).  A groups
    claim may be a list of names or one name; anything else counts as no groups."""
    issuer = _text(claims.get("iss"))
    subject = _text(claims.get("sub"))
    if not issuer:
        raise ClaimsMissing("iss")
    if not subject:
        raise ClaimsMissing("sub")
    email = _text(claims.get("email")) or None
    wanted = _username(_text(claims.get("preferred_username"))) or _username(email or "")
    if not wanted:
        raise ClaimsMissing("preferred_username")
    name = _text(claims.get("name")) or " ".join(
        p for p in (_text(claims.get("given_name")), _text(claims.get("family_name"))) if p
    )
    return SsoClaims(
        issuer=issuer[:500],
        subject=subject[:255],
        username=wanted,
        display_name=(name or wanted)[:200],
        email=email[:320] if email else None,
        groups=_groups(claims.get(groups_claim)),
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _username(wanted: str) -> str:
    """A valid PMOflow username from a provider's name or e-mail address."""
    if "@" in wanted:
        wanted = wanted.split("@", 1)[0]
    cleaned = _USERNAME_CHARS.sub("-", wanted).strip("-._")[:60]
    return cleaned if any(ch.isalnum() for ch in cleaned) else ""


def _groups(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    names = {g.strip() for g in items if isinstance(g, str) and 0 < len(g.strip()) <= MAX_GROUP}
    return tuple(sorted(names))


# --------------------------------------------------------------------------- sign-in


def sign_in(session: Session, now: datetime, claims: SsoClaims) -> SsoSignIn:
    """Sign in the person ``claims`` describe: link or create their user, refresh their
    profile and SSO roles, audit it; a deactivated user is refused (and audited)."""
    link = session.scalar(
        select(SsoIdentity).where(
            SsoIdentity.issuer == claims.issuer, SsoIdentity.subject == claims.subject
        )
    )
    _remember_groups(session, now, claims.groups)
    if link is None:
        user = identity.create_user(
            session,
            _free_username(session, claims.username),
            now=now,
            display_name=claims.display_name,
            email=claims.email,
        )
        link = SsoIdentity(
            issuer=claims.issuer,
            subject=claims.subject,
            username=user.username,
            sso_roles=[],
            created_at=now,
            last_sign_in_at=now,
        )
        session.add(link)
        _audit(
            session,
            now,
            "sso.user_created",
            user.username,
            claims,
            after={"display_name": user.display_name, "email": user.email},
        )
        created = True
    else:
        user = identity.get_user(session, link.username)
        created = False
    if not user.active:
        _audit(session, now, "sso.refused", user.username, claims, reason="inactive")
        return SsoSignIn(user=None, refused="sso.user_inactive")
    user.display_name, user.email = claims.display_name, claims.email or user.email
    before, after = _set_sso_roles(session, link, mapped_roles(session, claims.groups))
    link.last_sign_in_at = now
    session.flush()
    _audit(
        session,
        now,
        "sso.signed_in",
        user.username,
        claims,
        before={"roles": before},
        after={"roles": after, "groups": list(claims.groups)},
    )
    return SsoSignIn(user=identity.user_view(session, user), created=created)


def mapped_roles(session: Session, groups: Iterable[str]) -> frozenset[str]:
    """The roles the mapping gives members of ``groups``."""
    names = list(groups)
    if not names:
        return frozenset()
    return frozenset(
        session.scalars(select(SsoGroupRole.role_key).where(SsoGroupRole.group_name.in_(names)))
    )


def _set_sso_roles(
    session: Session, link: SsoIdentity, mapped: frozenset[str]
) -> tuple[list[str], list[str]]:
    held = identity.global_roles(session, link.username)
    by_hand = held - set(link.sso_roles or ())
    wanted = by_hand | mapped
    if wanted != held:
        identity.set_roles(session, link.username, wanted)
    link.sso_roles = sorted(mapped)
    return sorted(held), sorted(wanted)


def _free_username(session: Session, wanted: str) -> str:
    taken = set(
        session.scalars(
            select(User.username).where(
                (User.username == wanted) | User.username.startswith(f"{wanted}-")
            )
        )
    )
    candidate, n = wanted, 1
    while candidate in taken:
        n += 1
        candidate = f"{wanted}-{n}"
    return candidate


def _remember_groups(session: Session, now: datetime, groups: Iterable[str]) -> None:
    for name in groups:
        seen = session.get(SsoGroupSeen, name)
        if seen is None:
            session.add(SsoGroupSeen(group_name=name, last_seen_at=now))
        else:
            seen.last_seen_at = now
    session.flush()


def changes(session: Session, limit: int = 50) -> list[AuditView]:
    """Changes to the mapping, newest first."""
    found = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.instance_id.is_(None), AuditEvent.kind.startswith("sso_mapping."))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return [audit_view(r) for r in found]


def record_failure(
    session: Session, now: datetime, code: str, issuer: str, detail: str = ""
) -> None:
    """Audit a sign-in through the provider that failed before anyone was known (bad
    state, provider unreachable, a token that failed validation, missing claims)."""
    rows.audit(
        session,
        instance_id=None,
        at=now,
        actor=ANONYMOUS,
        kind="sso.failed",
        element_id=(issuer or "sso")[:200],
        reason=code,
        detail={"code": code, "detail": detail[:500]},
    )


def _audit(
    session: Session,
    now: datetime,
    kind: str,
    username: str,
    claims: SsoClaims,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    rows.audit(
        session,
        instance_id=None,
        at=now,
        actor=username,
        kind=kind,
        element_id=username,
        reason=reason,
        detail={
            "before": dict(before or {}),
            "after": {**(after or {}), "issuer": claims.issuer, "subject": claims.subject},
        },
    )


# --------------------------------------------------------------------------- administration


def admin_page(session: Session) -> SsoAdminPage:
    """The mapping, the roles one can map to, groups seen but not mapped, and changes."""
    found = session.scalars(
        select(SsoGroupRole).order_by(SsoGroupRole.group_name, SsoGroupRole.role_key)
    ).all()
    mapped = {r.group_name for r in found}
    seen = session.scalars(select(SsoGroupSeen).order_by(SsoGroupSeen.group_name))
    return SsoAdminPage(
        mappings=[
            SsoMappingView(r.id, r.group_name, r.role_key, r.created_by, r.created_at)
            for r in found
        ],
        roles=[RoleView(r.key, r.name, r.scope) for r in _roles(session)],
        unmapped=[
            SeenGroupView(s.group_name, s.last_seen_at) for s in seen if s.group_name not in mapped
        ],
        changes=changes(session),
        linked_users=session.scalar(select(func.count()).select_from(SsoIdentity)) or 0,
    )


def _roles(session: Session) -> list[Role]:
    return list(session.scalars(select(Role).order_by(Role.key)))


def add_mapping(session: Session, actor: str, now: datetime, group: str, role: str) -> None:
    """Let members of ``group`` hold ``role`` from their next sign-in (audited;
    idempotent)."""
    group = group.strip()
    errors: dict[str, FieldError] = {}
    if not group or len(group) > MAX_GROUP:
        errors["group"] = FieldError(
            f"Give the group's name as the provider sends it (1 to {MAX_GROUP} characters).",
            "sso.group_invalid",
            field="group",
        )
    if role not in identity.role_keys(session):
        errors["role"] = FieldError(
            f"Unknown role(s): {role}.", "role.unknown", field="role", role=role
        )
    if errors:
        raise InvalidData(errors)
    exists = session.scalar(
        select(SsoGroupRole.id).where(
            SsoGroupRole.group_name == group, SsoGroupRole.role_key == role
        )
    )
    if exists is not None:
        return
    session.add(SsoGroupRole(group_name=group, role_key=role, created_by=actor, created_at=now))
    session.flush()
    admin_audit.record(
        session,
        actor=actor,
        now=now,
        kind="sso_mapping.added",
        target=group,
        after={"group": group, "role": role},
    )


def remove_mapping(session: Session, actor: str, now: datetime, mapping_id: int) -> None:
    """Drop one mapping row (audited); members lose the role at their next sign-in."""
    row = session.get(SsoGroupRole, mapping_id)
    if row is None:
        raise NotFound(
            f"no group mapping {mapping_id}", code="sso.mapping_not_found", mapping_id=mapping_id
        )
    group, role = row.group_name, row.role_key
    session.execute(delete(SsoGroupRole).where(SsoGroupRole.id == mapping_id))
    admin_audit.record(
        session,
        actor=actor,
        now=now,
        kind="sso_mapping.removed",
        target=group,
        before={"group": group, "role": role},
    )
