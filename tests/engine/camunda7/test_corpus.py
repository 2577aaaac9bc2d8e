"""All 355 Camunda 7 example files (tests/conformance/camunda7-examples) through the importer.

None may crash; each file either converts into files the engine's real validate and
deploy path takes as they are, or its report lists what cannot run, each entry naming an
element or a line.  (tests/cli/test_import_camunda.py runs the CLI over the folder.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.spiff.bundle import SourceFile

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT / "tests" / "conformance" / "camunda7-examples"
FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".bpmn", ".dmn"))


def test_the_corpus_is_all_there():
    assert len(FILES) == 355
    assert sum(p.suffix == ".dmn" for p in FILES) == 37
    assert (CORPUS / "LICENSE").read_text().startswith("\n") or "Apache" in (
        CORPUS / "LICENSE"
    ).read_text()


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # the deploy path; runs are in test_run
def test_every_file_converts_and_deploys_or_lists_what_cannot_run(engine, session, people):
    deployable = blocked = 0
    for path in FILES:
        result = engine.import_camunda(session, {path.name: path.read_bytes()},
                                       group_roles={"*": "team"})
        status = result.status[path.name]
        assert status != "crashed", [str(e) for e in result.report]
        if status == "cannot_run":
            blocked += 1
            stops = [e for e in result.report if e.outcome == "cannot_run"]
            assert stops, path.name
            for entry in stops:
                assert entry.element_id or entry.line or entry.construct == "file", str(entry)
                assert entry.message and "Traceback" not in entry.message
            continue
        deployable += 1
        files = [SourceFile(n, c) for n, c in result.files.items()]
        problems = engine.validate(session, files)
        assert problems == [], (path.name, [str(p) for p in problems])
        deployed = engine.deploy(session, files, "owner1")
        assert deployed.processes or deployed.decisions or deployed.unchanged, path.name
    assert deployable + blocked == 355
    assert deployable >= 40  # the plain ones at least; the count is in docs/camunda7.md
