"""Lessons learned: collected at closure, curated by the PMO, published in the library.

Lesson data (task-data JSON, one team member's answer)::

    {"title": "...", "category": "supplier", "tags": ["api", "联调"] or "api, 联调",
     "what_went_well": "...", "what_did_not": "...", "recommendation": "..."}

At least one of the three texts is required.  Tags are stored lower-cased.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from engine.errors import InvalidData, NotFound
from workflows.records.models import Lesson, LessonRead, Project
from workflows.records.projects import load_project
from workflows.records.search import lesson_filters, page
from workflows.records.validate import Fields
from workflows.records.views import LessonView
from workflows.records.vocab import LESSON_CATEGORIES

_TEXTS = ("what_went_well", "what_did_not", "recommendation")


def add_lesson(session: Session, project_id: int, data: Mapping[str, Any], *, author: str,
               now: datetime, instance_id: int | None = None) -> LessonView:
    """Store one lesson as it arrives (unpublished until curated)."""
    load_project(session, project_id)
    lesson = Lesson(project_id=project_id, author=author, published=False, created_at=now,
                    updated_at=now, instance_id=instance_id, **_read(data))
    session.add(lesson)
    session.flush()
    _reindex(session, lesson)
    return _views(session, [lesson])[0]


def curate_lessons(session: Session, *, publish_ids: Iterable[int] = (),
                   merges: Mapping[int, int] | None = None,
                   edits: Mapping[int, Mapping[str, Any]] | None = None, curator: str,
                   now: datetime, unpublish_ids: Iterable[int] = ()) -> list[LessonView]:
    """Apply the PMO's curation: edits, then merges (source id -> target id), then
    publication.  Returns every lesson touched, by id.

    A merged lesson disappears from the library; its text is searchable through the
    lesson it was merged into.  Errors name ``edits.<id>.<field>``, ``merges`` or
    ``publish_ids``.  Ids may be ints or digit strings (JSON object keys are strings).
    """
    merges = {_id(k, "merges"): _id(v, "merges") for k, v in (merges or {}).items()}
    edits = {_id(k, "edits"): v for k, v in (edits or {}).items()}
    publish = {_id(i, "publish_ids") for i in publish_ids}
    unpublish = {_id(i, "unpublish_ids") for i in unpublish_ids}
    ids = publish | unpublish | set(merges) | set(merges.values()) | set(edits)
    rows = {r.id: r for r in session.scalars(select(Lesson).where(Lesson.id.in_(ids)))}
    _check_known(rows, publish=publish, unpublish=unpublish, merges=merges, edits=edits)
    _apply_edits(rows, edits, now)
    touched = set(ids) | _apply_merges(session, rows, merges, now)
    hidden = sorted(i for i in publish if rows[i].merged_into_id is not None)
    if hidden:
        raise InvalidData({"publish_ids": f"Lesson {hidden[0]} is merged into "
                                          f"{rows[hidden[0]].merged_into_id}; publish that "
                                          "one instead."})
    for lesson_id in unpublish:
        rows[lesson_id].published, rows[lesson_id].published_at = False, None
    for lesson_id in publish:
        lesson = rows[lesson_id]
        if not lesson.published:
            lesson.published, lesson.published_at = True, now
    lessons = [session.get(Lesson, i) for i in sorted(touched)]
    for lesson in lessons:
        if lesson is not None:
            lesson.curated_by, lesson.curated_at, lesson.updated_at = curator, now, now
    session.flush()
    for lesson in lessons:
        if lesson is not None:
            _reindex(session, lesson)
    return _views(session, [lesson for lesson in lessons if lesson is not None])


def get_lesson(session: Session, lesson_id: int) -> LessonView:
    """One lesson; ``NotFound`` if there is none."""
    lesson = session.get(Lesson, lesson_id)
    if lesson is None:
        raise NotFound(f"No lesson with id {lesson_id}.")
    return _views(session, [lesson])[0]


def record_read(session: Session, lesson_id: int, username: str, at: datetime) -> bool:
    """Count ``username`` as a reader of the published lesson ``lesson_id`` (once per
    reader; the author reading their own lesson does not count).  True when this was the
    reader's first read.  Flushes; the caller commits."""
    lesson = session.get(Lesson, lesson_id)
    if lesson is None or not lesson.published or lesson.author == username:
        return False
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    added = session.scalar(insert(LessonRead).values(
        lesson_id=lesson_id, username=username, read_at=at).on_conflict_do_nothing(
        index_elements=["lesson_id", "username"]).returning(LessonRead.id))
    return added is not None


