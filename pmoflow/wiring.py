"""Build the engine, the database engine and a session factory from a Config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from engine.api import Engine
from engine.clock import Clock
from engine.spiff.bundle import SourceFile
from engine.store.db import make_db_engine, make_sessionmaker
from pmoflow.config import Config
from workflows.catalog import build_registry


@dataclass
class Runtime:
    """What every entry point needs."""

    config: Config
    engine: Engine
    db: DbEngine
    sessions: sessionmaker[Session]


def build_engine(config: Config, clock: Clock | None = None) -> Engine:
    """The workflow engine with the configured limits and the PMO catalog's glue."""
    return Engine(clock=clock, settings=config.engine_settings(), services=build_registry())


def build(config: Config, clock: Clock | None = None) -> Runtime:
    """Wire the engine with the PMO catalog's glue and the configured database."""
    db = make_db_engine(config.database_url)
    return Runtime(config, build_engine(config, clock), db, make_sessionmaker(db))


def collect_files(paths: list[str]) -> list[SourceFile]:
    """Read the files to deploy or validate.

    A directory contributes its ``*.bpmn``, ``*.dmn`` and ``forms/*.json``; a BPMN file
    also brings the form schemas in the ``forms/`` folder next to it.  Raises
    ``FileNotFoundError`` or ``IsADirectoryError`` with the path in the message.
    """
    chosen: dict[Path, None] = {}
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"{raw}: no such file or directory")
        if path.is_dir():
            for pattern in ("*.bpmn", "*.dmn", "forms/*.json"):
                for p in sorted(path.glob(pattern)):
                    chosen[p] = None
        else:
            chosen[path] = None
            if path.suffix.lower() == ".bpmn":
                for p in sorted((path.parent / "forms").glob("*.json")):
                    chosen[p] = None
    return [SourceFile(name=_display(p), content=p.read_bytes()) for p in chosen]


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
