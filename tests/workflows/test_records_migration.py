"""Migration 0002: tables match the models, search objects exist, downgrade/upgrade work."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text

from engine.store.db import make_engine, make_sessionmaker
from engine.store.models import Base
from engine.store.schema import alembic_config, current_revision, upgrade
from engine.store.uow import unit_of_work
from tests.conftest import PG_BASE
from tests.workflows.factories import approved_project
from workflows import records
from workflows.records import models
from workflows.records.models import Lesson
from workflows.records.search import text_conditions

RECORD_TABLES = {"projects", "project_stage_changes", "code_sequences", "risks",
                 "risk_reviews", "escalations", "lessons"}
SEARCH_INDEXES = {"ix_lessons_search_trgm", "ix_projects_title_trgm"}
FTS_TRIGGERS = {"lessons_fts_ai", "lessons_fts_ad", "lessons_fts_au"}


def _migrate(engine, revision: str, *, down: bool = False) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    if type_ == "table":
        return name in RECORD_TABLES
    table = getattr(obj, "table", None)
    return table is not None and table.name in RECORD_TABLES


def test_models_and_migration_agree(db):
    """Autogenerate finds nothing to change in our tables; the search objects made by the
    migration are hidden by ``models.include_name``."""
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "include_object": _ours, "include_name": models.include_name,
            "compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []
    assert set(models.Base.metadata.tables) >= RECORD_TABLES


def test_search_objects_exist(db):
    with db.engine.connect() as conn:
        if db.kind == "sqlite":
            rows = dict(conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE name LIKE 'lessons_fts%'").all())
            assert "fts5" in rows["lessons_fts"] and "trigram" in rows["lessons_fts"]
            assert set(rows) >= FTS_TRIGGERS
        else:
            assert conn.exec_driver_sql(
                "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").scalar() == 1
            defs = dict(conn.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(:n) "
                "AND schemaname = current_schema()"), {"n": list(SEARCH_INDEXES)}).all())
            assert set(defs) == SEARCH_INDEXES
            assert all("gin" in d and "gin_trgm_ops" in d for d in defs.values())


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_trigram_index_serves_the_search_condition_on_postgres(db, session, people, clock):
    """EXPLAIN the condition search_lessons sends (``ILIKE ... ESCAPE``, as bound by
    SQLAlchemy): the GIN trigram index can answer it.  (Whether the planner uses it on a
    given table is its cost decision; with sequential scans off it must be usable.)"""
    project = approved_project(session, clock)
    records.add_lesson(session, project.id, {"category": "other", "what_went_well": "接口联调"},
                       author="team1", now=clock.now())
    session.execute(text("SET LOCAL enable_seqscan = off"))
    stmt = select(Lesson.id).where(*text_conditions(session, ["接口联调", "ui"]))
    assert len(session.execute(stmt).all()) == 0
    compiled = stmt.compile(dialect=session.connection().dialect)
    plan = "\n".join(session.connection().exec_driver_sql(
        "EXPLAIN " + str(compiled), compiled.params).scalars())
    assert "Bitmap Index Scan on ix_lessons_search_trgm" in plan, plan


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_fts_stays_in_step_with_lessons_on_sqlite(db, session, people, clock):
    project = approved_project(session, clock)
    lesson = records.add_lesson(session, project.id, {"category": "other",
                                                      "what_went_well": "old words here"},
                                author="team1", now=clock.now())

    def hits(phrase: str) -> list[int]:
        return list(session.execute(text(
            "SELECT rowid FROM lessons_fts WHERE lessons_fts MATCH :q"), {"q": phrase}
        ).scalars())

    assert hits('"old words"') == [lesson.id]
    session.execute(text("UPDATE lessons SET search_text = 'new text' WHERE id = :i"),
                    {"i": lesson.id})
    assert hits('"old words"') == [] and hits('"new text"') == [lesson.id]
    session.execute(text("INSERT INTO lessons_fts(lessons_fts) VALUES ('integrity-check')"))
    session.execute(text("DELETE FROM lessons WHERE id = :i"), {"i": lesson.id})
    assert hits('"new text"') == []
    session.execute(text("INSERT INTO lessons_fts(lessons_fts) VALUES ('integrity-check')"))


def test_downgrade_and_upgrade_0002_on_sqlite(tmp_path, clock):
    engine = make_engine(f"sqlite:///{tmp_path / 'mig.db'}")
    try:
        upgrade(engine, "0002")
        assert current_revision(engine) == "0002"
        _migrate(engine, "0001", down=True)
        assert current_revision(engine) == "0001"
        with engine.connect() as conn:
            left = set(inspect(conn).get_table_names()) & (RECORD_TABLES | {"lessons_fts"})
            triggers = conn.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").scalar()
        assert left == set() and triggers == 0
        upgrade(engine, "0002")
        assert current_revision(engine) == "0002"
        _lesson_round_trip(engine, clock)
        upgrade(engine)  # later migrations still apply on top
    finally:
        engine.dispose()


def test_downgrade_and_upgrade_0002_on_postgres(postgres_db, clock):
    schema = f"pmoflow_mig_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_BASE else "?"
    engine = make_engine(f"{PG_BASE}{sep}options=-csearch_path%3D{schema}")
    try:
        upgrade(engine, "0002")
        _migrate(engine, "0001", down=True)
        with engine.connect() as conn:
            assert not set(inspect(conn).get_table_names()) & RECORD_TABLES
            assert conn.exec_driver_sql("SELECT count(*) FROM pg_indexes WHERE indexname "
                                        "LIKE '%trgm' AND schemaname = current_schema()"
                                        ).scalar() == 0
        upgrade(engine, "0002")
        _lesson_round_trip(engine, clock)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _lesson_round_trip(engine, clock) -> None:
    from engine import identity

    with make_sessionmaker(engine)() as session, unit_of_work(session):
        identity.create_user(session, "sponsor1", now=clock.now())
        project = approved_project(session, clock)
        lesson = records.add_lesson(session, project.id, {"category": "supplier",
                                                          "what_did_not": "第三方接口联调花了三周"},
                                    author="team1", now=clock.now())
        found = records.search_lessons(session, "接口联调", published_only=False)
        assert [x.id for x in found] == [lesson.id]
