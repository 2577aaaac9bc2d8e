"""Marshmallow schemas of the PMO records (projects, risks, escalations, lessons)."""

from __future__ import annotations

from marshmallow import Schema, fields

from webui.api.schemas import page_of


def DecimalText(**kw) -> fields.Decimal:
    """An exact decimal sent as a string (`"1234.50"`), documented as one."""
    return fields.Decimal(as_string=True, metadata={"type": "string", "format": "decimal"},
                          **kw)


class MoneySchema(Schema):
    """An exact amount (decimal string) with its ISO currency."""

    amount = DecimalText(places=2, required=True)
    currency = fields.String(required=True)


class ProjectSchema(Schema):
    """A project in the portfolio."""

    id = fields.Integer(required=True)
    code = fields.String(allow_none=True)
    title = fields.String(required=True)
    business_case = fields.String()
    strategic_objective = fields.String()
    category = fields.String()
    budget = fields.Nested(MoneySchema, required=True)
    budget_reporting = fields.Nested(MoneySchema)
    planned_start = fields.Date()
    planned_end = fields.Date()
    actual_end = fields.Date(allow_none=True)
    actual_cost = fields.Nested(MoneySchema, allow_none=True)
    customer_satisfaction = fields.Integer(allow_none=True)
    expected_roi_pct = DecimalText()
    risk_rating = fields.String()
    departments = fields.List(fields.String())
    headcount = fields.Integer()
    pm = fields.String(required=True)
    sponsor = fields.String(required=True)
    stage = fields.String(required=True)
    approval_instance_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    approved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)


class RiskReviewSchema(Schema):
    """One reviewer's verdict at one level."""

    level = fields.Integer(required=True)
    reviewer = fields.String(required=True)
    outcome = fields.String(required=True)
    comment = fields.String()
    at = fields.DateTime(required=True)


class RiskSchema(Schema):
    """A risk register entry with its reviews."""

    id = fields.Integer(required=True)
    project_id = fields.Integer(required=True)
    project_code = fields.String(allow_none=True)
    title = fields.String(required=True)
    description = fields.String()
    category = fields.String()
    probability = fields.Integer()
    impact = fields.Integer()
    score = fields.Integer()
    level = fields.String(required=True)
    levels_required = fields.Integer()
    response = fields.String()
    contingency = fields.String()
    owner = fields.String()
    urgent = fields.Boolean()
    status = fields.String(required=True)
    decision = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_level = fields.Integer(allow_none=True)
    response_plan = fields.String(allow_none=True)
    close_reason = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    raised_by = fields.String()
    raised_at = fields.DateTime()
    instance_id = fields.Integer(allow_none=True)
    updated_at = fields.DateTime()
    reviews = fields.List(fields.Nested(RiskReviewSchema))


class EscalationSchema(Schema):
    """An escalation log entry."""

    id = fields.Integer(required=True)
    project_id = fields.Integer(required=True)
    project_code = fields.String(allow_none=True)
    affected_project_ids = fields.List(fields.Integer())
    title = fields.String(required=True)
    description = fields.String()
    kind = fields.String()
    severity = fields.String()
    tried = fields.String()
    needed_by = fields.Date(allow_none=True)
    status = fields.String(required=True)
    decision = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_level = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    raised_by = fields.String()
    raised_at = fields.DateTime()
    instance_id = fields.Integer(allow_none=True)
    reopen_count = fields.Integer()
    reopen_reason = fields.String(allow_none=True)
    updated_at = fields.DateTime()


class LessonSchema(Schema):
    """A lesson learned."""

    id = fields.Integer(required=True)
    project_id = fields.Integer(required=True)
    project_code = fields.String(allow_none=True)
    project_title = fields.String()
    author = fields.String()
    title = fields.String(required=True)
    category = fields.String()
    tags = fields.List(fields.String())
    what_went_well = fields.String()
    what_did_not = fields.String()
    recommendation = fields.String()
    published = fields.Boolean(required=True)
    published_at = fields.DateTime(allow_none=True)
    curated_by = fields.String(allow_none=True)
    curated_at = fields.DateTime(allow_none=True)
    merged_into_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    instance_id = fields.Integer(allow_none=True)
    merged_ids = fields.List(fields.Integer())
    reads = fields.Integer(metadata={"description": "How many people (not the author) "
                                                    "have opened it since it was published."})


ProjectPage = page_of(ProjectSchema, "ProjectPage")
RiskPage = page_of(RiskSchema, "RiskPage")
EscalationPage = page_of(EscalationSchema, "EscalationPage")
LessonPage = page_of(LessonSchema, "LessonPage")
