"""PMO records, read-only: the portfolio, the risk register, the escalation log and the
lessons library (search in English and Chinese).  Who sees what is
:mod:`engine.pmo_reads`' rule: every signed-in person reads projects, risks and
escalations; unpublished lessons only the PMO."""

from __future__ import annotations

from marshmallow import fields, validate

from webui.api.auth import actor
from webui.api.blueprint import Blueprint
from webui.api.paging import LINK_HEADER, page
from webui.api.records import (
    EscalationPage,
    EscalationSchema,
    LessonPage,
    LessonSchema,
    ProjectPage,
    ProjectSchema,
    RiskPage,
    RiskSchema,
)
from webui.api.schemas import MAX_ID, PageArgs
from webui.context import bpm
from webui.extensions import db
from workflows.records import pages as pmo_pages
from workflows.records import vocab

blp = Blueprint("api-pmo", __name__, url_prefix="/api/v1",
                description="PMO records: projects, risks, escalations, lessons (read)")


def _one_of(values) -> validate.OneOf:
    return validate.OneOf(tuple(values))


def _text(max_length: int = 200) -> fields.String:
    return fields.String(load_default=None, validate=validate.Length(max=max_length))


class ProjectArgs(PageArgs):
    """Portfolio filters; `q` searches code and title."""

    stage = fields.String(load_default=None, validate=_one_of(vocab.PROJECT_STAGES))
    pm = _text(64)
    sponsor = _text(64)
    q = _text()


class RiskArgs(PageArgs):
    """Risk register filters."""

    level = fields.String(load_default=None, validate=_one_of(vocab.RISK_LEVELS))
    category = fields.String(load_default=None, validate=_one_of(vocab.RISK_CATEGORIES))
    status = fields.String(load_default=None, validate=_one_of(vocab.RISK_STATUSES))
    project_id = fields.Integer(load_default=None, validate=validate.Range(1, MAX_ID))


class EscalationArgs(PageArgs):
    """Escalation log filters."""

    status = fields.String(load_default=None,
                           validate=_one_of(vocab.ESCALATION_STATUSES))
    kind = fields.String(load_default=None, validate=_one_of(vocab.ESCALATION_KINDS))
    severity = fields.String(load_default=None, validate=_one_of(vocab.SEVERITIES))
    project_id = fields.Integer(load_default=None, validate=validate.Range(1, MAX_ID))


class LessonArgs(PageArgs):
    """Lessons search: every term of `q` must match (Chinese terms too)."""

    q = _text()
    category = fields.String(load_default=None, validate=_one_of(vocab.LESSON_CATEGORIES))
    tag = _text(100)
    all = fields.Boolean(load_default=False, metadata={
        "description": "PMO roles: include unpublished lessons."})


@blp.get("/projects")
@blp.arguments(ProjectArgs, location="query", as_kwargs=True)
@blp.response(200, ProjectPage, headers=LINK_HEADER)
def list_projects(offset: int, limit: int, **filters):
    """The portfolio, newest first: the projects the caller may see (docs/access.md)."""
    found = pmo_pages.portfolio_page(db.session, actor(), bpm().clock.now(), limit=limit,
                                     offset=offset, **filters)
    return page(found.projects, found.total, offset, limit)


@blp.get("/projects/<dbid:project_id>")
@blp.response(200, ProjectSchema)
def get_project(project_id: int):
    """One project (403 `access.no_access` for one the caller may not see)."""
    return pmo_pages.project_page(bpm(), db.session, project_id, actor()).project


@blp.get("/risks")
@blp.arguments(RiskArgs, location="query", as_kwargs=True)
@blp.response(200, RiskPage, headers=LINK_HEADER)
def list_risks(offset: int, limit: int, **filters):
    """The risk register, highest score first: the risks the caller may see."""
    found = pmo_pages.risk_register(db.session, actor(), bpm().clock.now(), limit=limit,
                                    offset=offset, **filters)
    return page(found.risks, found.total, offset, limit)


@blp.get("/risks/<dbid:risk_id>")
@blp.response(200, RiskSchema)
def get_risk(risk_id: int):
    """One risk with its reviews (403 for one the caller may not see)."""
    return pmo_pages.risk_page(bpm(), db.session, risk_id, actor()).risk


@blp.get("/escalations")
@blp.arguments(EscalationArgs, location="query", as_kwargs=True)
@blp.response(200, EscalationPage, headers=LINK_HEADER)
def list_escalations(offset: int, limit: int, **filters):
    """The escalation log, newest first: the escalations the caller may see."""
    found = pmo_pages.escalation_log(bpm(), db.session, actor(), limit=limit, offset=offset,
                                     **filters)
    return page(found.escalations, found.total, offset, limit)


@blp.get("/escalations/<dbid:escalation_id>")
@blp.response(200, EscalationSchema)
def get_escalation(escalation_id: int):
    """One escalation (403 for one the caller may not see)."""
    return pmo_pages.escalation_page(bpm(), db.session, escalation_id, actor()).escalation


@blp.get("/lessons")
@blp.arguments(LessonArgs, location="query", as_kwargs=True)
@blp.response(200, LessonPage, headers=LINK_HEADER)
def list_lessons(offset: int, limit: int, q: str | None, category: str | None,
                 tag: str | None, all: bool):
    """Search the lessons library (published lessons; the PMO may ask for `all`)."""
    found = pmo_pages.lesson_library(db.session, actor(), bpm().clock.now(), query=q,
                                     category=category, tag=tag, published_only=not all,
                                     limit=limit,
                                     offset=offset)
    return page(found.lessons, found.total, offset, limit)


@blp.get("/lessons/<dbid:lesson_id>")
@blp.response(200, LessonSchema)
def get_lesson(lesson_id: int):
    """One lesson (an unpublished one only for those who may see its project)."""
    return pmo_pages.lesson_page(db.session, lesson_id, actor(), bpm().clock.now()).lesson
