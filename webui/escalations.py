"""The escalation log: issues raised above the PMs, their triage, decision and resolution."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from webui.context import bpm, username
from webui.extensions import db
from webui.paging import Paging, page_arg
from webui.portfolio import choice, id_arg
from workflows.records import pages as pmo_pages
from workflows.records.vocab import ESCALATION_KINDS, ESCALATION_STATUSES, SEVERITIES

bp = Blueprint("escalations", __name__)

PER_PAGE = 25


@bp.get("/escalations")
@login_required
def index():
    """The log, filtered by status, kind, severity and raising project."""
    f = {"status": choice("status", ESCALATION_STATUSES),
         "kind": choice("kind", ESCALATION_KINDS), "severity": choice("severity", SEVERITIES),
         "project": id_arg("project")}
    page_no = page_arg()
    log = pmo_pages.escalation_log(bpm(), db.session, username(), status=f["status"],
                                   kind=f["kind"],
                                   severity=f["severity"], project_id=f["project"],
                                   limit=PER_PAGE, offset=(page_no - 1) * PER_PAGE)
    return render_template("escalations.html", log=log, f=f, statuses=ESCALATION_STATUSES,
                           kinds=ESCALATION_KINDS, severities=SEVERITIES,
                           paging=Paging(page_no, PER_PAGE, log.total))


@bp.get("/escalations/<dbid:escalation_id>")
@login_required
def show(escalation_id: int):
    """One escalation: the issue, what was tried, the decision and the resolution."""
    page = pmo_pages.escalation_page(bpm(), db.session, escalation_id, username())
    return render_template("escalations_detail.html", page=page)
