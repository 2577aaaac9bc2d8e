"""``pmoflow import-camunda``: convert Camunda 7 diagrams into files ``validate``/``deploy`` take.

For each input file ``X`` it writes, into the output folder, the converted ``X`` (a DMN
file with several decisions becomes one file per decision), generated forms under
``forms/``, the untouched original as ``X.camunda7`` and the report as ``X.report.txt``.
It prints the report sorted by file and line, shows progress on stderr, and ends with
``converted=N needs_decision=M cannot_run=K crashed=C``.  Exit status 1 when a file cannot
run (as ``validate``), 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.camunda7 import ImportResult, import_camunda

SUFFIXES = (".bpmn", ".dmn", ".bpmn20.xml")


def add_parser(sub) -> None:
    """Register the command on the ``pmoflow`` parser."""
    s = sub.add_parser(
        "import-camunda",
        help="convert Camunda 7 BPMN/DMN files or folders for PMOflow; write them, the "
        "originals and a report per file into -o DIR",
    )
    s.add_argument("paths", nargs="+", metavar="FILES_OR_DIRS")
    s.add_argument("-o", "--output", required=True, metavar="DIR", help="where to write")
    s.add_argument(
        "--roles", metavar="FILE",
        help="Camunda group (or lane) -> PMOflow role, one 'group = role' a line (or a JSON "
        "object); '* = role' for tasks that name no group",
    )  # fmt: skip
    s.add_argument(
        "--operations", metavar="FILE",
        help="element id -> registered operation, one 'id = operation' a line (or JSON)",
    )  # fmt: skip
    s.add_argument(
        "--offline", action="store_true",
        help="do not read roles, operations and deployed processes from the database",
    )  # fmt: skip
    s.set_defaults(func=cmd_import_camunda)


def read_table(path: str | None) -> dict[str, str]:
    """A 'key = value' (or JSON object) file as a dict; ValueError names the bad line."""
    if not path:
        return {}
    text = Path(path).read_text(encoding="utf-8-sig")
    if text.lstrip().startswith("{"):
        data = json.loads(text)
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValueError(f"{path}: expected a JSON object of strings")
        return {str(k): v for k, v in data.items()}
    table: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{path}:{number}: expected 'name = value', got {line!r}")
        table[key.strip()] = value.strip()
    return table


def collect(paths: list[str]) -> dict[str, bytes]:
    """Input files by a unique name (folders are searched recursively)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"{raw}: no such file or directory")
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and _wanted(p))
        else:
            found.append(path)
    files: dict[str, bytes] = {}
    for path in found:
        name = path.name
        number = 2
        while name in files:
            name = f"{path.stem}_{number}{path.suffix}"
            number += 1
        files[name] = path.read_bytes()
    return files


def _wanted(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(SUFFIXES) and ".camunda7" not in name


def cmd_import_camunda(args: argparse.Namespace) -> int:
    """Convert, write, print the report and the summary line."""
    files = collect(args.paths)
    group_roles = read_table(args.roles)
    operations = read_table(args.operations)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    bar = _Progress(len(files))
    try:
        result = _convert(files, group_roles, operations, args.offline, bar)
    finally:
        bar.done()
    write(result, out)
    for entry in result.report:
        print(entry)
    if result.unknown_groups:
        print("groups mapped to no role: " + ", ".join(result.unknown_groups))
    print(result.summary)
    return 1 if result.counts["cannot_run"] or result.counts["crashed"] else 0


def _convert(files, group_roles, operations, offline: bool, bar) -> ImportResult:
    if not offline:
        try:
            from pmoflow.cli import _ready_runtime

            rt = _ready_runtime()
        except Exception as exc:  # no database yet: convert without checking against it
            print(f"note: {exc}; converting offline (roles and operations not checked)",
                  file=sys.stderr)  # fmt: skip
        else:
            with rt.sessions() as session:
                return rt.engine.import_camunda(
                    session, files, group_roles=group_roles, operations=operations,
                    progress=bar,
                )  # fmt: skip
    return import_camunda(files, group_roles=group_roles, operations=operations, progress=bar)


def write(result: ImportResult, out: Path) -> None:
    """Converted files, originals (``X.camunda7``) and reports (``X.report.txt``)."""
    for name, content in result.files.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    for name, content in result.originals.items():
        (out / f"{name}.camunda7").write_bytes(content)
        lines = [str(e) for e in result.entries_for(name)]
        lines.append(f"status: {result.status.get(name)}")
        (out / f"{name}.report.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


class _Progress:
    """Progress on stderr for runs of more than 20 files (the report goes to stdout)."""

    def __init__(self, total: int):
        from pmoflow.cli import ProgressBar

        self.bar = ProgressBar(sys.stderr) if total > 20 else None

    def __call__(self, done: int, total: int, name: str) -> None:
        if self.bar is not None and total:
            self.bar(done / total, name[-50:])

    def done(self) -> None:
        if self.bar is not None:
            self.bar.done()
