"""Lessons library: collection, curation (edit, merge, publish) and search in English and
Chinese on SQLite (FTS5 trigram + LIKE) and PostgreSQL (pg_trgm + ILIKE)."""

from __future__ import annotations

import pytest

from engine.errors import InvalidData, NotFound
from tests.workflows.factories import approved_project
from workflows import records

ZH = "第三方接口联调花了三周"
EN = "Third-party interface debugging took three weeks"


@pytest.fixture
def library(session, people, clock):
    """Five lessons, all but ``draft`` published, newest last."""
    project = approved_project(session, clock, title="Billing platform")
    texts = {
        "zh": {"category": "supplier", "tags": "接口, 供应商", "what_did_not": ZH,
               "recommendation": "提前约定接口规范"},
        "en": {"category": "technical", "tags": ["API", "Vendor"], "what_did_not": EN,
               "recommendation": "Book the UI review early"},
        "pct": {"category": "quality", "what_went_well": "Reached 100% test coverage"},
        "snake": {"category": "process", "what_went_well": "Kept config_keys in one file"},
        "draft": {"category": "supplier", "what_did_not": "接口文档缺失 (unpublished)"},
    }
    made = {}
    for key, data in texts.items():
        clock.advance(minutes=1)
        made[key] = records.add_lesson(session, project.id, data, author="team1",
                                       now=clock.now(), instance_id=None)
    records.curate_lessons(session, publish_ids=[made[k].id for k in texts if k != "draft"],
                           merges={}, edits={}, curator="reviewer1", now=clock.now())
    return {k: v.id for k, v in made.items()}


def _ids(lessons):
    return [lesson.id for lesson in lessons]


@pytest.mark.parametrize(("query", "expected"), [
    ("接口联调", ["zh"]), ("接口", ["zh"]), ("联调", ["zh"]), ("三周", ["zh"]),
    ("interface", ["en"]), ("INTERFACE debug", ["en"]), ("Third-Party", ["en"]),
    ("ui", ["en"]), ("UI review", ["en"]), ("api", ["en"]), ("vendor", ["en"]),
    ("interface 接口", []), ("nothing-like-this", []), ("区块链", []), ("zz", []),
    ("%", ["pct"]), ("100%", ["pct"]), ("10_%", []), ("_", ["snake"]), ("g_k", ["snake"]),
    ("config_keys", ["snake"]), ("\\", []), ('"interface', []), ('interface"', []),
    ("NEAR(interface", []), ("*", []), ("interface AND", []),
    ("interface OR", ["en"]), ("-", ["en"]),
])
def test_search_terms(session, library, query, expected):
    found = records.search_lessons(session, query)
    assert _ids(found) == [library[k] for k in expected], query


def test_empty_query_lists_recent_published(session, library):
    for query in ("", "   ", None):
        found = records.search_lessons(session, query)
        assert _ids(found) == [library[k] for k in ("snake", "pct", "en", "zh")]
    assert len(records.search_lessons(session, "", limit=2)) == 2


def test_unpublished_hidden_unless_asked(session, library):
    assert _ids(records.search_lessons(session, "接口文档")) == []
    assert _ids(records.search_lessons(session, "接口", published_only=False)) == [
        library["draft"], library["zh"]]
    assert _ids(records.search_lessons(session, "unpublished", published_only=False)) == [
        library["draft"]]


def test_filters_by_category_and_tag(session, library):
    assert _ids(records.search_lessons(session, "接口", category="supplier",
                                       published_only=False)) == [library["draft"],
                                                                  library["zh"]]
    assert _ids(records.search_lessons(session, "", tag="VENDOR")) == [library["en"]]
    assert _ids(records.search_lessons(session, "", tag="供应商")) == [library["zh"]]
    assert _ids(records.search_lessons(session, "interface", tag="供应商")) == []


def test_edited_lesson_is_found_by_its_new_text(session, library, clock):
    lesson_id = library["en"]
    clock.advance(days=1)
    edited = records.curate_lessons(
        session, publish_ids=[], merges={}, curator="reviewer1", now=clock.now(),
        edits={lesson_id: {"recommendation": "Write contract tests for each vendor API",
                           "what_did_not": "Integration was late"}})
    assert edited[0].recommendation.startswith("Write contract tests")
    assert edited[0].curated_at == clock.now()
    assert _ids(records.search_lessons(session, "contract tests")) == [lesson_id]
    assert _ids(records.search_lessons(session, "interface")) == []
    assert _ids(records.search_lessons(session, "UI review")) == []