def read_counts(session: Session, lesson_ids: Iterable[int]) -> dict[int, int]:
    """How many people have read each of these lessons (ids without reads are absent)."""
    ids = list(lesson_ids)
    if not ids:
        return {}
    return {lid: int(n) for lid, n in session.execute(
        select(LessonRead.lesson_id, func.count()).where(LessonRead.lesson_id.in_(ids))
        .group_by(LessonRead.lesson_id))}


def search_lessons(session: Session, query: str | None, *, published_only: bool = True,
                   category: str | None = None, tag: str | None = None, limit: int = 50
                   ) -> list[LessonView]:
    """Lessons whose text holds every term of ``query`` (see :mod:`.search`).

    An empty query returns the most recent lessons with the same filters.  Merged
    lessons never appear on their own.  Newest first.
    """
    conds = lesson_filters(session, query=query, published_only=published_only,
                           category=category, tag=tag)
    limit, _ = page(limit, 0)
    rows = session.scalars(select(Lesson).where(*conds)
                           .order_by(Lesson.created_at.desc(), Lesson.id.desc()).limit(limit))
    return _views(session, list(rows))


def list_lessons(session: Session, *, project_id: int | None = None,
                 published_only: bool = False, category: str | None = None,
                 tag: str | None = None, query: str | None = None, limit: int = 50,
                 offset: int = 0, visible: ColumnElement[bool] | None = None
                 ) -> tuple[list[LessonView], int]:
    """Lessons (merged ones excluded), newest first, and the total for the filters."""
    conds = lesson_filters(session, query=query, published_only=published_only,
                           category=category, tag=tag, project_id=project_id)
    if visible is not None:  # the need-to-know condition (records.visibility)
        conds.append(visible)
    total = session.scalar(select(func.count()).select_from(Lesson).where(*conds)) or 0
    limit, offset = page(limit, offset)
    rows = session.scalars(select(Lesson).where(*conds)
                           .order_by(Lesson.created_at.desc(), Lesson.id.desc())
                           .limit(limit).offset(offset))
    return _views(session, list(rows)), total


# --------------------------------------------------------------------------- helpers


