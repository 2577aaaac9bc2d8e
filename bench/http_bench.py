"""HTTP benchmark: real requests against gunicorn, on SQLite and PostgreSQL side by side.

    python bench/http_bench.py [--tasks 400] [--rounds 200] [--seconds 10] [--clients 8]
                               [--workers 2] [--worker-class sync] [--sqlite-only]
                               [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

For each database: a fresh schema (SQLite: a temporary file; PostgreSQL: a new schema in
the ``test`` database, dropped afterwards), the demo users plus ``reviewer2..N``, the
``approval3`` process, and ``--tasks`` open "Check completeness" tasks started through the
engine.  Then ``gunicorn 'pmoflow.app:create_app()'`` serves it and one client (its own
cookie jar, ``http.client`` with keep-alive where the server allows it) signs in (GET and
POST ``/login``), pages through the inbox (``/tasks?tab=claimable&page=N``, 25 a page),
opens a task form (GET ``/tasks/<id>``) and submits it (POST, answered 302; the redirect is
not followed and the flash it leaves in the cookie is dropped, as the inbox page a browser
lands on would consume it).  Then ``--clients`` threads, each signed in as a different
reviewer, complete distinct tasks (GET form + POST) for ``--seconds``.

Prints a table, the settings used, the goals, and last
``http_complete_ms=X inbox_ms=Y completions_per_s_8c=Z`` (X, Y: SQLite medians; Z:
PostgreSQL, ``n/a`` when it was not reachable).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from engine import identity  # noqa: E402
from engine.api import Engine, EngineSettings  # noqa: E402
from engine.spiff.bundle import SourceFile  # noqa: E402
from engine.store.db import SQLITE_PRAGMAS, make_db_engine, make_sessionmaker  # noqa: E402
from engine.store.uow import unit_of_work  # noqa: E402
from workflows.records.schema import upgrade_all  # noqa: E402
from workflows.roles import DEMO_USERS, ROLES  # noqa: E402

PROCESSES = ROOT / "bench" / "processes"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "demo"
START = {"title": "Bench proposal", "budget": 250000}
TOKEN = re.compile(rb'name="csrf_token" value="([^"]+)"')
PER_PAGE = 25
GOALS = ("complete a task (GET form + POST) <= 4 ms median on SQLite, 1 client; "
         "inbox page <= 2 ms; >= 370 completions/s with 8 clients on PostgreSQL")


# --------------------------------------------------------------------------- results


@dataclass
class Row:
    """Samples (seconds) of one request kind."""

    name: str
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) * 1000 if self.samples else float("nan")

    @property
    def p95(self) -> float:
        if not self.samples:
            return float("nan")
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000


@dataclass
class Result:
    """One backend's measurements."""

    rows: dict[str, Row]
    completions: int = 0
    seconds: float = 0.0
    clients: int = 0
    client_cpu: float = 0.0
    #: The same many-clients run with gthread workers (PostgreSQL only).
    gthread: Result | None = None
    #: People working at once: {people: PeopleRun}.
    people: dict[int, PeopleRun] = field(default_factory=dict)
    #: CPU seconds spent during the many-clients run: the whole machine, the gunicorn
    #: workers, the database server's processes (PostgreSQL).
    cpu: dict[str, float] = field(default_factory=dict)
    #: The floors measured beside the app: request kind -> Row (the static file and the
    #: bare WSGI app on the SQLite run only).
    floors: dict[str, Row] = field(default_factory=dict)
    #: Statements and round trips of one request of each kind ("inbox", "form",
    #: "submit"), counted in this run (:func:`count_trips`).
    trips: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: Size of an inbox page (bytes), what the transport floor answers with.
    inbox_bytes: int = 0

    @property
    def rate(self) -> float:
        return self.completions / self.seconds if self.seconds else 0.0

    def cpu_ms_per_completion(self, part: str = "machine") -> float:
        """CPU (ms) the machine (or ``part``) spent per completion in the many-clients
        run: what bounds completions/s on this machine's CPUs."""
        return self.cpu.get(part, 0.0) * 1000 / self.completions if self.completions else 0.0


@dataclass
class PeopleRun:
    """People opening the inbox, a task and submitting it, with think time between."""

    people: int
    seconds: float = 0.0
    inbox: Row = field(default_factory=lambda: Row("inbox"))
    form: Row = field(default_factory=lambda: Row("form"))
    submit: Row = field(default_factory=lambda: Row("submit"))
    conflicts: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.submit.samples) / self.seconds if self.seconds else 0.0


# --------------------------------------------------------------------------- client


