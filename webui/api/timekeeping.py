"""`/api/v1/calendar`, `/api/v1/clock` and closing a wait early: the business calendar
(the PMO's holidays and make-up days, the working hours; PMO administrators), the
install's clock (anyone reads it; a PMO administrator moves a demo or test install's clock
forward or back to real time), and closing a closable waiting period of a request."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, fields, validate

from webui.api.auth import actor
from webui.api.blueprint import Blueprint
from webui.api.schemas import Strict
from webui.context import bpm
from webui.extensions import db

blp = Blueprint("api-time", __name__, url_prefix="/api/v1",
                description="Business calendar, clock and waiting periods")


class CalendarDaySchema(Strict):
    """A day the PMO lists: an extra holiday or a make-up working day."""

    day = fields.Date(required=True)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    kind = fields.String(required=True, validate=validate.OneOf(["holiday", "workday"]))


class CalendarSchema(Schema):
    """The install's business calendar."""

    country = fields.String(required=True, metadata={"description": "CN or none"})
    time_zone = fields.String(required=True, metadata={"description": "IANA name"})
    working_hours = fields.String(required=True, metadata={"example": "09:00-18:00"})
    days = fields.List(fields.Nested(CalendarDaySchema), required=True)


class CalendarDaysSchema(Strict):
    """The whole list of the PMO's days (replaces the list; all or nothing)."""

    days = fields.List(fields.Nested(CalendarDaySchema), required=True,
                       validate=validate.Length(max=2000))


class WorkingHoursSchema(Strict):
    """Working hours that SLAs in hours count (local time of the calendar)."""

    working_hours = fields.String(required=True, validate=validate.Length(max=40),
                                  metadata={"example": "09:00-18:00"})


class ClockSchema(Schema):
    """The install's clock."""

    now = fields.DateTime(required=True)
    demo = fields.Boolean(required=True, metadata={
        "description": "A demo or test install, whose clock may be moved."})
    moved = fields.Boolean(required=True)
    offset_seconds = fields.Float(required=True)


class AdvanceSchema(Strict):
    """How far to move the clock forward."""

    duration = fields.String(required=True, validate=validate.Length(max=40),
                             metadata={"example": "2d"})


class CloseWaitSchema(Strict):
    """Why the waiting period closes early (kept in the audit)."""

    reason = fields.String(required=True, validate=validate.Length(max=2000))


class ClosedSchema(Schema):
    """How many waiting periods closed."""

    closed = fields.Integer(required=True)


def _calendar() -> dict:
    days = bpm().calendar_days(db.session, actor())
    start, end = bpm().working_hours(db.session)
    settings = bpm().settings
    return {"country": settings.calendar_country, "time_zone": settings.calendar_time_zone,
            "working_hours": f"{start:%H:%M}-{end:%H:%M}",
            "days": [{"day": d.day, "name": d.name, "kind": d.kind} for d in days]}


def _line(d: dict) -> str:
    day: date = d["day"]
    return f"{day.isoformat()}, {d['name']}, {d['kind']}"


def _clock(status) -> dict:
    return {"now": status.now, "demo": status.demo, "moved": status.moved,
            "offset_seconds": status.offset.total_seconds()}


@blp.get("/calendar")
@blp.response(200, CalendarSchema)
def get_calendar():
    """The business calendar: country, time zone, working hours and the PMO's days."""
    return _calendar()


@blp.put("/calendar/days")
@blp.arguments(CalendarDaysSchema)
@blp.response(200, CalendarSchema)
def put_calendar_days(body: dict):
    """Replace the PMO's days; a repeated date is a 422 naming the item (``line`` counts
    from 1) and nothing is saved."""
    bpm().save_calendar_days(db.session, actor(), "\n".join(_line(d) for d in body["days"]))
    return _calendar()


@blp.put("/calendar/working-hours")
@blp.arguments(WorkingHoursSchema)
@blp.response(200, CalendarSchema)
def put_working_hours(body: dict):
    """Set the working hours (``HH:MM-HH:MM``, the start before the end)."""
    bpm().set_working_hours(db.session, actor(), body["working_hours"])
    return _calendar()


@blp.get("/clock")
@blp.response(200, ClockSchema)
def get_clock():
    """The install's clock and whether it runs ahead of real time."""
    return _clock(bpm().install_status(db.session))


@blp.post("/clock/advance")
@blp.arguments(AdvanceSchema)
@blp.response(200, ClockSchema)
def advance_clock(body: dict):
    """Move a demo or test install's clock forward (``2d``, ``4h``, ``P1DT2H``); 403 on a
    production install, 422 for a garbled or negative duration."""
    return _clock(bpm().advance_clock(db.session, actor(), body["duration"]))


@blp.post("/clock/reset")
@blp.response(200, ClockSchema)
def reset_clock():
    """Put a moved clock back to real time."""
    return _clock(bpm().reset_clock(db.session, actor()))


@blp.post("/instances/<dbid:instance_id>/close-wait")
@blp.arguments(CloseWaitSchema)
@blp.response(200, ClosedSchema)
def close_wait(body: dict, instance_id: int):
    """Close the request's closable waiting periods now (the PM who started it or the
    PMO), with a reason in the audit."""
    return {"closed": bpm().close_wait_early(db.session, instance_id, actor(), body["reason"])}