def _read(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    f = Fields(data, prefix=prefix)
    values: dict[str, Any] = {
        "title": f.text("title", required=False, max_len=300),
        "category": f.choice("category", LESSON_CATEGORIES),
        "tags": list(f.strings("tags", required=False, max_items=20, max_len=50,
                               lower=True)),
    }
    for name in _TEXTS:
        values[name] = f.text(name, required=False, max_len=10_000)
    if not any(values[name] for name in _TEXTS):
        f.error("what_went_well", "Write at least one of: what went well, what did not, "
                                  "recommendation.")
    f.check()
    return values


def _id(value: Any, field: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise InvalidData({field: f"{value!r} is not a lesson id."})


def _check_known(rows: Mapping[int, Lesson], *, publish: Collection[int],
                 unpublish: Collection[int], merges: Mapping[int, int],
                 edits: Mapping[int, Any]) -> None:
    errors: dict[str, str] = {}
    for field, wanted in (("edits", edits), ("merges", set(merges) | set(merges.values())),
                          ("publish_ids", publish), ("unpublish_ids", unpublish)):
        missing = sorted(i for i in wanted if i not in rows)
        if missing:
            errors[field] = f"No lesson with id {', '.join(map(str, missing))}."
    for source, target in merges.items():
        if source == target:
            errors["merges"] = f"Lesson {source} cannot be merged into itself."
        elif source in publish:
            errors["publish_ids"] = (f"Lesson {source} is merged into {target}; publish "
                                     f"{target} instead.")
    if errors:
        raise InvalidData(errors)


def _apply_edits(rows: Mapping[int, Lesson], edits: Mapping[int, Mapping[str, Any]],
                 now: datetime) -> None:
    errors: dict[str, str] = {}
    updates: dict[int, dict[str, Any]] = {}
    for lesson_id, change in edits.items():
        current = _data(rows[lesson_id])
        try:
            updates[lesson_id] = _read({**current, **dict(change)}, f"edits.{lesson_id}.")
        except InvalidData as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidData(errors)
    for lesson_id, values in updates.items():
        for key, value in values.items():
            setattr(rows[lesson_id], key, value)
        rows[lesson_id].updated_at = now


def _apply_merges(session: Session, rows: Mapping[int, Lesson], merges: Mapping[int, int],
                  now: datetime) -> set[int]:
    """Point every source (and what was merged into it) at its final target."""
    def root(lesson_id: int) -> int:
        seen = {lesson_id}
        while True:
            nxt = merges.get(lesson_id)
            if nxt is None:
                lesson = rows.get(lesson_id) or session.get(Lesson, lesson_id)
                nxt = lesson.merged_into_id if lesson is not None else None
            if nxt is None:
                return lesson_id
            if nxt in seen:
                raise InvalidData({"merges": f"Merging lesson {lesson_id} into {nxt} "
                                             "would make a cycle."})
            seen.add(nxt)
            lesson_id = nxt

    touched: set[int] = set()
    targets = {source: root(source) for source in merges}
    for source, target in targets.items():
        lesson = rows[source]
        if lesson.merged_into_id is not None:
            touched.add(lesson.merged_into_id)  # the old target loses this text
        lesson.merged_into_id, lesson.published, lesson.published_at = target, False, None
        lesson.updated_at = now
        touched.add(target)
        for child in session.scalars(select(Lesson).where(Lesson.merged_into_id == source)):
            child.merged_into_id = target
            touched.add(child.id)
    session.flush()
    return touched


def _reindex(session: Session, lesson: Lesson) -> None:
    """Recompute ``search_text`` from the lesson and the lessons merged into it."""
    parts = [_own_text(lesson)]
    parts += [_own_text(c) for c in session.scalars(
        select(Lesson).where(Lesson.merged_into_id == lesson.id).order_by(Lesson.id))]
    text = "\n".join(p for p in parts if p).lower()
    if lesson.search_text != text:
        lesson.search_text = text
        session.flush()


def _own_text(lesson: Lesson) -> str:
    parts = [lesson.title, " ".join(lesson.tags or ()), *(getattr(lesson, n) for n in _TEXTS)]
    return "\n".join(p for p in parts if p)


def _data(lesson: Lesson) -> dict[str, Any]:
    return {"title": lesson.title, "category": lesson.category, "tags": list(lesson.tags),
            **{n: getattr(lesson, n) for n in _TEXTS}}


def views(session: Session, lessons: Sequence[Lesson]) -> list[LessonView]:
    """Views of these lesson rows (project code and title, merged ids, read counts)."""
    return _views(session, lessons)


def _views(session: Session, lessons: Sequence[Lesson]) -> list[LessonView]:
    ids = [lesson.id for lesson in lessons]
    projects = {pid: (code, title) for pid, code, title in session.execute(
        select(Project.id, Project.code, Project.title)
        .where(Project.id.in_({lesson.project_id for lesson in lessons})))}
    merged: dict[int, list[int]] = {}
    for target, source in session.execute(
            select(Lesson.merged_into_id, Lesson.id).where(Lesson.merged_into_id.in_(ids))
            .order_by(Lesson.id)):
        merged.setdefault(target, []).append(source)
    reads = read_counts(session, ids)
    return [LessonView(
        id=r.id, project_id=r.project_id, project_code=projects[r.project_id][0],
        project_title=projects[r.project_id][1], author=r.author, title=r.title,
        category=r.category, tags=tuple(r.tags or ()), what_went_well=r.what_went_well,
        what_did_not=r.what_did_not, recommendation=r.recommendation,
        published=r.published, published_at=r.published_at, curated_by=r.curated_by,
        curated_at=r.curated_at, merged_into_id=r.merged_into_id, created_at=r.created_at,
        updated_at=r.updated_at, instance_id=r.instance_id,
        merged_ids=tuple(merged.get(r.id, ())), reads=reads.get(r.id, 0),
    ) for r in lessons]
