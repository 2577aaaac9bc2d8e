"""The PMO records' own migrations: tables match the models, search objects exist,
downgrade/upgrade work, and databases made before the engine/catalog split upgrade in
place (from fixtures made by that code: ``fixtures/pre_split*``)."""

from __future__ import annotations

import contextlib
import gzip
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine as DbEngine
from sqlalchemy import inspect, select, text

from engine.store.db import make_db_engine, make_sessionmaker
from engine.store.models import Base as EngineBase
from engine.store.schema import ENGINE_MIGRATIONS
from engine.store.uow import unit_of_work
from tests.conftest import PG_BASE, schema_drift
from tests.workflows.factories import approved_project
from workflows import records
from workflows.records import models
from workflows.records.models import Base, Lesson
from workflows.records.schema import PMO_MIGRATIONS, upgrade_all
from workflows.records.search import text_conditions

FIXTURES = Path(__file__).parent / "fixtures"

RECORD_TABLES = {"projects", "project_stage_changes", "code_sequences", "risks",
                 "risk_reviews", "escalations", "lessons", "lesson_reads"}
SEARCH_INDEXES = {"ix_lessons_search_trgm", "ix_projects_title_trgm"}
FTS_TRIGGERS = {"lessons_fts_ai", "lessons_fts_ad", "lessons_fts_au"}


#: The records' newest revision.
PMO_HEAD = "pmo0003_insight2"


def test_models_and_migration_agree(db):
    """Autogenerate finds nothing to change in our tables; the search objects made by the
    migration are hidden by ``models.include_name``."""
    assert schema_drift(db, RECORD_TABLES, Base.metadata,
                        include_name=models.include_name) == []
    assert set(Base.metadata.tables) == RECORD_TABLES
    assert not set(EngineBase.metadata.tables) & RECORD_TABLES  # the engine knows none


def test_each_environment_tracks_its_own_revision(db):
    assert ENGINE_MIGRATIONS.current_revision(db.engine) is not None
    assert PMO_MIGRATIONS.current_revision(db.engine) == PMO_HEAD
    assert ENGINE_MIGRATIONS.version_table != PMO_MIGRATIONS.version_table


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


def test_downgrade_and_upgrade_the_records_on_sqlite(tmp_path, clock):
    engine = make_db_engine(f"sqlite:///{tmp_path / 'mig.db'}")
    try:
        upgrade_all(engine)
        assert PMO_MIGRATIONS.current_revision(engine) == PMO_HEAD
        PMO_MIGRATIONS.downgrade(engine, "base")
        assert PMO_MIGRATIONS.current_revision(engine) is None
        with engine.connect() as conn:
            left = set(inspect(conn).get_table_names()) & (RECORD_TABLES | {"lessons_fts"})
            triggers = conn.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").scalar()
            engine_tables = set(inspect(conn).get_table_names())
        assert left == set() and triggers == 0
        assert engine_tables >= set(EngineBase.metadata.tables)  # the engine's stay
        PMO_MIGRATIONS.upgrade(engine)
        assert PMO_MIGRATIONS.current_revision(engine) == PMO_HEAD
        _lesson_round_trip(engine, clock)
    finally:
        engine.dispose()


def test_downgrade_and_upgrade_the_records_on_postgres(postgres_db, clock):
    with _pg_schema() as engine:
        upgrade_all(engine)
        PMO_MIGRATIONS.downgrade(engine, "base")
        with engine.connect() as conn:
            assert not set(inspect(conn).get_table_names()) & RECORD_TABLES
            assert conn.exec_driver_sql("SELECT count(*) FROM pg_indexes WHERE indexname "
                                        "LIKE '%trgm' AND schemaname = current_schema()"
                                        ).scalar() == 0
        PMO_MIGRATIONS.upgrade(engine)
        _lesson_round_trip(engine, clock)