class Client:
    """One browser: a connection (kept alive when the server allows) and a cookie jar."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method: str, path: str, form: dict[str, str] | None = None, *,
                keep_cookies: bool = True) -> tuple[int, bytes, float]:
        """(status, body, seconds from sending to the last byte)."""
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                t0 = time.perf_counter()
                self.conn.request(method, path, body, headers)
                response = self.conn.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - t0
                break
            except (http.client.RemoteDisconnected, ConnectionError):  # keep-alive timed out
                self.conn.close()
                if attempt == 2:
                    raise
        if keep_cookies:
            for cookie in response.headers.get_all("Set-Cookie") or ():
                name, _eq, rest = cookie.partition("=")
                value = rest.split(";", 1)[0]
                if value and "max-age=0" not in cookie.lower():
                    self.cookies[name.strip()] = value
                else:
                    self.cookies.pop(name.strip(), None)
        return response.status, data, elapsed

    def sign_in(self, username: str) -> tuple[float, float]:
        """GET and POST /login; (seconds for each)."""
        status, page, t_get = self.request("GET", "/login")
        status, _body, t_post = self.request("POST", "/login", {
            "username": username, "password": PASSWORD, "csrf_token": token(page)})
        if status != 302:
            raise RuntimeError(f"sign-in of {username} answered {status}")
        return t_get, t_post

    def complete(self, task_id: int, prefix: str = "/tasks") -> tuple[float, float]:
        """GET the task form at ``prefix/task_id``, POST it (accept); (seconds for each)."""
        path = f"{prefix}/{task_id}"
        status, page, t_get = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} on port {self.port} answered {status}")
        status, body, t_post = self.request(
            "POST", path,
            {"csrf_token": token(page), "decision": "accept", "comment": "",
             "action": "complete"}, keep_cookies=False)
        if status != 302:
            raise RuntimeError(f"POST {path} on port {self.port} answered {status}: "
                               f"{body[-400:]!r}")
        return t_get, t_post

    def close(self) -> None:
        self.conn.close()


def token(page: bytes) -> str:
    found = TOKEN.search(page)
    if found is None:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1).decode()


def in_turn(servers: dict[str, tuple[str, Path]], task_ids: dict[str, list[int]],
            rounds: int, pages: Callable[[int], list[tuple[str, str]]], *,
            swap: bool = False) -> dict[str, dict[str, list[float]]]:
    """Several installs served at once (name -> (database URL, the checkout whose code
    serves it)), one client on each signed in as reviewer1, asked in turn request by
    request so that whatever else the machine does falls on all alike: ``rounds`` rounds
    of ``pages(i)`` ((path, kind) pairs), then ``rounds`` completions (GET the form, POST
    it). ``swap``: reverse the order every other round. Returns ms per kind (and KB per
    page kind, as ``<kind>_kb``) per install; "form", "submit", "complete" for the
    completions."""
    args = SimpleNamespace(workers=2, worker_class="sync", threads=1)
    out: dict[str, dict[str, list[float]]] = {n: defaultdict(list) for n in servers}
    with contextlib.ExitStack() as stack:
        clients = {}
        for name, (url, root) in servers.items():
            home = stack.enter_context(tempfile.TemporaryDirectory())
            server = stack.enter_context(Gunicorn(url, Path(home), args, root=root))
            client = Client(server.port)
            stack.callback(client.close)
            client.sign_in("reviewer1")
            for i in range(10):  # warm-up: both workers load templates, specs
                client.request("GET", pages(i)[0][0])
            for task_id in task_ids[name][:4]:
                client.complete(task_id)
            clients[name] = client
        names = list(servers)

        def order(i: int) -> list[str]:
            return names[::-1] if swap and i % 2 else names

        for i in range(rounds):
            for name in order(i):
                for path, kind in pages(i):
                    status, body, seconds = clients[name].request("GET", path)
                    if status != 200:
                        raise RuntimeError(f"{path} answered {status} on the {name} install")
                    out[name][kind].append(seconds * 1000)
                    out[name][kind + "_kb"].append(len(body) / 1024)
        for i in range(rounds):
            for name in order(i):
                t_get, t_post = clients[name].complete(task_ids[name][4 + i])
                out[name]["form"].append(t_get * 1000)
                out[name]["submit"].append(t_post * 1000)
                out[name]["complete"].append((t_get + t_post) * 1000)
    return out


def p95(values: list[float]) -> float:
    """The 95th percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def paired(labels: dict[str, str], first: dict[str, list[float]],
           second: dict[str, list[float]]) -> list[tuple[str, str, float, float, float, float,
                                                        float]]:
    """Two runs measured in turn, per request kind: (key, label, first median, first p95,
    second median, second p95, second median / first median)."""
    out = []
    for key, label in labels.items():
        f_med, s_med = statistics.median(first[key]), statistics.median(second[key])
        out.append((key, label, f_med, p95(first[key]), s_med, p95(second[key]), s_med / f_med))
    return out


# --------------------------------------------------------------------------- database


def bundle_files() -> list[SourceFile]:
    """The approval process and its forms."""
    files = [SourceFile("approval3.bpmn", (PROCESSES / "approval3.bpmn").read_bytes())]
    return files + [SourceFile(f"forms/{p.name}", p.read_bytes())
                    for p in sorted((PROCESSES / "forms").glob("*.json"))]


def reviewers(count: int) -> list[str]:
    """reviewer1 (demo) and reviewer2..N, one per concurrent client."""
    return [f"reviewer{i}" for i in range(1, max(count, 1) + 1)]


class Seeder:
    """Set up a database and start approval instances through the engine (no HTTP)."""

    def __init__(self, url: str, clients: int, people: int = 0):
        self.db = make_db_engine(url)
        upgrade_all(self.db)
        self.sessions = make_sessionmaker(self.db)
        self.engine = Engine(settings=EngineSettings())
        now = self.engine.clock.now()
        with self.sessions() as s, unit_of_work(s):
            identity.ensure_roles(s, ROLES)
            for username, (name, roles) in DEMO_USERS.items():
                identity.create_user(s, username, now=now, password=PASSWORD,
                                     display_name=name, roles=roles)
            for username in reviewers(max(clients, people))[1:]:
                identity.create_user(s, username, now=now, password=PASSWORD,
                                     display_name=f"Reviewer {username[8:]}",
                                     roles=["pmo_reviewer"])
        with self.sessions() as s:
            self.engine.deploy(s, bundle_files(), "owner1")

    def open_reviews(self, count: int) -> list[int]:
        """Start ``count`` approvals as pm1; the ids of their open review tasks."""
        ids: list[int] = []
        with self.sessions() as s:
            for i in range(count):
                inst = self.engine.start(s, "approval3", "pm1" if i % 2 else "pm2", START,
                                         title=f"Bench proposal {i}")
                ids += [t.id for t in inst.open_tasks]
        return ids

    def close(self) -> None:
        self.db.dispose()


#: The system catalogs every schema a test or bench run makes and drops leaves dead rows in.
CATALOGS = ("pg_class", "pg_attribute", "pg_depend", "pg_type", "pg_index", "pg_constraint",
            "pg_attrdef", "pg_sequence", "pg_statistic", "pg_namespace")
#: Dead catalog rows from which :func:`tidy_catalogs` vacuums them (when autovacuum is off).
CATALOG_DEAD_ROWS = 10_000
#: What :func:`pg_schema` found of the server's catalogs (for the report), or "".
CATALOG_NOTE = {"text": ""}


