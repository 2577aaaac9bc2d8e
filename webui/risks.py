"""The risk register: every risk of every project, a category x level matrix, one risk."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from webui.context import bpm, username
from webui.extensions import db
from webui.paging import Paging, page_arg
from webui.portfolio import choice, id_arg
from workflows.records import pages as pmo_pages
from workflows.records.vocab import RISK_CATEGORIES, RISK_LEVELS, RISK_STATUSES

bp = Blueprint("risks", __name__)

PER_PAGE = 25


@bp.get("/risks")
@login_required
def index():
    """The register, filtered by level, category, status and project."""
    f = {"level": choice("level", RISK_LEVELS), "category": choice("category", RISK_CATEGORIES),
         "status": choice("status", RISK_STATUSES), "project": id_arg("project")}
    page_no = page_arg()
    register = pmo_pages.risk_register(db.session, username(), bpm().clock.now(),
                                       level=f["level"], category=f["category"],
                                       status=f["status"], project_id=f["project"],
                                       limit=PER_PAGE, offset=(page_no - 1) * PER_PAGE)
    return render_template("risks.html", register=register, f=f, levels=RISK_LEVELS,
                           categories=RISK_CATEGORIES, statuses=RISK_STATUSES,
                           paging=Paging(page_no, PER_PAGE, register.total))


@bp.get("/risks/<dbid:risk_id>")
@login_required
def show(risk_id: int):
    """One risk: its assessment, the decision and the review at each level."""
    return render_template("risks_detail.html",
                           page=pmo_pages.risk_page(bpm(), db.session, risk_id, username()))
