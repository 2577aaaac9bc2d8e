"""All 355 Camunda 7 example files (tests/conformance/camunda7-examples) through the importer.

None may crash; each file either converts into files the engine's real validate and
deploy path takes as they are, or its report lists what cannot run, each entry naming an
element or a line.  The CLI summary over the whole folder must match docs/camunda7.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.spiff.bundle import SourceFile
from pmoflow.cli import main

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT / "tests" / "conformance" / "camunda7-examples"
FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".bpmn", ".dmn"))
DOCS = ROOT / "docs" / "camunda7.md"
SUMMARY = re.compile(r"converted=\d+ needs_decision=\d+ cannot_run=\d+ crashed=\d+")


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


def test_cli_over_the_folder_ends_with_the_summary_in_the_docs(tmp_path, capsys):
    code = main(["import-camunda", str(CORPUS), "-o", str(tmp_path), "--offline"])
    out = capsys.readouterr().out.strip().splitlines()
    assert SUMMARY.fullmatch(out[-1]), out[-1]
    assert out[-1].endswith("crashed=0")
    assert code == 1  # some files cannot run
    assert out[-1] in DOCS.read_text(encoding="utf-8"), "update docs/camunda7.md"
    written = {p.name for p in tmp_path.iterdir()}
    for path in FILES:
        assert f"{path.name}.camunda7" in written and f"{path.name}.report.txt" in written
    report = [line for line in out[:-1] if line.startswith(FILES[0].name + ":")]
    lines = [int(m.group(1)) for line in report if (m := re.match(r"[^:]+:(\d+):", line))]
    assert lines == sorted(lines)