def tidy_catalogs(admin: Any) -> str:
    """With autovacuum off, dropped schemas pile up as dead rows in the system catalogs
    (a test suite's run leaves ~250,000 in ``pg_class``), and every read that looks a
    table up walks them: the same code measured 2.61x SQLite on such a server, 1.32x-1.49x
    on one without that many. Vacuum the catalogs then (a superuser may; others are told
    how), and say what was found and done."""
    with admin.connect() as conn:
        if conn.execute(text("SHOW autovacuum")).scalar() == "on":
            return ""
        dead = int(conn.execute(text(
            "SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_sys_tables "
            "WHERE schemaname = 'pg_catalog' AND relname = ANY(:names)"),
            {"names": list(CATALOGS)}).scalar() or 0)
        superuser = conn.execute(text("SHOW is_superuser")).scalar() == "on"
    if dead < CATALOG_DEAD_ROWS:
        return f"autovacuum off, {dead:,} dead rows in the system catalogs"
    if not superuser:
        return (f"autovacuum off and {dead:,} dead rows in the system catalogs: figures are "
                f"slower than on a vacuumed server (VACUUM {', '.join(CATALOGS)} as a superuser)")
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM " + ", ".join(f"pg_catalog.{n}" for n in CATALOGS)))
    return (f"autovacuum off: {dead:,} dead rows in the system catalogs (left by dropped "
            f"schemas) vacuumed before the run")


def pg_schema(base: str) -> tuple[str, Callable[[], None]] | str:
    """A URL on a fresh schema and the function dropping it, or why PostgreSQL is out;
    the catalogs are tidied first (:func:`tidy_catalogs`, noted in :data:`CATALOG_NOTE`)."""
    try:
        admin = make_db_engine(base, connect_args={"connect_timeout": 3})
        CATALOG_NOTE["text"] = tidy_catalogs(admin)
        schema = f"pmoflow_httpbench_{uuid.uuid4().hex[:8]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # any failure means: skip PostgreSQL
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", drop


# --------------------------------------------------------------------------- server


class Gunicorn:
    """``gunicorn 'pmoflow.app:create_app()'`` on a free local port."""

    def __init__(self, url: str, instance_dir: Path, args: argparse.Namespace,
                 worker_class: str | None = None, workers: int | None = None,
                 app: str = "pmoflow.app:create_app()", env: dict[str, str] | None = None,
                 probe: str = "/login", root: Path = ROOT):
        self.port = free_port()
        self.root = root  # the checkout whose code it serves (bench/ab_http.py: two)
        self.probe = probe
        # the documented production settings (pmoflow/gunicorn_conf.py: its hooks), with
        # the bench's own workers, worker class and address on top
        self.argv = [sys.executable, "-m", "gunicorn", "-c", "python:pmoflow.gunicorn_conf",
                     "--workers",
                     str(workers or args.workers),
                     "--worker-class", worker_class or args.worker_class,
                     "--threads", str(args.threads),
                     "--keep-alive", "5", "--backlog", "256", "--log-level", "warning",
                     "--bind", f"127.0.0.1:{self.port}", app]
        self.env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "http-bench-secret",
                    "PMOFLOW_HOME": str(instance_dir), "PMOFLOW_SERVER_WORKER": "0",
                    "PYTHONPATH": str(root),
                    "PMOFLOW_RATE_LIMITS": "0", **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        self.process = subprocess.Popen(self.argv, cwd=self.root, env=self.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", self.probe)
                if conn.getresponse().status == 200:
                    conn.close()
                    return self
                conn.close()
                time.sleep(0.1)
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not answer within 60 s")

    def worker_pids(self) -> list[int]:
        """The worker processes' ids (children of the gunicorn master)."""
        assert self.process is not None
        pid = self.process.pid
        try:
            found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return [int(p) for p in found]

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_cpu() -> float:
    """CPU seconds the whole machine has been busy (all CPUs, /proc/stat: not idle, not
    waiting for I/O)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return 0.0
    return (sum(values) - values[3] - values[4]) / HZ


def process_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes ``pids`` have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / HZ


def postgres_pids() -> list[int]:
    """The database server's processes on this machine (``postgres``: the backends that
    run the statements, the WAL writer, the checkpointer ...)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


# --------------------------------------------------------------------------- phases


def run_backend(label: str, url: str, args: argparse.Namespace) -> Result:
    """Seed, serve, measure one client, then ``--clients`` clients."""
    rows = {k: Row(k) for k in ("login_get", "login_post", "inbox", "form", "submit",
                                "complete")}
    result = Result(rows)
    print(f"{label}: seeding {args.tasks} open review tasks ...", flush=True)
    seeder = Seeder(url, args.clients, 2 * args.people if label == "PostgreSQL" else 0)
    try:
        warm = args.warmup
        single = seeder.open_reviews(args.tasks)
        with tempfile.TemporaryDirectory() as instance_dir, Gunicorn(url, Path(instance_dir),
                                                                     args) as server:
            print(f"{label}: one client ...", flush=True)
            result.inbox_bytes = one_client(server.port, single, warm, args, rows)
            print(f"{label}: counting statements ...", flush=True)
            result.trips = count_trips(url, single[-3:])
            print(f"{label}: floors (" + ("a static file, a bare WSGI app, " if label == "SQLite"
                                          else "") + "the stack alone) ...", flush=True)
            result.floors = floors(server.port, result.inbox_bytes, args, url,
                                   transport=label == "SQLite")
            print(f"{label}: seeding {args.concurrent_tasks} tasks for {args.clients} "
                  f"clients ...", flush=True)
            many = seeder.open_reviews(args.concurrent_tasks)
            print(f"{label}: {args.clients} clients for {args.seconds:g} s ...", flush=True)
            many_clients(server.port, many, args, result, server,
                         database=label == "PostgreSQL")
        if label == "PostgreSQL" and args.compare_gthread and args.worker_class == "sync":
            many = seeder.open_reviews(args.concurrent_tasks)
            with tempfile.TemporaryDirectory() as instance_dir, Gunicorn(
                    url, Path(instance_dir), args, worker_class="gthread") as server:
                print(f"{label}: {args.clients} clients, gthread workers ...", flush=True)
                result.gthread = Result({})
                many_clients(server.port, many, args, result.gthread, server, database=True)
        if label == "PostgreSQL" and args.people:
            for people in (args.people, 2 * args.people):
                seeder.open_reviews(max(8 * people, 100) - _open_count(seeder))
                with tempfile.TemporaryDirectory() as instance_dir, Gunicorn(
                        url, Path(instance_dir), args, worker_class="sync") as server:
                    print(f"{label}: {people} people, {args.think:g} s think time, "
                          f"{args.people_seconds:g} s ...", flush=True)
                    result.people[people] = people_run(server.port, people, args)
    finally:
        seeder.close()
    return result


