"""Bring diagrams drawn for Camunda 7 to PMOflow.

:func:`import_camunda` converts Camunda 7 BPMN and DMN files (``camunda:`` extensions,
JUEL expressions, Java delegates, generated forms...) into files the engine's
``validate``/``deploy`` take as they are, and reports, element by element and in
Camunda's words, what was converted, what needs the process owner's decision and what
cannot run.  Pure: no database, no global state; bad input never raises, it is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from engine.camunda7.report import (
    CRASHED,
    OUTCOMES,
    ImportResult,
    Outcome,
    ReportEntry,
    ServiceBinding,
)
from engine.spiff.xmlsafe import DEFAULT_MAX_BYTES

__all__ = [
    "CRASHED",
    "OUTCOMES",
    "ImportResult",
    "Outcome",
    "ReportEntry",
    "ServiceBinding",
    "import_camunda",
]

#: Key of ``group_roles`` giving the role of human tasks that name no group and no lane.
DEFAULT_ROLE_KEY = "*"


def import_camunda(
    files: Mapping[str, bytes],
    *,
    group_roles: Mapping[str, str] | None = None,
    operations: Mapping[str, str] | None = None,
    known_operations: Iterable[str] | None = None,
    known_roles: Iterable[str] | None = None,
    known_processes: Iterable[str] = (),
    known_decisions: Iterable[str] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Callable[[int, int, str], None] | None = None,
) -> ImportResult:
    """Convert Camunda 7 ``.bpmn``/``.dmn`` files (name -> content) for PMOflow.

    ``group_roles``: Camunda group (``candidateGroups``) or lane name -> PMOflow role key;
    the key ``"*"`` gives the role of human tasks that name neither.  A group that is
    itself a known role maps to it without an entry.  ``operations``: element id (of a
    service task, send task or an external task) -> registered operation name, the
    owner's binding.  ``known_operations``/``known_roles``: what the install has
    (None: not checked, e.g. offline; an unmapped group is then kept as the role name and
    listed as unknown).  ``known_processes``/``known_decisions``: keys already deployed,
    which call activities and business rule tasks may name.  ``max_bytes``: per-file
    size limit, as for deploy.  ``progress(done, total, file)`` is called as files are
    converted and checked (for long runs).

    Never raises for bad input: a file that cannot be read (broken XML, too large,
    entities, not BPMN/DMN) gets status ``cannot_run`` and an entry saying why with the
    line; ``crashed`` is kept for importer bugs (the other files still convert).
    """
    from engine.camunda7.convert import run

    return run(
        files,
        group_roles=dict(group_roles or {}),
        operations=dict(operations or {}),
        known_operations=None if known_operations is None else frozenset(known_operations),
        known_roles=None if known_roles is None else frozenset(known_roles),
        known_processes=frozenset(known_processes),
        known_decisions=frozenset(known_decisions),
        max_bytes=max_bytes,
        progress=progress,
    )
