"""The engine's one notion of "now".

Every timestamp the engine writes and every timer it computes comes from a :class:`Clock`.
Production uses :class:`SystemClock`; tests use :class:`ManualClock` and move it instead
of sleeping.  All times are timezone-aware UTC.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything with a ``now()`` returning an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (for tests and simulations)."""

    def __init__(self, start: datetime | str = "2026-03-02T09:00:00+00:00"):
        if isinstance(start, str):
            start = datetime.fromisoformat(start)
        self._now = _as_utc(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The clock's current time."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` or ``timedelta(**kwargs)``; return the new time."""
        step = delta if delta is not None else timedelta(**kwargs)
        with self._lock:
            self._now += step
            return self._now

    def set(self, when: datetime | str) -> None:
        """Jump to an absolute time."""
        if isinstance(when, str):
            when = datetime.fromisoformat(when)
        with self._lock:
            self._now = _as_utc(when)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class OffsetClock:
    """Another clock moved forward by an offset: the install's clock after
    ``pmoflow clock advance`` on a demo or test install.

    The offset lives in the database (``install_settings``); every process copies it in
    with :meth:`set_offset` when it reads the install's status, so web, worker and CLI
    agree.  Other attributes (``advance`` of a :class:`ManualClock`) pass through.
    """

    def __init__(self, base: Clock, offset: timedelta = timedelta(0)):
        self.base = base
        self._offset = offset

    @property
    def offset(self) -> timedelta:
        """How far this clock is ahead of its base."""
        return self._offset

    def set_offset(self, offset: timedelta) -> None:
        """Run ``offset`` ahead of the base clock from now on."""
        self._offset = offset

    def now(self) -> datetime:
        """The base clock's time plus the offset."""
        return self.base.now() + self._offset

    def __getattr__(self, name: str) -> object:
        return getattr(self.base, name)
