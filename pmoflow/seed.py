"""Schema set-up, the first admin, and the demo data behind ``pmoflow init --demo``."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import identity
from engine.errors import InvalidDiagram
from engine.store.models import User
from engine.store.uow import unit_of_work
from pmoflow.wiring import Runtime, collect_files
from workflows.catalog import demo_seeders
from workflows.records.schema import upgrade_all
from workflows.roles import DEMO_USERS, ROLES, demo_email

DEMO_PASSWORD = "demo"


def upgrade_schema(rt: Runtime, log: Callable[[str], None] = print) -> None:
    """Create or upgrade every table (Alembic): the engine's, then the PMO records'; then
    summarise the finished work for the dashboard if an upgrade added the summary."""
    upgrade_all(rt.db)
    with rt.sessions() as session:
        def progress(what: str, n: int) -> None:
            log(f"  dashboard summary: {n:,} rows read ({what})")

        read = rt.engine.rebuild_insight(session, only_if_needed=True, progress=progress)
        if read is not None:
            log(f"Dashboard summary built from {read:,} instances and tasks.")


def ensure_roles(session: Session) -> None:
    """Create the PMO roles (idempotent)."""
    with unit_of_work(session):
        identity.ensure_roles(session, ROLES)


def seed_admin(rt: Runtime, session: Session) -> str | None:
    """Create user ``admin`` with a generated password if there are no users yet."""
    ensure_roles(session)
    with unit_of_work(session):
        if session.scalar(select(func.count()).select_from(User)):
            return None
        password = secrets.token_urlsafe(12)
        identity.create_user(session, "admin", now=rt.engine.clock.now(), password=password,
                             display_name="Administrator", roles=["pmo_admin", "process_owner"])
        return password


def seed_demo(rt: Runtime, session: Session, log: Callable[[str], None] = print) -> None:
    """Demo users (password "demo"), every process in ``bpmn/`` deployed, demo data."""
    seed_demo_people(rt, session, log)
    deploy_dir(rt, session, log)
    for seeder in demo_seeders():  # each commits its own records
        seeder(rt.engine, session, rt.engine.clock.now())
    log("demo records ready")


def seed_demo_people(rt: Runtime, session: Session, log: Callable[[str], None] = print) -> None:
    """The PMO roles and the demo users (password "demo"); existing users stay as they are."""
    ensure_roles(session)
    with unit_of_work(session):
        existing = set(session.scalars(select(User.username)))
        for username, (name, roles) in DEMO_USERS.items():
            if username in existing:
                continue
            identity.create_user(session, username, now=rt.engine.clock.now(),
                                 password=DEMO_PASSWORD, display_name=name, roles=roles,
                                 email=demo_email(username))
    log(f"demo users ready ({len(DEMO_USERS)}), password '{DEMO_PASSWORD}'")


def deploy_dir(rt: Runtime, session: Session, log: Callable[[str], None] = print) -> None:
    """Deploy everything under the configured ``bpmn/`` folder."""
    bpmn_dir = rt.config.bpmn_dir
    files = collect_files([str(bpmn_dir)]) if bpmn_dir.exists() else []
    if not any(f.name.endswith((".bpmn", ".dmn")) for f in files):
        log(f"no diagrams in {bpmn_dir}")
        return
    try:
        result = rt.engine.deploy(session, files, actor="admin")
    except InvalidDiagram as exc:
        for problem in exc.problems:
            log(str(problem))
        raise
    for d in result.decisions:
        log(f"deployed decision {d.key} v{d.version}")
    for p in result.processes:
        log(f"deployed process {p.key} v{p.version}")
    if result.unchanged:
        log(f"unchanged: {', '.join(result.unchanged)}")
