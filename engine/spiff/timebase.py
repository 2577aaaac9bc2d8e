"""Make SpiffWorkflow's timers read the engine's clock.

SpiffWorkflow's timer event definitions call ``datetime.now(timezone.utc)`` directly.  We
replace that module's ``datetime`` name with a subclass whose ``now()`` asks the clock bound
to the current context (thread or task) by :func:`using_clock`, and falls back to the wall
clock when none is bound.  Nothing else in the library reads the time for timers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module

from engine.clock import Clock

_current: ContextVar[Clock | None] = ContextVar("pmoflow_clock", default=None)


class _ClockedDatetime(datetime):
    """``datetime`` whose ``now()`` follows the bound engine clock."""

    @classmethod
    def now(cls, tz=None):
        clock = _current.get()
        if clock is None:
            return datetime.now(tz)
        value = clock.now()
        return value.astimezone(tz) if tz is not None else value.astimezone().replace(tzinfo=None)


_timer_module.datetime = _ClockedDatetime


@contextlib.contextmanager
def using_clock(clock: Clock) -> Iterator[None]:
    """Bind ``clock`` as "now" for SpiffWorkflow timers inside the ``with`` block."""
    token = _current.set(clock)
    try:
        yield
    finally:
        _current.reset(token)
