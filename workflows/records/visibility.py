"""The need-to-know policy (:mod:`engine.access`) applied to the PMO records.

The engine owns the rule (who sees which projects and requests); this module only says
which columns of each record it reads: a project names its PM and sponsor, a risk its
raiser and owner, an escalation its raiser, a lesson its author, and each record the
request that made it.  Every reader of the records (pages, search, the API) filters its
lists with these conditions and checks one record with :func:`require`, which asks the
same condition about that one row, so a list and a page never disagree.  Published
lessons are for everyone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from engine import access
from engine.errors import NotFound
from workflows.records.models import Escalation, Lesson, Project, Risk


def _named_projects(username: str) -> Any:
    """Ids of the projects whose record names ``username`` (PM or sponsor)."""
    return select(Project.id).where(or_(Project.pm == username, Project.sponsor == username))


def projects(session: Session, username: str) -> ColumnElement[bool]:
    """The projects ``username`` may see (a condition on ``projects``)."""
    return access.project_filter(session, username, Project.id, Project.pm, Project.sponsor)


def risks(session: Session, username: str, now: datetime) -> ColumnElement[bool]:
    """The risks ``username`` may see (a condition on ``risks``)."""
    return access.record_filter(session, username, now, Risk.project_id, Risk.instance_id,
                                Risk.raised_by, Risk.owner,
                                projects=_named_projects(username))


def escalations(session: Session, username: str, now: datetime) -> ColumnElement[bool]:
    """The escalations ``username`` may see (a condition on ``escalations``): those of a
    visible project or request, and those that name a visible project as affected (its
    PM is told of the decision)."""
    seen = access.record_filter(session, username, now, Escalation.project_id,
                                Escalation.instance_id, Escalation.raised_by,
                                projects=_named_projects(username))
    if access.sees_everything(session, username):
        return seen
    visible = select(Project.id).where(projects(session, username))
    if session.connection().dialect.name == "postgresql":
        each = func.jsonb_array_elements_text(
            Escalation.affected_project_ids.cast(JSONB)).table_valued("value")
        named = each.c.value.cast(Integer).in_(visible)
    else:
        each = func.json_each(Escalation.affected_project_ids).table_valued("value")
        named = each.c.value.in_(visible)
    return or_(seen, exists(select(literal(1)).select_from(each).where(named)))


def lessons(session: Session, username: str, now: datetime) -> ColumnElement[bool]:
    """The lessons ``username`` may see: every published one, and the unpublished ones of
    what they may see (a condition on ``lessons``)."""
    return or_(Lesson.published.is_(True),
               access.record_filter(session, username, now, Lesson.project_id,
                                    Lesson.instance_id, Lesson.author,
                                    projects=_named_projects(username)))


def require(session: Session, model: Any, record_id: int, condition: ColumnElement[bool]
            ) -> None:
    """:class:`NotFound` for an unknown ``record_id``, :class:`engine.errors.Forbidden`
    (``access.no_access``) when ``condition`` (one of the functions above) excludes it."""
    if session.get(model, record_id) is None:
        raise NotFound(f"No {model.__tablename__[:-1]} with id {record_id}.")
    if session.scalar(select(model.id).where(model.id == record_id, condition)) is None:
        raise access.no_access(record=model.__tablename__, record_id=record_id)