def _open_count(seeder: Seeder) -> int:
    with seeder.sessions() as s:
        return int(s.execute(text(
            "SELECT count(*) FROM human_tasks WHERE status = 'open'")).scalar() or 0)


TASK_LINK = re.compile(rb'href="/tasks/(\d+)"')


def people_run(port: int, people: int, args: argparse.Namespace) -> PeopleRun:
    """``people`` reviewers at once, each: inbox (claimable), think, open a task from it,
    think, submit it, think, again; for ``--people-seconds``. A 409 (someone else took
    the task first) is expected; any other answer but 200/302 is an error."""
    import random

    run = PeopleRun(people)
    names = reviewers(people)
    clients: list[Client] = []
    for name in names:  # sign in first (password hashes), outside the timed window
        c = Client(port)
        c.sign_in(name)
        clients.append(c)
    lock = threading.Lock()
    stop = [0.0]
    rng = random.Random(7)
    offsets = [rng.uniform(0, args.think) for _ in names]

    def sleep_until(t: float) -> bool:
        pause = t - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        return time.perf_counter() < stop[0]

    def person(i: int) -> None:
        c = clients[i]
        pick = random.Random(i)
        next_at = time.perf_counter() + offsets[i]
        try:
            while sleep_until(next_at):
                status, page, t = c.request("GET", "/tasks?tab=claimable&page=1")
                if status != 200:
                    raise RuntimeError(f"inbox answered {status}")
                with lock:
                    run.inbox.samples.append(t)
                ids = TASK_LINK.findall(page)
                next_at = time.perf_counter() + args.think
                if not ids:
                    continue
                task_id = int(pick.choice(ids))
                if not sleep_until(next_at):
                    break
                status, page, t = c.request("GET", f"/tasks/{task_id}")
                next_at = time.perf_counter() + args.think
                with lock:
                    run.form.samples.append(t)
                if status == 409 or (status == 200 and b'name="csrf_token"' not in page):
                    with lock:
                        run.conflicts += 1
                    continue
                if status != 200:
                    raise RuntimeError(f"GET /tasks/{task_id} answered {status}")
                if not sleep_until(next_at):
                    break
                status, _body, t = c.request(
                    "POST", f"/tasks/{task_id}",
                    {"csrf_token": token(page), "decision": "accept", "comment": "",
                     "action": "complete"}, keep_cookies=False)
                next_at = time.perf_counter() + args.think
                with lock:
                    if status == 302:
                        run.submit.samples.append(t)
                    elif status == 409:
                        run.conflicts += 1
                    else:
                        run.errors.append(f"POST answered {status}")
        except Exception as exc:  # counted; this person stops
            with lock:
                run.errors.append(f"{names[i]}: {exc}")

    threads = [threading.Thread(target=person, args=(i,), daemon=True)
               for i in range(len(names))]
    t0 = time.perf_counter()
    stop[0] = t0 + args.people_seconds
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.seconds = time.perf_counter() - t0
    for c in clients:
        c.close()
    return run


