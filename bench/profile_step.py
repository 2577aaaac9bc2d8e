"""Profile the persisted ``complete`` verb in a loop, for a flame graph.

``py-spy record -o bench/profiles/complete_sqlite.svg -- python bench/profile_step.py sqlite``
(or ``pg``): starts instances of the three-step approval and completes their tasks for
``--seconds``, on a fresh SQLite file or a fresh PostgreSQL schema.  Without py-spy,
``--cprofile FILE`` writes cProfile stats instead.
"""

from __future__ import annotations

import argparse
import cProfile
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.tasks import TaskQuery
from pmoflow import benchmark as B


def main() -> int:
    """Run completions until the time is up."""
    parser = argparse.ArgumentParser()
    parser.add_argument("db", choices=["sqlite", "pg"])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--cprofile")
    args = parser.parse_args()
    drop = None
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/profile.db"
        if args.db == "pg":
            found = B._pg_schema_url(B.DEFAULT_PG)
            if found is None:
                return 1
            url, drop = found
        try:
            prepared = B._prepare(url)
            engine, sessions = prepared[0], prepared[1]
            prof = cProfile.Profile() if args.cprofile else None
            end = time.monotonic() + args.seconds
            n = 0
            with sessions() as s:
                while time.monotonic() < end:
                    inst = engine.start(s, "approval3", "pm1", B.START)
                    for element, actor, data in B.STEPS:
                        task = next(t for t in engine.tasks(
                            s, None, TaskQuery(scope="all", instance_id=inst.id))[0]
                            if t.element_id == element)
                        if prof:
                            prof.enable()
                        engine.complete(s, task.id, actor, data)
                        if prof:
                            prof.disable()
                        n += 1
            if prof:
                prof.dump_stats(args.cprofile)
            print(f"{n} completions")
        finally:
            if drop:
                drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
