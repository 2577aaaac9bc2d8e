"""The portfolio: every project by stage, one page per project, and the project picker.

Everyone signed in reads these pages (read-only; see :mod:`workflows.records.pages`).  Also the
words of the PMO records (stages, categories, levels, statuses) in the user's language,
shared by the risk, escalation and lessons pages.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from webui.context import bpm, username
from webui.extensions import db
from webui.i18n import lazy_gettext as _l
from webui.paging import Paging, page_arg
from workflows.records import pages as pmo_pages
from workflows.records.vocab import PROJECT_STAGES

bp = Blueprint("portfolio", __name__)

PER_PAGE = 25

LABELS: dict[str, dict[str, object]] = {
    "stage": {
        "Proposed": _l("Proposed"), "Initiation": _l("Initiation"),
        "Executing": _l("Executing"), "Closing": _l("Closing"), "Closed": _l("Closed"),
        "Rejected": _l("Rejected"), "Withdrawn": _l("Withdrawn"),
    },
    "category": {
        "it": _l("IT"), "construction": _l("Construction"), "rnd": _l("R&D"),
        "compliance": _l("Compliance"), "operations": _l("Operations"),
        "marketing": _l("Marketing"), "technical": _l("Technical"),
        "schedule": _l("Schedule"), "cost": _l("Cost"), "supplier": _l("Supplier"),
        "currency": _l("Currency risk"), "cultural": _l("Cultural"),
        "resource": _l("Resources"), "scope": _l("Scope"),
        "stakeholder": _l("Stakeholders"), "communication": _l("Communication"),
        "quality": _l("Quality"), "process": _l("Process"), "other": _l("Other"),
    },
    "level": {"low": _l("Low"), "medium": _l("Medium"), "high": _l("High"),
              "critical": _l("Critical")},
    "risk_status": {
        "under_review": _l("Under review"), "sent_back": _l("Sent back"),
        "accepted": _l("Accepted"), "closed": _l("Closed"),
    },
    "response": {"avoid": _l("Avoid"), "mitigate": _l("Mitigate"),
                 "transfer": _l("Transfer"), "accept": _l("Accept")},
    "review": {"approve": _l("Approved"), "send_back": _l("Sent back"),
               "escalate": _l("Escalated")},
    "kind": {
        "resource_conflict": _l("Resource conflict"),
        "priority_conflict": _l("Priority conflict"), "vendor": _l("Vendor"),
        "budget": _l("Budget"), "scope": _l("Scope"),
    },
    "esc_status": {
        "triage": _l("PMO triage"), "pmo": _l("With the PMO head"),
        "steering": _l("With the steering committee"), "handed_back": _l("Handed back"),
        "decided": _l("Decided"), "resolved": _l("Resolved"), "reopened": _l("Reopened"),
    },
    "decision_level": {"pmo": _l("PMO"), "steering": _l("Steering committee")},
    "process_status": {"running": _l("Running"), "completed": _l("Completed"),
                       "cancelled": _l("Withdrawn")},
}

#: Bootstrap colour per value (badges, chips, matrix cells).
TONES = {
    "Proposed": "secondary", "Initiation": "info", "Executing": "primary",
    "Closing": "warning", "Closed": "success", "Rejected": "danger", "Withdrawn": "light",
    "low": "success", "medium": "warning", "high": "danger", "critical": "dark",
    "under_review": "primary", "sent_back": "warning", "accepted": "success",
    "closed": "secondary", "triage": "primary", "pmo": "primary", "steering": "info",
    "handed_back": "warning", "decided": "success", "resolved": "secondary",
    "reopened": "danger", "approve": "success", "send_back": "warning", "escalate": "info",
}


def label(kind: str, value: object) -> str:
    """A record value (stage, category, level, status...) in the user's language."""
    if value is None or value == "":
        return ""
    found = LABELS.get(kind, {}).get(str(value))
    return str(found) if found is not None else str(value).replace("_", " ").capitalize()


def tone(value: object) -> str:
    """The badge colour of a value."""
    return TONES.get(str(value), "secondary")


def choice(name: str, allowed: Iterable[str]) -> str | None:
    """A query argument when it is one of ``allowed``, else None (bad values are ignored)."""
    value = request.args.get(name, "").strip()
    return value if value in set(allowed) else None


def id_arg(name: str) -> int | None:
    """A positive integer query argument, or None."""
    value = request.args.get(name, type=int)
    return value if value and value > 0 else None


def project_options(every: bool = False) -> list[pmo_pages.ProjectChoice]:
    """The projects the signed-in user may pick (for ``x-widget: project``); ``every``:
    all running projects (``x-projects: any``)."""
    if not getattr(current_user, "is_authenticated", False):
        return []
    return pmo_pages.project_choices(db.session, current_user.username, every=every)


def project_labels(ids: Iterable[object]) -> dict[int, str]:
    """``PRJ-2026-0001 — Title`` by project id, for the ids that name a project."""
    wanted = {i for i in ids if isinstance(i, int) and not isinstance(i, bool)}
    if not wanted:
        return {}
    return {i: c.label for i, c in pmo_pages.project_labels(db.session, wanted).items()}


def project_of(project_id: int | None) -> pmo_pages.ProjectChoice | None:
    """The project a request is about (code, title, stage), or None."""
    if project_id is None:
        return None
    return pmo_pages.project_labels(db.session, {project_id}).get(project_id)


@bp.app_template_global("vocab")
def _vocab(kind: str, value: object) -> str:
    return label(kind, value)


@bp.app_template_global("tone")
def _tone(value: object) -> str:
    return tone(value)


@bp.get("/portfolio")
@login_required
def index():
    """Projects by stage, PM, sponsor and text, with counts per stage."""
    f = {"stage": choice("stage", PROJECT_STAGES), "pm": request.args.get("pm", "").strip(),
         "sponsor": request.args.get("sponsor", "").strip(),
         "q": request.args.get("q", "").strip()[:200]}
    page_no = page_arg()
    page = pmo_pages.portfolio_page(db.session, username(), bpm().clock.now(),
                                    stage=f["stage"], pm=f["pm"] or None,
                                    sponsor=f["sponsor"] or None, q=f["q"] or None,
                                    limit=PER_PAGE, offset=(page_no - 1) * PER_PAGE)
    return render_template("portfolio.html", page=page, f=f, stages=PROJECT_STAGES,
                           paging=Paging(page_no, PER_PAGE, page.total))


@bp.get("/projects/<dbid:project_id>")
@login_required
def show(project_id: int):
    """One project: its record, stage history, requests, risks, escalations, lessons."""
    page = pmo_pages.project_page(bpm(), db.session, project_id, username())
    return render_template("project.html", page=page)