def rss_kib(pid: int) -> int:
    """Resident set size of a process (KiB), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def memory_run(url: str, args: argparse.Namespace) -> tuple[int, int, int]:
    """One gunicorn worker; (completions, RSS KiB after 1,000, RSS KiB after all)."""
    seeder = Seeder(url, 4)
    total = args.memory
    try:
        print(f"memory: seeding {total} open review tasks ...", flush=True)
        ids = seeder.open_reviews(total)
        with tempfile.TemporaryDirectory() as instance_dir, Gunicorn(
                url, Path(instance_dir), args, worker_class="sync", workers=1) as server:
            pids = server.worker_pids()
            client = Client(server.port)
            client.sign_in("reviewer1")
            first = 0
            for n, task_id in enumerate(ids, 1):
                client.complete(task_id)
                if n == min(1000, total):
                    first = rss_kib(pids[0]) if pids else 0
                    print(f"memory: RSS after {n}: {first} KiB", flush=True)
            last = rss_kib(pids[0]) if pids else 0
            client.close()
    finally:
        seeder.close()
    return len(ids), first, last


def one_client(port: int, task_ids: list[int], warm: int, args: argparse.Namespace,
               rows: dict[str, Row]) -> int:
    """Sign-ins, inbox pages and completions, one at a time; the inbox page's size."""
    for _ in range(args.logins):
        fresh = Client(port)
        t_get, t_post = fresh.sign_in("reviewer1")
        rows["login_get"].samples.append(t_get)
        rows["login_post"].samples.append(t_post)
        fresh.close()
    client = Client(port)
    client.sign_in("reviewer1")
    pages = max(1, -(-len(task_ids) // PER_PAGE))
    size = 0
    for i in range(warm + args.rounds):
        status, body, elapsed = client.request("GET", f"/tasks?tab=claimable&page={i % pages + 1}")
        if status != 200:
            raise RuntimeError(f"inbox answered {status}")
        if i >= warm:
            rows["inbox"].samples.append(elapsed)
            size = max(size, len(body))
    todo = task_ids[: warm + args.rounds]
    for i, task_id in enumerate(todo):
        t_get, t_post = client.complete(task_id)
        if i >= warm:
            rows["form"].samples.append(t_get)
            rows["submit"].samples.append(t_post)
            rows["complete"].samples.append(t_get + t_post)
    client.close()
    return size


#: Primary-key reads on the stack's ``/reads/<n>`` page (less ``/reads/0``: what a
#: statement costs a page).
FLOOR_READS = 20


def floors(port: int, inbox_bytes: int, args: argparse.Namespace, url: str, *,
           transport: bool = True) -> dict[str, Row]:
    """What no page can beat on this machine, measured like the pages. ``transport``:
    this app's static file (gunicorn, Flask, the app's request hooks; no session read, no
    page) and a bare WSGI app (``bench/floor_app.py``) under the same gunicorn answering
    with a body the size of an inbox page (gunicorn, the loopback connection, the
    client). Then the stack the brief fixes, on ``url``'s kind of database
    (``bench/stack_floor_app.py``): a signed-in page of 25 plain rows ("stack"), a task
    form and its submit ("stack_form", "stack_submit", "stack_cycle") and a page of
    :data:`FLOOR_READS` primary-key reads and of none ("reads", "reads0")."""
    out: dict[str, Row] = {}
    bench = {"PYTHONPATH": str(ROOT / "bench")}
    if transport:
        out["static"] = _timed_gets(port, "/static/js/app.js", args)
        with tempfile.TemporaryDirectory() as home, Gunicorn(
                "sqlite://", Path(home), args, app="floor_app:app", probe="/",
                env={"FLOOR_BYTES": str(inbox_bytes), **bench}) as bare:
            out["bare"] = _timed_gets(bare.port, "/", args)
    with tempfile.TemporaryDirectory() as home:
        db_url = url if not url.startswith("sqlite") else f"sqlite:///{home}/stack_floor.db"
        env = {**os.environ, **bench, "STACK_FLOOR_DB": db_url}
        subprocess.run([sys.executable, "-c", "import stack_floor_app; stack_floor_app.prepare()"],
                       env=env, check=True)  # its tables, before two workers race to make them
        with Gunicorn("sqlite://", Path(home), args, app="stack_floor_app:create()",
                      probe="/ping", env={**bench, "STACK_FLOOR_DB": db_url}) as stack:
            out["stack"] = _timed_gets(stack.port, "/", args, sign_in="/login")
            out.update(_stack_cycles(stack.port, args))
            out["reads0"] = _timed_gets(stack.port, "/reads/0", args, sign_in="/login")
            out["reads"] = _timed_gets(stack.port, f"/reads/{FLOOR_READS}", args,
                                       sign_in="/login")
    return out


def _stack_cycles(port: int, args: argparse.Namespace) -> dict[str, Row]:
    """The stack's task form and submit, one client (:meth:`Client.complete`)."""
    rows = {k: Row(k) for k in ("stack_form", "stack_submit", "stack_cycle")}
    client = Client(port)
    client.request("GET", "/login")
    for i in range(args.warmup + args.rounds):
        t_get, t_post = client.complete(i % 25 + 1, prefix="/task")
        if i >= args.warmup:
            rows["stack_form"].samples.append(t_get)
            rows["stack_submit"].samples.append(t_post)
            rows["stack_cycle"].samples.append(t_get + t_post)
    client.close()
    return rows


def count_trips(url: str, task_ids: list[int]) -> dict[str, tuple[float, float]]:
    """(statements, round trips) of an inbox page, a task form and its submit, counted in
    this process by the engine bench's counter (:class:`pmoflow.benchmark.Trips`) through
    the app's own test client on the same database, after a warm-up; ``task_ids``: open
    tasks nobody else completes (the last is the one counted)."""
    from pmoflow.app import create_app
    from pmoflow.benchmark import Trips
    from pmoflow.config import Config
    from webui.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Config.from_env({}, database_url=url, instance_dir=Path(tmp),
                                         secret_key="http-bench-secret",
                                         run_worker_in_server=False))
        with app.app_context():
            engine = db.engine
        trips = Trips(engine)
        client = app.test_client()
        page = client.get("/login").data
        client.post("/login", data={"username": "reviewer1", "password": PASSWORD,
                                    "csrf_token": token(page)})
        for task_id in task_ids:
            trips.per_verb.clear()  # only the last round is kept
            trips.start()
            client.get("/tasks?tab=claimable&page=1")
            trips.stop("inbox")
            trips.start()
            form = client.get(f"/tasks/{task_id}")
            trips.stop("form")
            trips.start()
            done = client.post(f"/tasks/{task_id}", data={
                "csrf_token": token(form.data), "decision": "accept", "comment": "",
                "action": "complete"})
            trips.stop("submit")
            if done.status_code != 302:
                raise RuntimeError(f"counting: POST /tasks/{task_id} answered "
                                   f"{done.status_code}")
        engine.dispose()
        return trips.summary()


def _timed_gets(port: int, path: str, args: argparse.Namespace,
                sign_in: str | None = None) -> Row:
    """``args.rounds`` GETs of ``path`` after ``args.warmup`` uncounted ones (``sign_in``:
    a path that signs the client in first); each must answer 200."""
    row = Row(path)
    client = Client(port)
    if sign_in:
        client.request("GET", sign_in)
    for i in range(args.warmup + args.rounds):
        status, _body, elapsed = client.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} on port {port} answered {status}")
        if i >= args.warmup:
            row.samples.append(elapsed)
    client.close()
    return row


