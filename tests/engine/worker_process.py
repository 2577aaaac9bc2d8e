"""A job worker in its own process, for the tests that kill one (``python -m``).

    python -m tests.engine.worker_process DATABASE_URL NOW_ISO

It fires due jobs by a clock fixed at ``NOW_ISO``, one at a time, until killed; the
``nap`` operation of ``race_timer.bpmn`` sleeps, so a kill often lands mid-transaction.
"""

from __future__ import annotations

import sys
import time

from engine.api import Engine
from engine.clock import ManualClock
from engine.services import ServiceCall, ServiceRegistry
from engine.store.db import make_db_engine, make_sessionmaker

NAP_SECONDS = 0.03


def nap(call: ServiceCall) -> bool:
    """Take a moment, like a slow glue call."""
    time.sleep(NAP_SECONDS)
    call.notes.append(f"napped for instance {call.instance_id}")
    return True


def registry() -> ServiceRegistry:
    """The operations the race processes call."""
    return ServiceRegistry([("nap", nap)])


def main(url: str, now: str) -> None:
    """Fire jobs forever."""
    engine = Engine(clock=ManualClock(now), services=registry())
    sessions = make_sessionmaker(make_db_engine(url))
    print("ready", flush=True)
    while True:
        with sessions() as session:
            report = engine.fire_due_jobs(session, limit=1)
        if not (report.fired or report.failed or report.skipped):
            time.sleep(0.01)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
