"""Install-wide settings: whether this is a demo or test install, and its clock offset.

Only a demo or test install (``pmoflow init --demo`` marks one) may move its clock: the
offset is stored in ``install_settings`` so the web app, the worker and the command line
all see the same "now", and each copies it into its :class:`~engine.clock.OffsetClock`
whenever it reads the status.  The clock only moves forward.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import Clock, OffsetClock
from engine.errors import FieldError, Forbidden, InvalidData
from engine.store.models import InstallSetting
from engine.views import InstallStatus

DEMO, OFFSET = "demo", "clock_offset_seconds"
#: The furthest one advance may move the clock.
MAX_STEP = timedelta(days=3660)

_SHORT = re.compile(r"^(\d+)\s*([wdhms])$")
_ISO = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_step(text: str) -> timedelta:
    """``2d``, ``4h``, ``30m``, ``1w`` or an ISO 8601 duration (``P2D``, ``PT4H``, ``P1DT2H``)
    as calendar time; :class:`InvalidData` on ``duration`` when garbled, zero or negative."""
    raw = str(text).strip()
    value = raw.lower()
    step: timedelta | None = None
    short = _SHORT.match(value)
    iso = _ISO.match(raw.upper())
    if short:
        step = timedelta(**{_UNITS[short.group(2)]: int(short.group(1))})
    elif iso and raw.upper() not in ("P", "PT") and not raw.upper().endswith("T"):
        p = {k: int(v) for k, v in iso.groupdict().items() if v}
        step = timedelta(
            weeks=p.get("w", 0), days=p.get("d", 0), hours=p.get("h", 0),
            minutes=p.get("m", 0), seconds=p.get("s", 0),
        )  # fmt: skip
    if raw.startswith("-"):
        raise _bad(raw, "the clock only moves forward", code="clock.duration_negative")
    if step is None:
        raise _bad(raw, "not a duration such as 2d, 4h or P1DT2H", code="clock.duration_invalid")
    if step <= timedelta(0) or step > MAX_STEP:
        raise _bad(
            raw, f"move forward by up to {MAX_STEP.days} days", code="clock.duration_negative"
        )
    return step


def _bad(raw: str, problem: str, code: str) -> InvalidData:
    message = f"{raw!r}: {problem}."
    return InvalidData({"duration": FieldError(message, code, field="duration", value=raw[:40])})


def _get(session: Session, key: str) -> str | None:
    return session.scalar(select(InstallSetting.value).where(InstallSetting.key == key))


def _put(session: Session, key: str, value: str, actor: str, now: datetime) -> None:
    row = session.get(InstallSetting, key)
    if row is None:
        session.add(InstallSetting(key=key, value=value, updated_by=actor, updated_at=now))
    else:
        row.value, row.updated_by, row.updated_at = value, actor, now
    session.flush()


_STATUS = select(InstallSetting.key, InstallSetting.value).where(
    InstallSetting.key.in_([DEMO, OFFSET])
)


#: The status as two columns another read can carry (a web request's read of its user:
#: one statement for both), taken apart by :func:`apply`.
STATUS_COLUMNS = (
    select(InstallSetting.value)
    .where(InstallSetting.key == DEMO)
    .scalar_subquery()
    .label("install_demo"),
    select(InstallSetting.value)
    .where(InstallSetting.key == OFFSET)
    .scalar_subquery()
    .label("install_offset"),
)


def sync(session: Session, clock: Clock) -> InstallStatus:
    """Read the install's status and copy its clock offset into ``clock``."""
    found = {key: value for key, value in session.execute(_STATUS)}  # one statement
    return apply(clock, found.get(DEMO), found.get(OFFSET))


def apply(clock: Clock, demo: str | None, offset: str | None) -> InstallStatus:
    """The status the stored ``demo`` and ``offset`` values say (None: not stored), with
    the offset copied into ``clock``."""
    moved = timedelta(seconds=float(offset or 0))
    if isinstance(clock, OffsetClock) and clock.offset != moved:
        clock.set_offset(moved)
    return InstallStatus(demo=demo == "true", offset=moved, now=clock.now())


def mark_demo(session: Session, actor: str, now: datetime) -> None:
    """Mark this install as a demo or test install (its clock may then be moved)."""
    _put(session, DEMO, "true", actor, now)


def advance(session: Session, clock: Clock, actor: str, text: str) -> InstallStatus:
    """Move the install's clock forward by ``text``; refused unless it is a demo install."""
    step = parse_step(text)
    status = sync(session, clock)
    if not status.demo:
        raise Forbidden(
            "The clock can only be moved on a demo or test install (pmoflow init --demo).",
            code="clock.not_demo",
        )
    if not isinstance(clock, OffsetClock):
        raise Forbidden("This engine's clock cannot be moved.", code="clock.not_demo")
    offset = status.offset + step
    _put(session, OFFSET, str(offset.total_seconds()), actor, clock.base.now())
    clock.set_offset(offset)
    return InstallStatus(demo=True, offset=offset, now=clock.now())


def reset(session: Session, clock: Clock, actor: str) -> InstallStatus:
    """Put the install's clock back to real time (offset zero); what fired while it ran
    ahead stays fired, pending timers fire when real time reaches them."""
    status = sync(session, clock)
    if status.offset and isinstance(clock, OffsetClock):
        _put(session, OFFSET, "0", actor, clock.base.now())
        clock.set_offset(timedelta(0))
    return InstallStatus(demo=status.demo, offset=timedelta(0), now=clock.now())