@contextlib.contextmanager
def _pg_schema() -> Iterator[DbEngine]:
    """A database engine on a new, empty PostgreSQL schema, dropped afterwards."""
    schema = f"pmoflow_mig_{uuid.uuid4().hex[:8]}"
    admin = make_db_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_BASE else "?"
    engine = make_db_engine(f"{PG_BASE}{sep}options=-csearch_path%3D{schema}")
    engine.info = {"schema": schema}  # type: ignore[attr-defined]
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _load_pg_dump(engine: DbEngine) -> None:
    """Replay ``pre_split_pg.sql.gz`` (pg_dump --inserts of a schema named ``presplit``,
    made by the code before the split) into the engine's own schema."""
    schema = engine.info["schema"]  # type: ignore[attr-defined]
    script = gzip.decompress((FIXTURES / "pre_split_pg.sql.gz").read_bytes()).decode()
    lines = [line for line in script.splitlines()
             if not line.startswith(("--", "\\", "CREATE SCHEMA", "SELECT pg_catalog.set_config"))]
    body = "\n".join(lines).replace("presplit.", f'"{schema}".')
    with engine.begin() as conn:
        # One script, many statements: psycopg sends it as a simple query (no parameters).
        conn.connection.driver_connection.execute(  # type: ignore[union-attr]
            f'SET LOCAL search_path = "{schema}", public;\n{body}')


def _check_pre_split_database_upgraded(engine: DbEngine, clock) -> None:
    """What the old database held is still there and works after ``upgrade_all``."""
    from engine.api import Engine

    assert ENGINE_MIGRATIONS.current_revision(engine) == "0006"  # made by the old code
    assert PMO_MIGRATIONS.current_revision(engine) is None
    upgrade_all(engine)
    assert PMO_MIGRATIONS.current_revision(engine) == PMO_HEAD
    assert ENGINE_MIGRATIONS.current_revision(engine) is not None
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        titles = set(session.scalars(select(models.Project.title)))
        assert {"Warehouse automation", "Pre-split proposal", "Lesson source"} <= titles
        eng = Engine(clock=clock)
        inst = eng.instance(session, 1)
        assert inst.process_key == "project_approval" and inst.status == "running"
        assert [t.name for t in inst.open_tasks] == ["Check completeness"]
    _lesson_round_trip(engine, clock, create_sponsor=False)
    upgrade_all(engine)  # a second run changes nothing
    assert PMO_MIGRATIONS.current_revision(engine) == PMO_HEAD


def test_a_database_made_before_the_split_upgrades_in_place_on_sqlite(tmp_path, clock):
    path = tmp_path / "pre_split.db"
    with gzip.open(FIXTURES / "pre_split.db.gz") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    engine = make_db_engine(f"sqlite:///{path}")
    try:
        _check_pre_split_database_upgraded(engine, clock)
        with engine.connect() as conn:  # the FTS index still follows the lessons table
            assert conn.exec_driver_sql(
                "SELECT count(*) FROM lessons_fts WHERE lessons_fts MATCH '\"接口联调\"'"
            ).scalar() == 1
    finally:
        engine.dispose()


def test_a_database_made_before_the_split_upgrades_in_place_on_postgres(postgres_db, clock):
    with _pg_schema() as engine:
        _load_pg_dump(engine)
        _check_pre_split_database_upgraded(engine, clock)


def _lesson_round_trip(engine, clock, *, create_sponsor: bool = True) -> None:
    from engine import identity

    with make_sessionmaker(engine)() as session, unit_of_work(session):
        if create_sponsor:
            identity.create_user(session, "sponsor1", now=clock.now())
        project = approved_project(session, clock)
        lesson = records.add_lesson(session, project.id, {"category": "supplier",
                                                          "what_did_not": "第三方接口联调花了三周"},
                                    author="team1", now=clock.now())
        found = records.search_lessons(session, "接口联调", published_only=False)
        assert [x.id for x in found] == [lesson.id]
