"""The instance page: diagram with progress, data, audit trail, where it waits."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from engine import pages
from webui.context import bpm, locale, username
from webui.extensions import db
from webui.portfolio import project_labels, project_of
from webui.summary import project_ids, summarize

bp = Blueprint("instances", __name__)


@bp.get("/instances/<dbid:instance_id>")
@login_required
def show(instance_id: int):
    """One request, for its starter, the people on its tasks and the PMO."""
    page = pages.instance_page(bpm(), db.session, instance_id, username())
    summary = summarize(page.data, page.fields, locale(), page.directory,
                        project_labels(project_ids(page.data, page.fields)))
    return render_template("instance.html", page=page, summary=summary,
                           project=project_of(page.instance.project_id))
