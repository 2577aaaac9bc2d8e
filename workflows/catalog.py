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
    # Imported on first use: each process module imports CatalogEntry from here.
    from workflows import approval, closure, escalation, risk

    return (approval, risk, escalation, closure)


def processes() -> tuple[CatalogEntry, ...]:
    """Processes shipped in ``bpmn/``, in the order the catalog page shows them."""
    return tuple(m.ENTRY for m in _modules())


def operations() -> tuple[tuple[str, Operation], ...]:
    """Service-task operations: name -> glue function."""
    return tuple(op for m in _modules() for op in m.OPERATIONS)


def __getattr__(name: str):  # PROCESSES / OPERATIONS, computed after all imports
    if name == "PROCESSES":
        return processes()
    if name == "OPERATIONS":
        return operations()
    raise AttributeError(name)


def demo_seeders() -> tuple:
    """``seed_demo(bpm, session, now)`` of every process that ships demo records (each
    commits its own)."""
    return tuple(m.seed_demo for m in _modules() if hasattr(m, "seed_demo"))


def build_registry() -> ServiceRegistry:
    """A registry with every operation the shipped processes may call."""
    return ServiceRegistry(operations())
