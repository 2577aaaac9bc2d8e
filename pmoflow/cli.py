"""The ``pmoflow`` command: init, serve, worker, deploy, validate, import-camunda, users,
tokens, bench.

Every command reports problems as plain lines and an exit status; none prints a Python
traceback for bad input.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import threading
from collections.abc import Sequence

from engine.errors import EngineError, InvalidDiagram
from pmoflow.config import Config
from pmoflow.database import DatabaseNotReady

#: Database drivers that come with an extra rather than the base install.
OPTIONAL_DRIVERS = {"psycopg": "postgres"}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pmoflow`` console script."""
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["clock", "advance"] and len(argv) > 2 and argv[2][:1] == "-" \
            and argv[2] not in ("-h", "--help", "--"):
        argv.insert(2, "--")  # "-2d" is a (refused) duration, not an option
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, IsADirectoryError, PermissionError, ValueError,
            DatabaseNotReady) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:
        if exc.name not in OPTIONAL_DRIVERS:
            raise
        print(f"error: the database driver {exc.name} is not installed: "
              f"pip install 'pmoflow[{OPTIONAL_DRIVERS[exc.name]}]'", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pmoflow", description="PMOflow: BPMN workflows for PMOs")
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = p.add_subparsers(title="commands")

    s = sub.add_parser("init", help="create or upgrade the database; --demo seeds demo data")
    s.add_argument("--demo", action="store_true",
                   help="demo users (password 'demo'), demo data, every process in bpmn/")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("demo", help="demo data: --year simulates a year of PMO work through "
                       "the engine (dashboards and heatmaps have something to show)")
    s.add_argument("--year", action="store_true", required=True,
                   help="simulate twelve months of the four processes, ending now")
    s.add_argument("--months", type=int, default=12, help="how many months (1-24, default 12)")
    s.add_argument("--seed", type=int, default=1, help="random seed: the same seed, the same "
                   "counts (default 1)")
    s.add_argument("--force", action="store_true",
                   help="run even though the database already holds instances or real work")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("clock", help="show or move a demo/test install's clock (reset: back "
                       "to real time); mark-test marks an install without demo data as a "
                       "test install")
    s.add_argument("action", choices=["status", "advance", "reset", "mark-test"])
    s.add_argument("duration", nargs="?", default="",
                   help="how far forward: 2d, 4h, 30m, 1w or ISO 8601 such as P1DT2H")
    s.set_defaults(func=cmd_clock)

    s = sub.add_parser("serve", help="run the web app (and the job worker on SQLite)")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--no-worker", action="store_true", help="do not fire jobs in this process")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("worker", help="fire due timers and jobs until stopped")
    s.add_argument("--once", action="store_true", help="fire what is due now, then exit")
    s.set_defaults(func=cmd_worker)

    s = sub.add_parser("doctor", help="find stranded or inconsistent instances and failed "
                       "jobs; one line each; exit 1 if any")
    s.add_argument("--repair", choices=["rerun", "cancel"],
                   help="rerun: run engine steps and rebuild tasks and jobs from the saved "
                   "state; cancel: cancel the instance (needs --reason)")
    s.add_argument("--reason", default="", help="why (recorded in the audit trail)")
    s.add_argument("--instance", type=int, action="append", dest="instances",
                   metavar="ID", help="repair only this instance (repeatable)")
    s.add_argument("--as", dest="actor", default="operator",
                   help="name recorded as the repairer (default: operator)")
    s.set_defaults(func=cmd_doctor)

    s = sub.add_parser("deploy", help="validate and deploy BPMN/DMN/form files or folders")
    s.add_argument("paths", nargs="+")
    s.add_argument("--as", dest="actor", default="admin", help="username recorded as deployer")
    s.add_argument("--comment", default="", help="why: kept with the new versions and audited")
    s.set_defaults(func=cmd_deploy)

    from pmoflow.camunda_cli import add_parser as add_import_camunda

    add_import_camunda(sub)

    s = sub.add_parser("validate", help="check files; one line per problem; exit 1 if any")
    s.add_argument("paths", nargs="+")
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("users", help="list users, add one, set a password")
    s.add_argument("action", choices=["list", "add", "passwd"])
    s.add_argument("username", nargs="?")
    s.add_argument("--roles", default="", help="comma-separated role keys (add)")
    s.add_argument("--name", default="", help="display name (add)")
    s.add_argument("--password", help="password (default: generate and print one)")
    s.set_defaults(func=cmd_users)

    s = sub.add_parser("tokens", help="personal API tokens: create (shown once), list, revoke")
    tokens = s.add_subparsers(title="actions", dest="action", required=True)
    t = tokens.add_parser("create", help="make a token for USER and print it once")
    t.add_argument("username", metavar="USER")
    t.add_argument("--name", default="", help="what the token is for (e.g. jira)")
    t.add_argument("--expires", default="90d",
                   help="lifetime: 90d, 12h, 2w, or never (default 90d)")
    t = tokens.add_parser("list", help="tokens of USER (everyone's without one)")
    t.add_argument("username", metavar="USER", nargs="?")
    t = tokens.add_parser("revoke", help="revoke the token with this id")
    t.add_argument("token_id", metavar="ID", type=int)
    s.set_defaults(func=cmd_tokens)

    s = sub.add_parser("bench", help="engine benchmark: raw SpiffWorkflow vs persisted")
    s.add_argument("--quick", action="store_true", help="fewer rounds (for a smoke run)")
    s.add_argument("--pg-url", help="PostgreSQL URL (default: the local test database)")
    s.add_argument("--timers", action="store_true",
                   help="instead: timer fire latency with 1, 2, 4 workers on PostgreSQL")
    s.add_argument("--scale", action="store_true",
                   help="instead: inbox, badge and dashboard queries with 1,000,000 instances "
                        "and 100,000 open tasks on PostgreSQL (bench/scale_bench.py; "
                        "generates the data first if missing)")
    s.set_defaults(func=cmd_bench)
    return p


def version() -> str:
    """The installed distribution's version (package metadata)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("pmoflow")
    except PackageNotFoundError:
        return "(not installed: pip install -e .)"


def _runtime():
    from pmoflow.wiring import build

    return build(Config.from_env())


def _ready_runtime():
    """The runtime, once the configured database exists and has this version's schema."""
    from pmoflow.database import require_ready

    rt = _runtime()
    require_ready(rt.config.database_url)
    return rt


def cmd_init(args: argparse.Namespace) -> int:
    """Create/upgrade the schema and roles; seed demo data or a first admin."""
    from pmoflow import seed

    rt = _runtime()
    seed.upgrade_schema(rt)
    with rt.sessions() as session:
        if args.demo:
            seed.seed_demo(rt, session, log=print)
            rt.engine.mark_demo_install(session, "cli")
        else:
            password = seed.seed_admin(rt, session)
            if password:
                print("Created user 'admin' with password (shown once):")
                print(f"    {password}")
            else:
                print("Users already exist; no admin created.")
    print(f"Database ready: {_safe_url(rt.config.database_url)}")
    print(f"Instance folder: {rt.config.instance_dir}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Seed the demo users and processes, then simulate a year of work through the engine."""
    from datetime import timedelta

    from pmoflow import demo_year, seed

    if not 1 <= args.months <= 24:
        raise ValueError(f"--months {args.months}: choose 1 to 24")
    rt = _runtime()
    seed.upgrade_schema(rt)
    with rt.sessions() as session:
        why = demo_year.real_work(session, rt.engine.install_status(session).demo)
        if why and not args.force:
            print(f"error: demo --year refused: {why}. Nothing was written. Use a fresh "
                  "database, or --force to add a demo year anyway.", file=sys.stderr)
            return 1
        seed.seed_demo_people(rt, session, log=print)
        demo_year.ensure_people(session, rt.engine.clock.now(), seed.DEMO_PASSWORD)
        seed.deploy_dir(rt, session, print)
        rt.engine.mark_demo_install(session, "cli")
        end = rt.engine.install_status(session).now
        start = demo_year.span_start(end, args.months)
        demo_year.backdate_definitions(session, start)
        for seeder in seed.demo_seeders():  # the three demo projects, running from day one
            seeder(rt.engine, session, start)
        bar = ProgressBar(sys.stderr)
        result = demo_year.run(rt.engine, session, end=end, months=args.months,
                               seed=args.seed, progress=bar)
        bar.done()
    started = ", ".join(f"{k} {v}" for k, v in sorted(result.started.items()))
    print(f"demo year {result.end - timedelta(days=round(30.44 * result.months)):%Y-%m-%d} .. "
          f"{result.end:%Y-%m-%d} after a warm-up from {result.start:%Y-%m-%d} "
          f"(seed {result.seed}): "
          f"{result.requests} requests ({started}); {result.completed_tasks} steps completed, "
          f"{result.jobs_fired} timers fired, {result.refused_actions} actions refused, "
          f"in {result.seconds:.0f} s")
    for (step, code), n in result.refusals.most_common(5):
        print(f"  refused {n}x at {step}: {code}")
    print("Sign in as pmohead or admin (password 'demo') and open the dashboard.")
    return 0


class ProgressBar:
    """A one-line progress bar on a terminal (plain lines every 10 % otherwise)."""

    def __init__(self, stream, width: int = 30):
        self.stream, self.width = stream, width
        self.tty = getattr(stream, "isatty", lambda: False)()
        self.last = -1

    def __call__(self, fraction: float, text: str) -> None:
        pct = round(100 * fraction)
        if self.tty:
            filled = int(self.width * fraction)
            self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {pct:3d}%  {text}")
            self.stream.flush()
        elif pct // 10 != self.last // 10:
            self.stream.write(f"{pct:3d}%  {text}\n")
        self.last = pct

    def done(self) -> None:
        """End the bar's line."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def cmd_clock(args: argparse.Namespace) -> int:
    """Print the install's clock, or move a demo install's clock forward."""
    rt = _ready_runtime()
    with rt.sessions() as session:
        if args.action == "advance":
            status = rt.engine.advance_clock(session, "cli", args.duration)
        elif args.action == "reset":
            status = rt.engine.reset_clock(session, "cli")
        elif args.action == "mark-test":
            rt.engine.mark_demo_install(session, "cli")
            status = rt.engine.install_status(session)
        else:
            status = rt.engine.install_status(session)
    kind = "demo/test install" if status.demo else "production install"
    print(f"{kind}; now {status.now.isoformat(timespec='seconds')}; "
          f"ahead of real time by {status.offset}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the web app; on the embedded database also run the worker in a thread."""
    from werkzeug.serving import run_simple

    from pmoflow.app import create_app
    from pmoflow.database import require_ready

    config = Config.from_env()
    require_ready(config.database_url)
    limit_memory(config.memory_limit_mb)
    host = args.host or config.host
    port = args.port or config.port
    app = create_app(config)
    rt = app.extensions["pmoflow"]
    stop = threading.Event()
    if config.run_worker_in_server and not args.no_worker:
        t = threading.Thread(
            target=rt.engine.work, name="pmoflow-worker", daemon=True,
            args=(rt.sessions,),
            kwargs={"poll_seconds": config.worker_poll_seconds, "stop": stop.is_set},
        )
        t.start()
    print(f"PMOflow is running: open http://{host}:{port}/  (Ctrl+C to stop)", flush=True)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        stop.set()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the job worker."""
    rt = _ready_runtime()
    limit_memory(rt.config.memory_limit_mb)
    if args.once:
        with rt.sessions() as session:
            report = rt.engine.fire_due_jobs(session)
        for err in report.errors:
            print(f"failed: {err}")
        print(f"fired {report.fired} job(s), {report.failed} failed")
        return 1 if report.failed else 0
    print(f"worker running against {_safe_url(rt.config.database_url)} (Ctrl+C to stop)",
          flush=True)
    rt.engine.work(rt.sessions, poll_seconds=rt.config.worker_poll_seconds,
                   log=lambda m: print(m, flush=True))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check every instance, keep the findings as incidents, print one line each; with
    ``--repair`` repair the instances found, then check again."""
    if args.repair == "cancel" and not args.reason.strip():
        raise ValueError("--repair cancel needs --reason")
    rt = _ready_runtime()
    try:
        with rt.sessions() as session:
            report = rt.engine.doctor(session)
            if args.repair:
                wanted = set(args.instances or [])
                targets = dict.fromkeys(f.instance_id for f in report.findings
                                        if f.instance_id and (not wanted
                                                              or f.instance_id in wanted))
                for instance_id in targets:
                    print(_repair_line(rt.engine, session, instance_id, args))
                report = rt.engine.doctor(session)
    finally:
        rt.db.dispose()
    for finding in report.findings:
        print(finding)
    print(f"{len(report.findings)} finding(s) in {report.instances_checked} running "
          "instance(s) and the job queue", file=sys.stderr)
    return 1 if report.findings else 0


def _repair_line(engine, session, instance_id: int, args: argparse.Namespace) -> str:
    try:
        result = engine.repair(session, instance_id, args.actor, args.repair, args.reason)
    except EngineError as exc:
        return f"instance {instance_id}: {args.repair} failed: {' '.join(str(exc).split())}"
    return (f"instance {instance_id}: {args.repair} done, now {result.status}, "
            f"{len(result.resolved)} incident(s) resolved")


def cmd_deploy(args: argparse.Namespace) -> int:
    """Deploy files; print what was created, or every problem."""
    from pmoflow.wiring import collect_files

    rt = _ready_runtime()
    files = collect_files(args.paths)
    with rt.sessions() as session:
        try:
            result = rt.engine.deploy(session, files, actor=args.actor, comment=args.comment)
        except InvalidDiagram as exc:
            for problem in exc.problems:
                print(problem)
            print(f"deploy refused: {len(exc.problems)} problem(s)", file=sys.stderr)
            return 1
    for d in result.decisions:
        print(f"deployed decision {d.key} v{d.version}")
    for p in result.processes:
        print(f"deployed process {p.key} v{p.version} ({p.name})")
    for key in result.unchanged:
        print(f"unchanged {key}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Make the checks ``deploy`` makes, against the configured database; store nothing."""
    from pmoflow.wiring import collect_files

    files = collect_files(args.paths)
    problems = _validate(files)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {len(files)} file(s)", file=sys.stderr)
        return 1
    print(f"ok: {len(files)} file(s) can be deployed")
    return 0


def _validate(files):
    rt = _ready_runtime()
    with rt.sessions() as session:
        return rt.engine.validate(session, files)


def cmd_users(args: argparse.Namespace) -> int:
    """Manage users from the command line."""
    from sqlalchemy import select

    from engine import identity
    from engine.store.models import User
    from engine.store.uow import unit_of_work

    rt = _ready_runtime()
    with rt.sessions() as session:
        if args.action == "list":
            for user in session.scalars(select(User).order_by(User.username)):
                view = identity.user_view(session, user)
                print(f"{view.username:12} {','.join(view.roles):30} {view.display_name}")
            return 0
        if not args.username:
            raise ValueError(f"users {args.action} needs a username")
        password = args.password or secrets.token_urlsafe(12)
        with unit_of_work(session):
            if args.action == "add":
                roles = [r.strip() for r in args.roles.split(",") if r.strip()]
                identity.create_user(session, args.username, now=rt.engine.clock.now(),
                                     password=password, display_name=args.name, roles=roles)
            else:
                identity.set_password(session, args.username, password)
        if not args.password:
            print(f"password for {args.username}: {password}")
        return 0


def cmd_tokens(args: argparse.Namespace) -> int:
    """Create, list or revoke personal API tokens (the secret is printed once)."""
    from engine.tokens import parse_duration

    rt = _ready_runtime()
    with rt.sessions() as session:
        if args.action == "create":
            made = rt.engine.create_token(session, args.username, name=args.name,
                                          expires_in=parse_duration(args.expires))
            until = made.token.expires_at.strftime("%Y-%m-%d %H:%M UTC") if (
                made.token.expires_at) else "never"
            print(f"Token {made.token.id} for {args.username} ({made.token.name}), "
                  f"expires {until}. Shown once, keep it secret:")
            print(f"    {made.secret}")
            return 0
        if args.action == "list":
            now = rt.engine.clock.now()
            for t in rt.engine.api_tokens(session, args.username):
                used = t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "never"
                until = t.expires_at.strftime("%Y-%m-%d") if t.expires_at else "never"
                print(f"{t.id:>5} {t.prefix:14} {t.username:12} {t.status(now):8} "
                      f"expires {until:10} used {used:16} {t.name}")
            return 0
        view = rt.engine.revoke_token(session, args.token_id, None)
        print(f"revoked token {view.id} ({view.prefix}) of {view.username}")
        return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the engine benchmark and print its table."""
    from pmoflow.benchmark import HERE
    from pmoflow.benchmark import main as bench_main

    if not HERE.is_dir():
        raise ValueError("pmoflow bench runs from a source checkout (it reads bench/processes)")
    if args.timers:
        import runpy

        timers = runpy.run_path(str(HERE.parent / "timer_latency.py"), run_name="timer_bench")
        argv = ["--timers", "20", "--burst", "40"] if args.quick else []
        if args.pg_url:
            argv += ["--pg-url", args.pg_url]
        return int(timers["main"](argv))
    if args.scale:
        import runpy
        import sys

        sys.path.insert(0, str(HERE.parent))  # scale_bench imports scale_data beside it
        scale = runpy.run_path(str(HERE.parent / "scale_bench.py"), run_name="scale_bench")
        argv = ["--quick"] if args.quick else []
        if args.pg_url:
            argv += ["--pg-url", args.pg_url]
        return int(scale["main"](argv))
    argv = ["--quick"] if args.quick else []
    if args.pg_url:
        argv += ["--pg-url", args.pg_url]
    return bench_main(argv)


def limit_memory(megabytes: int) -> None:
    """Cap this process's address space (RLIMIT_AS); 0 leaves it alone."""
    if megabytes <= 0:
        return
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = megabytes * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft == resource.RLIM_INFINITY or soft > wanted:
        resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}@{host}"
    return url


if __name__ == "__main__":
    raise SystemExit(main())
