"""The PMO dashboard: where work waits, and whether the PMO is getting faster.

The PMO head and the PMO administrator read it (others get 403).  Every figure is a
chart, a table view and a CSV download, from :mod:`workflows.insight` (indexed tables
only).
"""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

from flask import Blueprint, Response, render_template, request
from flask_babel import get_locale
from flask_login import login_required

from engine.errors import Forbidden, InvalidData, NotFound
from webui.context import bpm, username
from webui.extensions import db
from webui.i18n import lazy_gettext as _l
from webui.messages import field_message, role_label
from webui.portfolio import label
from workflows import insight
from workflows.catalog import processes
from workflows.records.vocab import PROJECT_CATEGORIES

bp = Blueprint("dashboard", __name__)

#: Each figure's title, in page order.
TITLES = {
    "cycle_trend": _l("Cycle time by month (median days, by month finished)"),
    "cycle_time": _l("Cycle time per process"),
    "steps": _l("Waiting time and SLA breaches per step"),
    "sla_by_role": _l("SLA breaches by role"),
    "wip": _l("Work in progress and waiting age"),
    "throughput": _l("Throughput per month (completed)"),
    "approval_routes": _l("Approvals by route (decided in the period)"),
    "risk_grid": _l("Risks: probability × impact"),
    "escalations": _l("Open escalations by kind and age"),
    "lessons": _l("Lessons published and read"),
}
#: Approval routes in words.
ROUTES = {
    "pmo_head": _l("PMO head only"), "pmo_head + finance": _l("PMO head + finance"),
    "pmo_head + committee": _l("PMO head + committee"),
    "pmo_head + finance + committee": _l("PMO head + finance + committee"),
}
#: Column headings of the table views and CSV files.
COLUMNS = {
    "process": _l("Process"), "step": _l("Step"), "step_name": _l("Step name"),
    "completed": _l("Completed"), "running": _l("Running"), "month": _l("Month"),
    "median_days": _l("Median (days)"), "p90_days": _l("90th percentile (days)"),
    "median_working_days": _l("Median (working days)"),
    "p90_working_days": _l("90th percentile (working days)"),
    "sla_breaches": _l("SLA breaches"), "role": _l("Role"),
    "with_due_date": _l("With a due date"), "breached": _l("Breached"),
    "breached_pct": _l("Breached (%)"), "open": _l("Open"),
    "median_age_days": _l("Median age (days)"), "oldest_days": _l("Oldest (days)"),
    "overdue": _l("Overdue"), "started": _l("Started"), "route": _l("Route"),
    "approvals": _l("Approvals"), "category": _l("Category"), "level": _l("Level"),
    "risks": _l("Risks"), "kind": _l("Kind"), "age_days": _l("Age (days)"),
    "published": _l("Published"), "reads": _l("Reads"), "readers": _l("Readers"),
}
#: The query arguments the dashboard, its CSV files and its heatmap read.
FILTER_ARGS = ("start", "end", "category", "department")


def _read(only=None):
    raw = {k: request.args.get(k, "") for k in FILTER_ARGS}
    return insight.read(bpm(), db.session, username(), raw, only)


@bp.get("/dashboard")
@login_required
def index():
    """Every figure for the chosen period and category."""
    errors: list[str] = []
    board = None
    try:
        board = _read()
    except InvalidData as exc:
        errors = [field_message(m) for m in exc.errors.values()]
    names = {p.key: p for p in processes()}
    return render_template(
        "dashboard.html", board=board, errors=errors, titles=TITLES, columns=COLUMNS,
        categories=PROJECT_CATEGORIES, departments=insight.departments(db.session),
        args=request.args, process_names=names,
        record_label=label, routes=ROUTES, chart_data=_charts(board) if board else {},
        section="dashboard"), 422 if errors else 200


def _charts(board: insight.Dashboard) -> dict[str, dict[str, object]]:
    """What dashboard.js draws: per figure its type, labels and named series."""
    lang = str(get_locale() or "en")
    titles = {p.key: (p.title_zh if lang == "zh" else p.title_en) for p in processes()}

    def say(key: str) -> str:
        return titles.get(key) or str(COLUMNS.get(key, key))

    out: dict[str, dict[str, object]] = {}
    for name, fig in board.figures.items():
        chart = dict(fig.chart)
        if name == "sla_by_role":
            chart["labels"] = [role_label(str(v)) for v in chart["labels"]]
        elif name == "approval_routes":
            chart["labels"] = [str(ROUTES.get(str(v), v)) for v in chart["labels"]]
        elif name == "escalations":
            chart["labels"] = [label("kind", v) for v in chart["labels"]]
        elif "labels" in chart:
            chart["labels"] = [say(str(v)) for v in chart["labels"]]
        if "series" in chart:
            chart["series"] = {say(k): v for k, v in chart["series"].items()}  # type: ignore[union-attr]
        out[name] = chart
    return out


@bp.get("/dashboard/<name>.csv")
@login_required
def download(name: str):
    """One figure's table as CSV (UTF-8 with a byte-order mark, so Excel reads Chinese)."""
    if name not in insight.FIGURES:
        raise NotFound(f"no dashboard figure {name!r}", code="not_found")
    try:
        board = _read([name])
    except InvalidData as exc:
        text = "\n".join(field_message(m) for m in exc.errors.values())
        return Response(text + "\n", status=422, mimetype="text/plain")
    figure = board.figures[name]
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([str(COLUMNS.get(c, c)) for c in figure.columns])
    for row in figure.rows:
        writer.writerow(["" if v is None else v for v in row])
    f = board.filters
    tail = "".join(f"-{v}" for v in (f.category, f.department) if v)
    filename = f"pmoflow-{name}-{f.start}-{f.end}{tail}.csv"
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_"
                         for c in filename)
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; "
                             f"filename*=UTF-8''{quote(filename)}"})


def _version_arg() -> int | None:
    value = request.args.get("v", "")
    return int(value) if value.isdigit() and len(value) < 9 else None


@bp.get("/dashboard/heatmap/<key>")
@login_required
def heatmap(key: str):
    """One process version's diagram coloured by where work waits and how often each
    element and flow is passed."""
    raw = {k: request.args.get(k, "") for k in FILTER_ARGS}
    errors: list[str] = []
    heat = None
    try:
        heat = insight.read_heatmap(bpm(), db.session, username(), key, _version_arg(), raw)
    except InvalidData as exc:
        errors = [field_message(m) for m in exc.errors.values()]
    names = {p.key: p for p in processes()}
    data = {e: {"visits": h.visits, "completed": h.completed, "median": h.median_days,
                "p90": h.p90_days} for e, h in heat.elements.items()} if heat else {}
    return render_template("dashboard_heatmap.html", heat=heat, key=key, errors=errors,
                           heat_data=data, args=request.args, process_names=names,
                           section="dashboard"), 422 if errors else 200


@bp.get("/dashboard/heatmap/<key>/<dbid:version>/diagram.bpmn")
@login_required
def heatmap_diagram(key: str, version: int):
    """The version's XML for the heatmap's viewer (dashboard readers only)."""
    if not insight.may_read(db.session, username()):
        raise Forbidden("only the PMO head and the PMO administrator see the dashboard",
                        code="access.dashboard_only")
    response = Response(bpm().version_diagram(db.session, key, version), mimetype="text/plain")
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
