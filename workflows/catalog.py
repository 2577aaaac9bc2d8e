"""The PMO process catalog: which diagrams ship, and the glue their service tasks call.

One explicit list; nothing is discovered by scanning.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.services import Operation, ServiceRegistry


@dataclass(frozen=True)
class CatalogEntry:
    """One shipped process: its key, its BPMN file, what it needs besides."""

    key: str
    bpmn: str
    title_en: str
    title_zh: str


#: Processes shipped in ``bpmn/`` (filled by the process issue).
PROCESSES: tuple[CatalogEntry, ...] = ()

#: Service-task operations: name -> glue function.
OPERATIONS: tuple[tuple[str, Operation], ...] = ()


def build_registry() -> ServiceRegistry:
    """A registry with every operation the shipped processes may call."""
    return ServiceRegistry(OPERATIONS)
