"""The PMO's roles (from ``../shared/domain.md``) and who holds them in the demo."""

from __future__ import annotations

from engine.identity import RoleSpec

ROLES: tuple[RoleSpec, ...] = (
    RoleSpec("pm", "Project manager", "global",
             "Submits proposals, raises risks and escalations, closes projects."),
    RoleSpec("sponsor", "Project sponsor", "project",
             "Business owner of a project: signs off acceptance, level-1 risk reviewer."),
    RoleSpec("pmo_reviewer", "PMO reviewer", "global",
             "Completeness and standards checks, escalation triage, lessons curation."),
    RoleSpec("pmo_head", "PMO head", "global",
             "Approves within delegated authority, level-2 risk reviews, owns escalations."),
    RoleSpec("finance", "Finance controller", "global",
             "Budget review on large proposals, cost variance at closure."),
    RoleSpec("steering", "Steering committee", "global",
             "Level-3 risk decisions, large approvals, escalations the PMO cannot settle."),
    RoleSpec("team", "Project team member", "project", "Contributes lessons learned."),
    RoleSpec("process_owner", "Process owner", "global",
             "Edits and deploys BPMN diagrams."),
    RoleSpec("pmo_admin", "PMO administrator", "global",
             "Approval rules, SLAs, users and roles."),
)

#: username -> (display name, global roles). Every demo password is "demo".
DEMO_USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pm1": ("Li Wei (PM)", ("pm",)),
    "pm2": ("Sara Novak (PM)", ("pm",)),
    "sponsor1": ("Zhang Min (Sponsor)", ("sponsor",)),
    "reviewer1": ("Omar Haddad (PMO reviewer)", ("pmo_reviewer",)),
    "pmohead": ("Chen Jing (PMO head)", ("pmo_head",)),
    "finance1": ("Maria Rossi (Finance)", ("finance",)),
    "steer1": ("Wang Fang (Steering chair)", ("steering",)),
    "steer2": ("David Kim (Steering)", ("steering",)),
    "steer3": ("Aisha Bello (Steering)", ("steering",)),
    "team1": ("Liu Yang (Team)", ("team",)),
    "team2": ("Tom Berg (Team)", ("team",)),
    "team3": ("Nina Petrova (Team)", ("team",)),
    "owner1": ("Ravi Iyer (Process owner)", ("process_owner",)),
    "admin": ("PMO Administrator", ("pmo_admin", "process_owner")),
}


def demo_email(username: str) -> str:
    """A demo user's e-mail address (``example.com`` never receives mail)."""
    return f"{username}@example.com"
