"""The inbox: my tasks and the tasks open for my roles; claim, unclaim, delegate."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine import pages
from engine.api import TaskQuery
from engine.errors import InvalidData, NotFound
from webui.context import back, bpm, id_url, username
from webui.extensions import db
from webui.i18n import gettext as _
from webui.inbox_rows import inbox_rows
from webui.messages import field_message
from webui.paging import Paging, page_arg
from workflows.records import pages as pmo_pages

bp = Blueprint("inbox", __name__)

PER_PAGE = 25
#: The inbox counts a list up to this many tasks ("of 1000+"): 40 pages, and a page's
#: cost stays the same however many open tasks a role has.
COUNT_CAP = 1000
TABS = ("mine", "claimable")
SORTS = ("due", "created", "-created", "name")


@dataclass(frozen=True)
class Filters:
    """The inbox filters as the request gives them (bad values fall back to defaults)."""

    tab: str
    process: str
    role: str
    overdue: bool
    sort: str

    @property
    def active(self) -> bool:
        """True when anything narrows the list."""
        return bool(self.process or self.role or self.overdue)


def filters() -> Filters:
    """Read the filters from the query string."""
    args = request.args
    tab = args.get("tab", "mine")
    sort = args.get("sort", "due")
    return Filters(tab if tab in TABS else "mine", args.get("process", "").strip(),
                   args.get("role", "").strip(), args.get("overdue") in ("1", "on"),
                   sort if sort in SORTS else "due")


@bp.get("/tasks")
@login_required
def index():
    """One page of the inbox."""
    f = filters()
    paging_page = page_arg()
    query = TaskQuery(scope=f.tab, process_key=f.process or None, role=f.role or None,
                      overdue_only=f.overdue, sort=f.sort, limit=PER_PAGE,
                      offset=(paging_page - 1) * PER_PAGE, count_limit=COUNT_CAP)
    page = pages.inbox_page(bpm(), db.session, username(), query)
    projects = pmo_pages.project_labels(db.session, {t.project_id for t in page.tasks
                                                     if t.project_id is not None})
    rows = inbox_rows(page, id_url("tasks.show", "task_id"), claimable=f.tab == "claimable")
    return render_template("inbox.html", page=page, rows=rows, f=f, sorts=SORTS,
                           projects=projects, paging=Paging(paging_page, PER_PAGE, page.total,
                                         capped=page.total >= COUNT_CAP))


@bp.post("/tasks/<dbid:task_id>/claim")
@login_required
def claim(task_id: int):
    """Take a task from the role's pool and open it."""
    task = bpm().claim(db.session, task_id, username())
    flash(_("You have claimed “%(step)s”.", step=task.name), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<dbid:task_id>/unclaim")
@login_required
def unclaim(task_id: int):
    """Give a claimed task back to its role's pool."""
    task = bpm().unclaim(db.session, task_id, username())
    flash(_("“%(step)s” is back in the pool of its role.", step=task.name), "info")
    return back(url_for("inbox.index"))


@bp.post("/tasks/<dbid:task_id>/delegate")
@login_required
def delegate(task_id: int):
    """Hand a task to a named person, with a reason."""
    to_user = request.form.get("to_user", "").strip()
    reason = request.form.get("reason", "")
    try:
        task = bpm().delegate(db.session, task_id, username(), to_user, reason)
    except InvalidData as exc:
        for message in exc.errors.values():
            flash(field_message(message), "error")
        return redirect(url_for("tasks.show", task_id=task_id))
    except NotFound:
        flash(_("There is no user named “%(user)s”.", user=to_user), "error")
        return redirect(url_for("tasks.show", task_id=task_id))
    flash(_("“%(step)s” was handed to %(user)s.", step=task.name, user=to_user), "success")
    return redirect(url_for("inbox.index"))
