"""What a demo install (``pmoflow init --demo``) tells people: who the demo users are and,
on each one's start page, what to try first.

Shown only when the install is marked as a demo (``g.install.demo``, read before each
page); a production install never lists accounts on its sign-in page.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, url_for
from flask_babel.speaklater import LazyString

from webui.i18n import lazy_gettext as _l
from workflows.roles import DEMO_USERS

#: The demo users' password (``pmoflow/seed.py`` sets it; shown only on demo installs).
DEMO_PASSWORD = "demo"

#: What each role does, in one line, for the sign-in page.
ROLE_DOES: dict[str, LazyString] = {
    "pm": _l("Proposes projects, reports status, closes them."),
    "sponsor": _l("Signs off the acceptance of their projects."),
    "pmo_reviewer": _l("Checks proposals are complete before they go for approval."),
    "pmo_head": _l("Approves proposals, decides escalations, watches the portfolio."),
    "finance": _l("Approves the budget of proposals."),
    "steering": _l("Votes on large projects in the steering committee."),
    "team": _l("Works on projects: raises risks and records lessons."),
    "process_owner": _l("Edits and deploys the process diagrams and rules."),
    "pmo_admin": _l("Manages users, the calendar and the install."),
}


@dataclass(frozen=True)
class DemoUser:
    """One line of the sign-in page's list."""

    username: str
    name: str
    does: str


@dataclass(frozen=True)
class FirstStep:
    """What a demo user should try first: a sentence and a link."""

    text: str
    link_text: str
    url: str


def is_demo() -> bool:
    """True on an install marked as a demo or test install."""
    status = g.get("install")
    return bool(status and status.demo)


def demo_users() -> list[DemoUser]:
    """The demo users with what each does (empty unless this is a demo install)."""
    if not is_demo():
        return []
    return [DemoUser(u, name, str(ROLE_DOES.get(roles[0], ""))) for u, (name, roles)
            in DEMO_USERS.items()]


def first_step(roles: tuple[str, ...]) -> FirstStep | None:
    """The first thing to try for someone holding ``roles`` (``None`` off a demo install)."""
    if not is_demo():
        return None
    if "pmo_admin" in roles:
        return FirstStep(str(_l("As the administrator, look at the users and their roles "
                                "first, then the calendar.")),
                         str(_l("Open the administration")), url_for("admin.index"))
    if "pm" in roles:
        return FirstStep(str(_l("As a project manager, start by proposing a project: "
                                "start a Project approval request.")),
                         str(_l("Start a proposal")), url_for("processes.index"))
    if "pmo_head" in roles:
        return FirstStep(str(_l("As the PMO head, look at the portfolio, then at what waits "
                                "for your approval in your inbox.")),
                         str(_l("Open the portfolio")), url_for("portfolio.index"))
    if "process_owner" in roles:
        return FirstStep(str(_l("As a process owner, open the process library to see and "
                                "edit the diagrams.")),
                         str(_l("Open the library")), url_for("library.index"))
    return FirstStep(str(_l("Open your inbox: the steps waiting for your roles are there. "
                            "Claim one and work on it.")),
                     str(_l("Open your inbox")), url_for("inbox.index", tab="claimable"))
