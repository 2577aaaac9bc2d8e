"""Profile the web stack in-process: GET a task form and POST it, and inbox pages.

``py-spy record -o bench/profiles/http_sqlite.svg -- python bench/profile_http.py sqlite``
(or ``pg``): seeds ``--tasks`` open reviews (as ``bench/http_bench.py`` does), signs in as
reviewer1 with Flask's test client (no network, no gunicorn), then for ``--seconds``
alternates an inbox page with completing a task (GET form + POST).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import http_bench as H  # noqa: E402

from pmoflow.app import create_app  # noqa: E402
from pmoflow.config import Config  # noqa: E402


def main() -> int:
    """Seed, sign in, loop."""
    parser = argparse.ArgumentParser()
    parser.add_argument("db", choices=["sqlite", "pg"])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--tasks", type=int, default=600)
    parser.add_argument("--count", action="store_true",
                        help="print the SQL statements of one request of each kind instead, "
                             "each with its time (ms)")
    parser.add_argument("--scale", action="store_true",
                        help="pg only: the big install of bench/scale_data.py (1,000,000 "
                             "instances) with --tasks approvals started in it")
    args = parser.parse_args()
    drop = None
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/profile.db"
        if args.db == "pg" and args.scale:
            import scale_data
            import scale_http

            url = scale_data.ensure(scale_data.DEFAULT_PG, scale_data.DEFAULT_SCHEMA)
        elif args.db == "pg":
            found = H.pg_schema(H.DEFAULT_PG)
            if isinstance(found, str):
                print(found)
                return 1
            url, drop = found
        try:
            seeder = None if args.scale else H.Seeder(url, 1)
            ids = (scale_http.seed_scale(url, args.tasks) if args.scale
                   else seeder.open_reviews(args.tasks))
            config = Config.from_env({}, database_url=url, instance_dir=Path(tmp),
                                     secret_key="profile-secret", run_worker_in_server=False)
            app = create_app(config)
            client = app.test_client()
            page = client.get("/login").data
            client.post("/login", data={"username": "reviewer1", "password": H.PASSWORD,
                                        "csrf_token": H.token(page)})
            if args.count:
                count_statements(app, client, ids)
                return 0
            end = time.monotonic() + args.seconds
            n = 0
            while time.monotonic() < end and n < len(ids):
                assert client.get(f"/tasks?tab=claimable&page={n % 10 + 1}").status_code == 200
                form = client.get(f"/tasks/{ids[n]}")
                assert form.status_code == 200
                done = client.post(f"/tasks/{ids[n]}", data={
                    "csrf_token": H.token(form.data), "decision": "accept", "comment": "",
                    "action": "complete"})
                assert done.status_code == 302, done.status_code
                n += 1
            print(f"{n} rounds (inbox page, task form, submit)")
            if seeder:
                seeder.close()
        finally:
            if drop:
                drop()
    return 0


def count_statements(app, client, ids: list[int]) -> None:
    """One inbox page, task form and submit (after a warm-up): their statements."""
    from sqlalchemy import event

    from webui.extensions import db

    seen: list[str] = []
    started: list[float] = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute",
                 lambda *a: started.append(time.perf_counter()))
    event.listen(engine, "after_cursor_execute", lambda *a: seen.append(
        f"{(time.perf_counter() - started[-1]) * 1000:6.2f} ms  " + " ".join(a[2].split())[:110]))
    for i, label in ((0, None), (1, "show")):
        seen.clear()
        client.get(f"/tasks?tab=claimable&page={i + 1}")
        if label:
            print(f"inbox page: {len(seen)} statements", *seen, sep="\n  ")
        seen.clear()
        form = client.get(f"/tasks/{ids[i]}")
        if label:
            print(f"task form: {len(seen)} statements", *seen, sep="\n  ")
        seen.clear()
        client.post(f"/tasks/{ids[i]}", data={"csrf_token": H.token(form.data),
                                              "decision": "accept", "comment": "",
                                              "action": "complete"})
        if label:
            print(f"submit: {len(seen)} statements", *seen, sep="\n  ")


if __name__ == "__main__":
    sys.exit(main())
