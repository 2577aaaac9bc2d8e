"""Search in the lessons library, for English words and Chinese terms, on both databases.

The query is split on whitespace into terms; every term must occur (AND), as a
substring of the lesson's text, case-insensitively.  Chinese has no spaces between
words, so substring matching is what finds 接口联调 inside 第三方接口联调花了三周.

- SQLite: terms of 3+ characters go to the FTS5 table ``lessons_fts``
  (``tokenize='trigram'``, external content on ``lessons.search_text``, kept in step by
  triggers); shorter terms (接口, "ui") fall back to ``LIKE`` on ``lessons.search_text``.
- PostgreSQL: every term is ``search_text ILIKE '%term%'``; the trigram GIN index
  ``ix_lessons_search_trgm`` (pg_trgm) serves terms of 3+ characters, shorter ones scan.

User input never acts as a wildcard: ``%``, ``_`` and ``\\`` are escaped for LIKE, and
FTS terms are quoted as phrases.  An empty query lists the most recent lessons.  Results
are ordered newest first.
"""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    and_,
    column,
    exists,
    func,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from workflows.records.models import Lesson

#: Shortest term the trigram indexes can serve (FTS5 trigram / pg_trgm).
TRIGRAM = 3
MAX_TERMS = 10
MAX_TERM_CHARS = 100
MAX_PAGE = 500

#: The SQLite FTS5 table made by migration 0002 (not part of the ORM metadata).
_FTS = table("lessons_fts", column("rowid"))


def contains_pattern(term: str) -> str:
    """A ``LIKE`` pattern matching ``term`` anywhere, its wildcards escaped with ``\\``."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def fts_phrase(term: str) -> str:
    """``term`` as one FTS5 phrase (double quotes doubled), so no operator applies."""
    return '"' + term.replace('"', '""') + '"'


def split_terms(query: str | None) -> list[str]:
    """Lower-cased, de-duplicated whitespace-separated terms (at most ``MAX_TERMS``)."""
    terms = [t[:MAX_TERM_CHARS] for t in (query or "").lower().split()]
    return list(dict.fromkeys(terms))[:MAX_TERMS]


def page(limit: int, offset: int) -> tuple[int, int]:
    """``limit`` clamped to 1..MAX_PAGE, ``offset`` to 0 or more."""
    return max(1, min(int(limit), MAX_PAGE)), max(0, int(offset))


def text_conditions(session: Session, terms: list[str]) -> list[ColumnElement[bool]]:
    """One WHERE condition per term (SQLite FTS5 for long terms, else LIKE/ILIKE)."""
    if session.connection().dialect.name == "postgresql":
        return [Lesson.search_text.ilike(contains_pattern(t), escape="\\") for t in terms]
    conds: list[ColumnElement[bool]] = []
    long_terms = [t for t in terms if len(t) >= TRIGRAM]
    if long_terms:
        match = " AND ".join(fts_phrase(t) for t in long_terms)
        hits = select(_FTS.c.rowid).where(literal_column("lessons_fts").op("MATCH")(match))
        conds.append(Lesson.id.in_(hits))
    conds.extend(Lesson.search_text.like(contains_pattern(t), escape="\\")
                 for t in terms if len(t) < TRIGRAM)
    return conds


def tag_condition(session: Session, tag: str) -> ColumnElement[bool]:
    """Lessons carrying ``tag`` (tags are stored lower-cased)."""
    tag = tag.strip().lower()
    if session.connection().dialect.name == "postgresql":
        return Lesson.tags.cast(JSONB).contains([tag])
    each = func.json_each(Lesson.tags).table_valued("value")
    return exists(select(literal(1)).select_from(each).where(each.c.value == tag))


def lesson_filters(session: Session, *, query: str | None, published_only: bool,
                   category: str | None, tag: str | None,
                   project_id: int | None = None) -> list[ColumnElement[bool]]:
    """Every WHERE condition of a library search or list (merged lessons excluded)."""
    conds: list[ColumnElement[bool]] = [Lesson.merged_into_id.is_(None)]
    if published_only:
        conds.append(Lesson.published.is_(True))
    if category:
        conds.append(Lesson.category == category.strip().lower())
    if tag and tag.strip():
        conds.append(tag_condition(session, tag))
    if project_id is not None:
        conds.append(Lesson.project_id == project_id)
    terms = split_terms(query)
    if terms:
        conds.append(and_(*text_conditions(session, terms)))
    return conds