def many_clients(port: int, task_ids: list[int], args: argparse.Namespace,
                 result: Result, server: Gunicorn | None = None, *,
                 database: bool = False) -> None:
    """``--clients`` reviewers completing distinct tasks at once for ``--seconds``; the
    CPU the machine, the workers and the database spent in that window."""
    names = reviewers(args.clients)
    shares = [task_ids[i::len(names)] for i in range(len(names))]
    clients = []
    for name in names:
        c = Client(port)
        c.sign_in(name)
        clients.append(c)
    done = [0] * len(names)
    errors: list[str] = []
    barrier = threading.Barrier(len(names) + 1)
    deadline = [0.0]

    def work(i: int) -> None:
        barrier.wait()
        try:
            for task_id in shares[i]:
                if time.perf_counter() >= deadline[0]:
                    break
                clients[i].complete(task_id)
                done[i] += 1
        except Exception as exc:  # reported, and the run goes on
            errors.append(f"{names[i]}: {exc}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(names))]
    for t in threads:
        t.start()
    workers = server.worker_pids() if server else []
    db_pids = postgres_pids() if database else []
    before = (machine_cpu(), process_cpu(workers), process_cpu(db_pids))
    t0, cpu0 = time.perf_counter(), time.process_time()
    deadline[0] = t0 + args.seconds
    barrier.wait()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - t0
    client_cpu = time.process_time() - cpu0
    result.client_cpu = client_cpu / result.seconds
    after = (machine_cpu(), process_cpu(workers), process_cpu(db_pids))
    result.cpu = {"machine": after[0] - before[0], "workers": after[1] - before[1],
                  "database": after[2] - before[2], "client": client_cpu}
    result.completions = sum(done)
    result.clients = len(names)
    for c in clients:
        c.close()
    if errors:
        print(f"  {len(errors)} client(s) stopped early: {errors[0]}", flush=True)
    if min(done) == min(len(s) for s in shares):
        print("  note: clients ran out of tasks before the time was up; raise "
              "--concurrent-tasks", flush=True)


# --------------------------------------------------------------------------- output


LABELS = {
    "login_get": "sign in: GET /login",
    "login_post": "sign in: POST /login (password hash)",
    "inbox": f"inbox page GET /tasks?tab=claimable ({PER_PAGE}/page)",
    "form": "task form GET /tasks/<id>",
    "submit": "task submit POST /tasks/<id> (302)",
    "complete": "complete a task = GET form + POST",
}


def print_report(results: dict[str, Result | None], args: argparse.Namespace,
                 pg_note: str) -> None:
    names = list(results)
    print()
    head = f"{'request (1 client; ms)':44}" + "".join(
        f" {n + ' n':>14} {'median':>8} {'p95':>8}" for n in names)
    print(head)
    print("-" * len(head))
    for key, label in LABELS.items():
        line = f"{label:44}"
        for n in names:
            r = results[n]
            row = r.rows[key] if r else None
            line += (f" {len(row.samples):>14} {row.median:>8.2f} {row.p95:>8.2f}" if row
                     else f" {'not run':>14} {'':>8} {'':>8}")
        print(line)
    line = f"{f'completions/s, {args.clients} clients':44}"
    for n in names:
        r = results[n]
        line += (f" {r.completions:>14} {r.rate:>8.1f} {'':>8}" if r
                 else f" {'not run':>14} {'':>8} {'':>8}")
    print(line + "   (n = completions in the timed window)")
    line = f"{'  CPU used by the benchmark client itself':44}"
    for n in names:
        r = results[n]
        line += f" {'':>14} {r.client_cpu * 100:>7.0f}% {'':>8}" if r else f" {'':>32}"
    print(line + "   (of one core)")
    line = f"{'  CPU per completion, whole machine (ms)':44}"
    for n in names:
        r = results[n]
        line += (f" {'':>14} {r.cpu_ms_per_completion():>8.2f} {'':>8}" if r and r.cpu
                 else f" {'':>32}")
    print(line + "   (busy CPU of all cores in the window / completions)")
    line = f"{'    of it the gunicorn workers':44}"
    for n in names:
        r = results[n]
        line += (f" {'':>14} {r.cpu_ms_per_completion('workers'):>8.2f} {'':>8}"
                 if r and r.cpu else f" {'':>32}")
    print(line)
    pg_run = results.get("PostgreSQL")
    if pg_run and pg_run.cpu:
        print(f"{'    of it the database server':44} {'':>14} {'':>8} {'':>8} {'':>14} "
              f"{pg_run.cpu_ms_per_completion('database'):>8.2f}")
    sq_run = results.get("SQLite")
    if sq_run and sq_run.floors:
        print()
        print(f"{'floors (1 client; ms)':44} {'SQLite n':>14} {'median':>8} {'p95':>8} "
              f"{'PostgreSQL n':>14} {'median':>8} {'p95':>8}")
        for key, label in (("bare", f"bare WSGI app, same gunicorn, {sq_run.inbox_bytes // 1024} "
                                    "KB body"),
                           ("static", "this app's static file /static/js/app.js"),
                           *FLOOR_LABELS.items()):
            line = f"{label:44}"
            for n in names:
                row = (results[n] or Result({})).floors.get(key)
                line += (f" {len(row.samples):>14} {row.median:>8.2f} {row.p95:>8.2f}" if row
                         else f" {'':>32}")
            print(line.rstrip())
        print(f"{'statements (round trips) PMOflow made':44}"
              + "".join(f" {_trips_text(r.trips):>32}" if (r := results[n]) and r.trips
                        else f" {'':>32}" for n in names).rstrip())
    print()
    print(f"gunicorn: {args.workers} workers, worker class {args.worker_class}"
          + (f", {args.threads} threads" if args.worker_class == "gthread" else "")
          + ", keep-alive 5 s, app 'pmoflow.app:create_app()', PMOFLOW_SERVER_WORKER=0, "
          "access log off")
    gt = pg.gthread if (pg := results.get("PostgreSQL")) else None
    if gt is not None:
        print(f"{f'completions/s, {gt.clients} clients, gthread ({args.threads} threads)':44}"
              f" {'':>14} {'':>8} {'':>8} {gt.completions:>14} {gt.rate:>8.1f}"
              "   (PostgreSQL, same workers count)")
    if pg is not None and pg.people:
        print()
        print(f"people working at once (PostgreSQL, gunicorn {args.workers} sync workers, "
              f"{args.think:g} s think time, {args.people_seconds:g} s): ms")
        print(f"{'people':>8} {'submits':>8} {'/s':>6} {'inbox p95':>10} {'form p95':>9} "
              f"{'submit p50':>11} {'submit p95':>11} {'409s':>5} {'errors':>7}")
        for n, run in pg.people.items():
            print(f"{n:>8} {len(run.submit.samples):>8} {run.rate:>6.1f} "
                  f"{run.inbox.p95:>10.1f} {run.form.p95:>9.1f} {run.submit.median:>11.1f} "
                  f"{run.submit.p95:>11.1f} {run.conflicts:>5} {len(run.errors):>7}"
                  + (f"   first error: {run.errors[0]}" if run.errors else ""))
        print(f"goal: {args.people} people: complete-task p95 <= 50 ms, no errors but 409s "
              "(the doubled load is reported beside it)")
    if args.memory_result:
        n, first, last = args.memory_result
        growth = (last - first) / first * 100 if first else float("nan")
        print(f"memory: one sync worker, RSS after {min(1000, n)} completions {first / 1024:.1f}"
              f" MiB, after {n} {last / 1024:.1f} MiB ({growth:+.1f}%); goal: within 10%")
    print()
    print("SQLite: " + ", ".join(f"{k}={v}" for k, v in SQLITE_PRAGMAS.items())
          + ", BEGIN IMMEDIATE for writes, connect timeout 30 s, temporary file")
    print(f"PostgreSQL: {pg_note}")
    print(f"client: http.client, one connection and cookie jar per client; {args.tasks} open "
          f"review tasks in the inbox; {args.warmup} warm-up requests of each kind not "
          f"counted")
    print(f"machine: {os.cpu_count()} CPUs shared by gunicorn, the database and this client; "
          f"1-min load average {args.load_before:.2f} before the run, "
          f"{os.getloadavg()[0]:.2f} after (other work on the machine skews the numbers)")
    print(f"goals: {GOALS}")
    sqlite, pg = results.get("SQLite"), results.get("PostgreSQL")
    for line in goal_lines(sqlite, pg):
        print("  " + line)
    for line in floor_lines(sqlite, pg):
        print("  " + line)
    x = f"{sqlite.rows['complete'].median:.2f}" if sqlite else "n/a"
    y = f"{sqlite.rows['inbox'].median:.2f}" if sqlite else "n/a"
    z = f"{pg.rate:.1f}" if pg else "n/a"
    print(f"http_complete_ms={x} inbox_ms={y} completions_per_s_8c={z}")


#: The stack's own pages (``bench/stack_floor_app.py``) in the floors table.
FLOOR_LABELS = {
    "stack": "Flask + Flask-Login + 1 SELECT + Jinja, 25 rows",
    "stack_form": "  the stack's task form (1 read)",
    "stack_submit": "  the stack's submit (update, COMMIT, 302)",
    "stack_cycle": "  the stack's form + submit",
    "reads0": "  the stack's page of no read",
    "reads": f"  the stack's page of {FLOOR_READS} primary-key reads",
}


def _trips_text(trips: dict[str, tuple[float, float]]) -> str:
    """``inbox 7, form 12, submit 17 (…)``: statements and, where they differ, round trips."""
    parts = []
    for kind in ("inbox", "form", "submit"):
        statements, trips_ = trips[kind]
        parts.append(f"{kind[0]} {statements:.0f}" + (f" ({trips_:.0f})" if trips_ != statements
                                                      else ""))
    return " ".join(parts)


def per_read(run: Result) -> float:
    """What one more primary-key read costs a page of the stack on ``run``'s database (ms),
    measured in this run: ``/reads/N`` less ``/reads/0``, over N."""
    return max(run.floors["reads"].median - run.floors["reads0"].median, 0.0) / FLOOR_READS


def goal_lines(sqlite: Result | None, pg: Result | None) -> list[str]:
    """Each goal with the figure measured in this run and whether it was met."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    out = []
    if sqlite:
        c, i = sqlite.rows["complete"].median, sqlite.rows["inbox"].median
        out.append(f"SQLite complete (GET+POST) median {c:.2f} ms <= 4 ms: {verdict(c <= 4)}")
        out.append(f"SQLite inbox page median {i:.2f} ms <= 2 ms: {verdict(i <= 2)}")
        if pg:
            for key, name in (("complete", "complete"), ("inbox", "inbox page")):
                ratio = pg.rows[key].median / sqlite.rows[key].median
                out.append(f"PostgreSQL {name} {pg.rows[key].median:.2f} ms = {ratio:.2f}x "
                           f"SQLite <= 1.5x: {verdict(ratio <= 1.5)}")
    if pg:
        out.append(f"8 clients on PostgreSQL {pg.rate:.1f}/s >= 370/s: {verdict(pg.rate >= 370)}"
                   + (f" (gthread: {pg.gthread.rate:.1f}/s)" if pg.gthread else ""))
    return out


def floor_lines(sqlite: Result | None, pg: Result | None) -> list[str]:
    """What the floors measured in this run say about the goals."""
    out = []
    cores = os.cpu_count() or 1
    if sqlite and sqlite.floors:
        bare, static = sqlite.floors["bare"].median, sqlite.floors["static"].median
        out.append(f"floor: a bare WSGI app under the same gunicorn answers an inbox-sized body "
                   f"in {bare:.2f} ms and this app's static file takes {static:.2f} ms, so a "
                   f"page is at least ~{static:.1f} ms and GET + POST ~{2 * static:.1f} ms "
                   f"before it reads or renders anything")
    if sqlite and "stack" in sqlite.floors:
        stack = sqlite.floors["stack"].median
        out.append(f"floor: the stack the brief fixes (Flask, Flask-Login, Flask-SQLAlchemy, "
                   f"Jinja) answers a signed-in page of 25 plain rows with one SELECT in "
                   f"{stack:.2f} ms (bench/stack_floor_app.py): the inbox goal of 2 ms leaves "
                   f"{2 - stack:.2f} ms for PMOflow's own work on such a page")
    if sqlite and "stack_cycle" in sqlite.floors and sqlite.trips:
        cycle, read = sqlite.floors["stack_cycle"].median, per_read(sqlite)
        extra = sum(sqlite.trips[k][0] for k in ("form", "submit")) - 3
        out.append(f"floor: the stack's own task form and submit (one read; one update, COMMIT) "
                   f"take {cycle:.2f} ms on SQLite; PMOflow's make {extra:.0f} statements more "
                   f"(counted in this run), at {read:.3f} ms a read another "
                   f"{extra * read:.2f} ms: {cycle + extra * read:.2f} ms before the workflow "
                   f"step, its rules, projections and audit run, against a goal of 4 ms")
    if sqlite and pg and sqlite.trips and pg.trips and "reads" in pg.floors:
        for key, name, kinds in (("complete", "complete", ("form", "submit")),
                                 ("inbox", "inbox page", ("inbox",))):
            statements = sum(sqlite.trips[k][0] for k in kinds)
            trips = sum(pg.trips[k][1] for k in kinds)
            s_read, p_read = per_read(sqlite), per_read(pg)
            gap = trips * p_read - statements * s_read
            own, what = (("stack_cycle", "form + submit") if key == "complete"
                         else ("stack", "page"))
            out.append(
                f"floor: PostgreSQL {name}: {trips:.0f} round trips "
                f"at {p_read:.3f} ms (a read on the stack's page, this run) against "
                f"{statements:.0f} statements at "
                f"{s_read:.3f} ms on SQLite: at least {gap:.2f} ms more, so "
                f"<= 1.5x holds only while SQLite's figure is >= {2 * gap:.2f} ms (it is "
                f"{sqlite.rows[key].median:.2f}; the stack's own {what} takes "
                f"{sqlite.floors[own].median:.2f} ms on SQLite, {pg.floors[own].median:.2f} ms "
                f"on PostgreSQL)")
    if pg and pg.cpu and pg.completions:
        need = cores * 1000 / 370
        have = pg.cpu_ms_per_completion()
        out.append(f"floor: 370 completions/s on {cores} CPUs needs <= {need:.1f} ms of CPU per "
                   f"completion (client, server and database together); measured "
                   f"{have:.1f} ms (workers {pg.cpu_ms_per_completion('workers'):.1f}, database "
                   f"{pg.cpu_ms_per_completion('database'):.1f}), a ceiling of "
                   f"{cores * 1000 / have:.0f}/s if every CPU did nothing else")
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="http_bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", type=int, default=400, help="open tasks in the inbox")
    p.add_argument("--rounds", type=int, default=200,
                   help="inbox pages and task completions measured with one client")
    p.add_argument("--logins", type=int, default=10, help="sign-ins measured")
    p.add_argument("--warmup", type=int, default=10, help="uncounted requests of each kind")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=10.0, help="length of the concurrent run")
    p.add_argument("--concurrent-tasks", type=int, default=0,
                   help="tasks seeded for the concurrent run (default: 500 per second)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    p.add_argument("--threads", type=int, default=4, help="per worker, for gthread")
    p.add_argument("--sqlite-only", action="store_true")
    p.add_argument("--no-gthread", dest="compare_gthread", action="store_false",
                   help="skip the many-clients run with gthread workers (PostgreSQL)")
    p.add_argument("--people", type=int, default=0,
                   help="people working at once on PostgreSQL (e.g. 50; also run doubled)")
    p.add_argument("--think", type=float, default=5.0, help="think time between actions (s)")
    p.add_argument("--people-seconds", type=float, default=60.0,
                   help="length of each people run")
    p.add_argument("--memory", type=int, default=0,
                   help="completions through one worker (e.g. 10000) to compare its RSS "
                        "after 1,000 and after all (SQLite)")
    p.add_argument("--only-memory", action="store_true", help="run only the --memory part")
    p.add_argument("--pg-url", default=os.environ.get("PMOFLOW_TEST_PG", DEFAULT_PG))
    args = p.parse_args(argv)
    args.rounds = min(args.rounds, max(args.tasks - args.warmup, 1))
    if args.concurrent_tasks <= 0:
        args.concurrent_tasks = max(int(500 * args.seconds), 8 * args.clients)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.load_before = os.getloadavg()[0]
    args.memory_result = None
    results: dict[str, Result | None] = {}
    if args.only_memory:
        with tempfile.TemporaryDirectory() as tmp:
            n, first, last = memory_run(f"sqlite:///{tmp}/memory.db", args)
        growth = (last - first) / first * 100 if first else float("nan")
        print(f"memory: one sync worker, RSS after {min(1000, n)} completions "
              f"{first / 1024:.1f} MiB, after {n} {last / 1024:.1f} MiB ({growth:+.1f}%); "
              "goal: within 10%")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = run_backend("SQLite", f"sqlite:///{tmp}/http-bench.db", args)
    if args.memory:
        with tempfile.TemporaryDirectory() as tmp:
            args.memory_result = memory_run(f"sqlite:///{tmp}/memory.db", args)
    pg_note = "skipped (--sqlite-only)"
    results["PostgreSQL"] = None
    if not args.sqlite_only:
        found = pg_schema(args.pg_url)
        if isinstance(found, str):
            pg_note = f"NOT RUN: unreachable at {args.pg_url} ({found})"
            print(f"PostgreSQL {pg_note}", flush=True)
        else:
            url, drop = found
            pg_note = (f"{args.pg_url}, a fresh schema dropped afterwards, connections "
                       "checked when idle over 1 s, pipeline mode in engine actions"
                       + (f"; {CATALOG_NOTE['text']}" if CATALOG_NOTE["text"] else ""))
            try:
                results["PostgreSQL"] = run_backend("PostgreSQL", url, args)
            finally:
                drop()
    print_report(results, args, pg_note)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
