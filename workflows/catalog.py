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


def _modules() -> tuple:
    # Imported here: each process module imports CatalogEntry from this module.
    from workflows import approval, escalation

    return (approval, escalation)


_MODULES = _modules()

#: Processes shipped in ``bpmn/``, in the order the catalog page shows them.
PROCESSES: tuple[CatalogEntry, ...] = tuple(m.ENTRY for m in _MODULES)

#: Service-task operations: name -> glue function.
OPERATIONS: tuple[tuple[str, Operation], ...] = tuple(
    op for m in _MODULES for op in m.OPERATIONS)


def demo_seeders() -> tuple:
    """``seed_demo(engine, session, now)`` of every process that ships demo records."""
    return tuple(m.seed_demo for m in _MODULES if hasattr(m, "seed_demo"))


def build_registry() -> ServiceRegistry:
    """A registry with every operation the shipped processes may call."""
    return ServiceRegistry(OPERATIONS)
