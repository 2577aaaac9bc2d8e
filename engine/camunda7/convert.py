"""The importer's driver: one file at a time, every failure turned into a report entry."""

from __future__ import annotations

from collections.abc import Mapping

from engine.camunda7.report import ImportResult


def run(
    files: Mapping[str, bytes],
    *,
    group_roles: dict[str, str],
    operations: dict[str, str],
    known_operations: frozenset[str] | None,
    known_roles: frozenset[str] | None,
    max_bytes: int,
) -> ImportResult:
    """See :func:`engine.camunda7.import_camunda`."""
    raise NotImplementedError
