"""The lessons library: search in English and Chinese, filter by category and tag.

Search terms are highlighted in the excerpts: the text is split around the matches and
every piece is HTML-escaped, so a lesson's text never becomes markup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from flask import Blueprint, render_template, request
from flask_login import login_required
from markupsafe import Markup, escape

from webui.context import bpm, username
from webui.extensions import db
from webui.paging import Paging, page_arg
from webui.portfolio import choice
from workflows.records import pages as pmo_pages
from workflows.records.vocab import LESSON_CATEGORIES

bp = Blueprint("lessons", __name__)

PER_PAGE = 20
EXCERPT = 240


def _pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
    words = sorted({t for t in terms if t}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, words)), re.IGNORECASE) if words else None


def highlight(text: str | None, terms: Sequence[str]) -> Markup:
    """``text`` escaped, each occurrence of a term (any case) wrapped in ``<mark>``."""
    text = text or ""
    pattern = _pattern(terms)
    if pattern is None:
        return escape(text)
    out, at = Markup(""), 0
    for found in pattern.finditer(text):
        out += escape(text[at:found.start()]) + Markup("<mark>%s</mark>") % found.group()
        at = found.end()
    return out + escape(text[at:])


def excerpt(text: str | None, terms: Sequence[str], width: int = EXCERPT) -> Markup:
    """About ``width`` characters of ``text`` around the first match, highlighted."""
    text = " ".join((text or "").split())
    if len(text) <= width:
        return highlight(text, terms)
    pattern = _pattern(terms)
    found = pattern.search(text) if pattern else None
    start = max(0, found.start() - width // 3) if found else 0
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))
    head = "…" if start else ""
    tail = "…" if end < len(text) else ""
    return Markup(head) + highlight(text[start:end], terms) + Markup(tail)


@bp.app_template_filter("highlight")
def _highlight(text: str | None, terms: Sequence[str]) -> Markup:
    return highlight(text, terms)


@bp.app_template_filter("excerpt")
def _excerpt(text: str | None, terms: Sequence[str], width: int = EXCERPT) -> Markup:
    return excerpt(text, terms, width)


@bp.get("/lessons")
@login_required
def index():
    """Search the library (every term must occur); an empty search lists the newest."""
    f = {"q": request.args.get("q", "").strip()[:200],
         "category": choice("category", LESSON_CATEGORIES),
         "tag": request.args.get("tag", "").strip().lower()[:100],
         "all": request.args.get("all") in ("1", "on")}
    page_no = page_arg()
    library = pmo_pages.lesson_library(db.session, username(), bpm().clock.now(),
                                       query=f["q"],
                                       category=f["category"], tag=f["tag"],
                                       published_only=not f["all"], limit=PER_PAGE,
                                       offset=(page_no - 1) * PER_PAGE)
    return render_template("lessons.html", library=library, f=f,
                           categories=LESSON_CATEGORIES,
                           paging=Paging(page_no, PER_PAGE, library.total))


@bp.get("/lessons/<dbid:lesson_id>")
@login_required
def show(lesson_id: int):
    """One lesson in full (unpublished ones for the PMO only)."""
    terms = request.args.get("q", "").split()[:10]
    page = pmo_pages.open_lesson(bpm(), db.session, lesson_id, username())
    return render_template("lessons_detail.html", page=page, terms=terms)