def test_merged_lesson_is_not_shown_separately(session, library, clock):
    target, source = library["zh"], library["draft"]
    result = records.curate_lessons(session, publish_ids=[target], merges={source: target},
                                    edits={}, curator="reviewer1", now=clock.now())
    by_id = {v.id: v for v in result}
    assert by_id[source].merged_into_id == target and not by_id[source].published
    assert by_id[target].merged_ids == (source,)
    # the merged text now finds the target, never the source
    assert _ids(records.search_lessons(session, "接口文档", published_only=False)) == [target]
    assert _ids(records.search_lessons(session, "接口", published_only=False)) == [target]
    rows, total = records.list_lessons(session)
    assert source not in _ids(rows) and total == 4


def test_merge_rules(session, library, clock):
    a, b, c = library["zh"], library["en"], library["draft"]
    records.curate_lessons(session, merges={c: b}, curator="reviewer1", now=clock.now())
    with pytest.raises(InvalidData) as err:
        records.curate_lessons(session, merges={b: c}, curator="reviewer1", now=clock.now())
    assert "merges" in err.value.errors  # c is already merged into b: a cycle
    with pytest.raises(InvalidData) as err:
        records.curate_lessons(session, merges={a: a}, curator="reviewer1", now=clock.now())
    assert "merges" in err.value.errors
    with pytest.raises(InvalidData) as err:
        records.curate_lessons(session, publish_ids=[a], merges={a: b},
                               curator="reviewer1", now=clock.now())
    assert "publish_ids" in err.value.errors
    with pytest.raises(InvalidData) as err:
        records.curate_lessons(session, publish_ids=[999_999], curator="reviewer1",
                               now=clock.now())
    assert "publish_ids" in err.value.errors
    with pytest.raises(InvalidData) as err:
        records.curate_lessons(session, unpublish_ids=["x"], curator="reviewer1",
                               now=clock.now())
    assert "unpublish_ids" in err.value.errors


def test_merging_a_target_moves_its_merged_lessons(session, library, clock):
    a, b, c = library["zh"], library["en"], library["pct"]
    # ids as they come from JSON task data: object keys are strings
    records.curate_lessons(session, merges={str(a): str(b)}, curator="reviewer1",
                           now=clock.now())
    records.curate_lessons(session, merges={b: c}, curator="reviewer1", now=clock.now())
    assert records.get_lesson(session, a).merged_into_id == c
    assert records.get_lesson(session, c).merged_ids == (a, b)
    assert _ids(records.search_lessons(session, "接口联调")) == [c]
    assert _ids(records.search_lessons(session, "interface")) == [c]


def test_unpublish(session, library, clock):
    records.curate_lessons(session, unpublish_ids=[library["zh"]], curator="reviewer1",
                           now=clock.now())
    assert _ids(records.search_lessons(session, "接口联调")) == []


def test_lesson_validation_names_fields(session, library, clock):
    project_id = records.get_lesson(session, library["zh"]).project_id
    with pytest.raises(InvalidData) as err:
        records.add_lesson(session, project_id, {"category": "luck", "tags": 5},
                           author="team1", now=clock.now())
    assert set(err.value.errors) == {"category", "tags", "what_went_well"}
    with pytest.raises(InvalidData) as err:
        records.curate_lessons(session, edits={library["zh"]: {"category": "luck"}},
                               curator="reviewer1", now=clock.now())
    assert set(err.value.errors) == {f"edits.{library['zh']}.category"}
    with pytest.raises(NotFound):
        records.add_lesson(session, 999_999, {"category": "other", "what_went_well": "x"},
                           author="team1", now=clock.now())


def test_list_lessons_by_project(session, library, people, clock):
    other = approved_project(session, clock, title="Other")
    mine = records.add_lesson(session, other.id, {"category": "cost",
                                                  "what_went_well": "Fixed-price deal"},
                              author="team2", now=clock.now())
    rows, total = records.list_lessons(session, project_id=other.id)
    assert total == 1 and rows[0].id == mine.id and rows[0].project_title == "Other"
    assert rows[0].project_code == other.code and rows[0].tags == ()
    assert records.list_lessons(session, published_only=True)[1] == 4
    assert records.list_lessons(session, query="fixed-price")[1] == 1
