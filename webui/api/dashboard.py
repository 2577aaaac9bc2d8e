"""The PMO dashboard's figures as JSON (the PMO head and the PMO administrator; others
403).  Each figure has `columns` and `rows` (the table view) and `chart` (the series the
page draws).  Impossible filters answer 422 naming the field."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from webui.api.auth import actor
from webui.api.blueprint import Blueprint
from webui.api.schemas import Strict
from webui.context import bpm
from webui.extensions import db
from workflows import insight

blp = Blueprint("api-dashboard", __name__, url_prefix="/api/v1",
                description="PMO dashboard figures (PMO head and PMO administrator)")


class DashboardArgs(Strict):
    """The period (dates, inclusive; default the last twelve months) and a project
    category."""

    start = fields.String(load_default="", validate=validate.Length(max=40),
                          metadata={"description": "First day, YYYY-MM-DD."})
    end = fields.String(load_default="", validate=validate.Length(max=40),
                        metadata={"description": "Last day, YYYY-MM-DD (default today)."})
    category = fields.String(load_default="", validate=validate.Length(max=40),
                             metadata={"description": "Only projects of this category."})
    department = fields.String(
        load_default="", validate=validate.Length(max=100),
        metadata={"description": "Only projects that involve this department (one of "
                                 "the departments the projects' proposals name)."})


class FigureSchema(ma.Schema):
    """One figure: its table (`columns`, `rows`) and its chart series."""

    name = fields.String(required=True)
    columns = fields.List(fields.String(), required=True)
    rows = fields.List(fields.List(fields.Raw()), required=True)
    chart = fields.Dict(keys=fields.String(), values=fields.Raw())


class FiltersSchema(ma.Schema):
    """The filters the figures were computed for."""

    start = fields.Date(required=True)
    end = fields.Date(required=True)
    category = fields.String(allow_none=True)
    department = fields.String(allow_none=True)


class DashboardSchema(ma.Schema):
    """Every figure, by name."""

    now = fields.DateTime(required=True)
    filters = fields.Nested(FiltersSchema, required=True)
    figures = fields.Dict(keys=fields.String(), values=fields.Nested(FigureSchema))


@blp.get("/dashboard")
@blp.arguments(DashboardArgs, location="query", as_kwargs=True)
@blp.response(200, DashboardSchema)
def get_dashboard(**filters):
    """Every dashboard figure."""
    return insight.read(bpm(), db.session, actor(), filters)


@blp.get("/dashboard/<figure>")
@blp.arguments(DashboardArgs, location="query", as_kwargs=True)
@blp.response(200, FigureSchema)
def get_figure(figure: str, **filters):
    """One figure: cycle_time, cycle_trend, steps, sla_by_role, wip, throughput,
    approval_routes, risk_grid, escalations or lessons."""
    return insight.read(bpm(), db.session, actor(), filters, [figure]).figures[figure]
