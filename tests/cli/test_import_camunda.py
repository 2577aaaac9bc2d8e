"""``pmoflow import-camunda`` over the Camunda 7 example folder: files written beside their
originals and reports, the report sorted by line, the summary line the docs quote."""

from __future__ import annotations

import re
from pathlib import Path

from pmoflow.camunda_cli import read_table
from pmoflow.cli import main

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "conformance" / "camunda7-examples"
FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".bpmn", ".dmn"))
DOCS = ROOT / "docs" / "camunda7.md"
SUMMARY = re.compile(r"converted=\d+ needs_decision=\d+ cannot_run=\d+ crashed=\d+")
APPROVAL = ROOT / "tests" / "engine" / "camunda7" / "data" / "approval.bpmn"


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


def test_one_file_with_a_roles_table(tmp_path, capsys):
    roles = tmp_path / "roles.txt"
    roles.write_text("# Camunda group = PMOflow role\nmanagement = pmo_head\ndirectors = steering\n"
                     "* = pm\n")
    out = tmp_path / "out"
    code = main(["import-camunda", str(APPROVAL), "-o", str(out), "--roles", str(roles),
                 "--offline"])
    printed = capsys.readouterr().out.strip().splitlines()
    assert code == 1  # the Java delegate is not bound
    assert printed[-1] == "converted=0 needs_decision=0 cannot_run=1 crashed=0"
    assert any("camunda:candidateGroups=management on 'Review purchase': role 'pmo_head'" in line
               for line in printed)
    assert sorted(p.name for p in out.iterdir()) == [
        "approval.bpmn", "approval.bpmn.camunda7", "approval.bpmn.report.txt", "forms"]
    assert (out / "approval.bpmn.camunda7").read_bytes() == APPROVAL.read_bytes()
    assert "status: cannot_run" in (out / "approval.bpmn.report.txt").read_text()
    assert len(list((out / "forms").glob("*.schema.json"))) == 4


def test_bad_roles_table_names_the_line(tmp_path):
    table = tmp_path / "roles.txt"
    table.write_text("management = pmo_head\njust a group\n")
    try:
        read_table(str(table))
    except ValueError as exc:
        assert f"{table}:2" in str(exc)
    else:
        raise AssertionError("a line without '=' must be refused")
    assert main(["import-camunda", str(APPROVAL), "-o", str(tmp_path / "o"),
                 "--roles", str(table), "--offline"]) == 1
