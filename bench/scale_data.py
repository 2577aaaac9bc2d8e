"""Fill a PostgreSQL schema with a big install: 1,000,000 instances, 100,000 open tasks.

```
.venv/bin/python bench/scale_data.py                 # build pmoflow_scale if missing
.venv/bin/python bench/scale_data.py --rebuild       # drop and build again
.venv/bin/python bench/scale_data.py --instances 100000 --open-tasks 10000 --schema s2
```

The schema is made by the real migrations, the demo users, roles and the shipped processes
are created by the same code as ``pmoflow init --demo`` (so the web app serves it), then the
bulk rows come from ``INSERT ... SELECT generate_series`` (a few minutes, progress shown):

- users: the demo users plus ``--people`` generated ones (PMs, sponsors, reviewers, team,
  finance, steering; password ``demo``), with their global roles;
- ``projects`` (one per 50 instances), each with a sponsor and two team members in
  ``project_roles``; the demo ``sponsor1``/``team1`` hold a few hundred of them;
- ``process_instances`` over the three years before now, ids in start order, the four
  shipped processes (approval 35 %, risk review 30 %, escalation 20 %, closure 15 %);
  the newest are running (exactly ``--open-tasks`` of them), 3 % of the rest cancelled,
  the others completed, cycle times falling over the years;
- ``human_tasks``: one open task per running instance (the real user tasks of each process
  with their roles, forms, four-eyes flags; project-scoped roles carry the project; 30 %
  claimed by someone holding the role, the rest in the pool; most with a due date, some
  overdue) and two completed tasks per completed instance;
- ``audit_events`` (``started`` per instance), ``risks``, ``escalations``, ``lessons``
  and project stage changes in proportion.

The state JSON of generated instances is a placeholder: they are for lists, counts and
dashboards.  Pages that load a workflow (the task form) use instances started through the
engine afterwards (``bench/scale_http.py`` does that).  The schema is kept between runs:
benches find it by name (``--schema``, default ``pmoflow_scale``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_SCHEMA = "pmoflow_scale"


def schema_url(base: str, schema: str) -> str:
    """The URL of ``base`` with ``search_path`` set to ``schema``."""
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def schema_ready(base: str, schema: str) -> bool:
    """Whether ``schema`` holds a finished generated install."""
    db = create_engine(base)
    try:
        with db.connect() as conn:
            return bool(conn.scalar(text(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = :s AND table_name = 'scale_generated'"), {"s": schema}))
    finally:
        db.dispose()


def drop(base: str, schema: str) -> None:
    """Drop a generated schema."""
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


class Progress:
    """One line per step with its time, and the total."""

    def __init__(self, steps: int):
        self.steps, self.done, self.t0 = steps, 0, time.perf_counter()

    def step(self, label: str, conn, sql: str, params: dict | None = None) -> None:
        t = time.perf_counter()
        print(f"  [{self.done + 1:2d}/{self.steps}] {label} ...", end="", flush=True)
        result = conn.execute(text(sql), params or {})
        n = result.rowcount if result.rowcount is not None and result.rowcount >= 0 else 0
        self.done += 1
        print(f" {n:,} rows, {time.perf_counter() - t:.1f} s "
              f"(total {time.perf_counter() - self.t0:.0f} s)", flush=True)


def base_install(url: str) -> None:
    """Schema by migrations, roles, demo users, shipped processes (as ``pmoflow init``)."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "scale-bench")
    from pmoflow import seed
    from pmoflow.config import Config
    from pmoflow.wiring import build

    rt = build(Config.from_env())
    seed.upgrade_schema(rt)
    with rt.sessions() as session:
        seed.seed_demo_people(rt, session, log=lambda _m: None)
        seed.deploy_dir(rt, session, log=lambda _m: None)
    rt.db.dispose() if hasattr(rt, "db") else None


# Generated people: (prefix, role, how many per 1,000 --people)
PEOPLE = (("gpm", "pm", 400), ("gsponsor", "sponsor", 200), ("greviewer", "pmo_reviewer", 30),
          ("gfinance", "finance", 10), ("gsteer", "steering", 10), ("ghead", "pmo_head", 2),
          ("gteam", "team", 348))

# Share of open tasks per process (per mille) and of instances.
PROCESS_SHARE = (("project_approval", 350), ("risk_review", 300), ("escalation", 200),
                 ("project_closure", 150))


def generate(base: str, schema: str, instances: int, open_tasks: int, people: int) -> None:
    """Build ``schema`` from scratch (dropping it first)."""
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = schema_url(base, schema)
    t0 = time.perf_counter()
    print(f"schema {schema}: migrations, roles, demo users, shipped processes ...", flush=True)
    base_install(url)
    print(f"  base install {time.perf_counter() - t0:.1f} s", flush=True)
    db = create_engine(url)
    n_projects = max(100, instances // 50)
    running_from = instances - int(open_tasks * 1.5)  # the newest 150 %: 2 of 3 run
    p = Progress(16)
    with db.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        conn.execute(text("SET LOCAL work_mem = '64MB'"))
        conn.execute(text("CREATE TEMP TABLE g_now AS SELECT (now() at time zone 'utc') AS now"))
        # --- people
        values = ", ".join(f"('{prefix}', '{role}', {per})" for prefix, role, per in PEOPLE)
        conn.execute(text(f"CREATE TEMP TABLE g_kinds(prefix text, role text, per int) "
                          f"ON COMMIT DROP; INSERT INTO g_kinds VALUES {values}"))
        p.step("users", conn, """
            INSERT INTO users (username, display_name, email, password_hash, active,
                               created_at)
            SELECT k.prefix || lpad(g::text, 5, '0'), initcap(k.role) || ' ' || g,
                   k.prefix || g || '@example.com',
                   (SELECT password_hash FROM users WHERE username = 'pm1'), true,
                   (SELECT now FROM g_now) - interval '4 years'
            FROM g_kinds k, generate_series(1, greatest(1, k.per * :people / 1000)) g""",
               {"people": people})
        conn.execute(text("""
            INSERT INTO user_roles (username, role_key)
            SELECT k.prefix || lpad(g::text, 5, '0'), k.role
            FROM g_kinds k, generate_series(1, greatest(1, k.per * :people / 1000)) g"""),
                     {"people": people})
        # numbered people per role (1-based) for picking by modulo
        conn.execute(text("""
            CREATE TEMP TABLE g_people AS
            SELECT role_key AS role, username,
                   row_number() OVER (PARTITION BY role_key ORDER BY username) AS n
            FROM user_roles;
            CREATE INDEX ON g_people (role, n);
            CREATE TEMP TABLE g_counts AS SELECT role, count(*) AS c FROM g_people GROUP BY role;
        """))
        # --- projects
        p.step("projects", conn, """
            INSERT INTO projects (id, code, title, business_case, strategic_objective, category,
                budget_amount, currency, budget_reporting, reporting_currency, planned_start,
                planned_end, expected_roi_pct, risk_rating, departments, headcount, pm,
                sponsor, stage, created_at, updated_at, approved_at, closed_at)
            SELECT g, 'PRJ-' || (2023 + g * 4 / :n) || '-' || lpad(g::text, 6, '0'),
                   'Generated project ' || g, 'Generated for the scale bench', 'Scale',
                   (ARRAY['it','construction','rnd','compliance','operations','marketing',
                          'other'])[1 + g % 7],
                   100000 + (g % 97) * 25000, 'CNY', 100000 + (g % 97) * 25000, 'CNY',
                   d::date, (d + interval '300 days')::date, 10 + g % 30,
                   (ARRAY['low','medium','high'])[1 + g % 3], '["IT"]', 3 + g % 20,
                   (SELECT username FROM g_people WHERE role = 'pm'
                      AND n = 1 + g % (SELECT c FROM g_counts WHERE role = 'pm')),
                   (SELECT username FROM g_people WHERE role = 'sponsor'
                      AND n = 1 + g % (SELECT c FROM g_counts WHERE role = 'sponsor')),
                   (ARRAY['Proposed','Initiation','Executing','Executing','Closing','Closed',
                          'Closed','Closed','Rejected','Withdrawn'])[1 + g % 10],
                   d, d, d + interval '20 days', CASE WHEN g % 10 IN (5,6,7)
                       THEN d + interval '400 days' END
            FROM generate_series(1, :n) g,
                 LATERAL (SELECT (SELECT now FROM g_now) - interval '3 years'
                                 + (g::float / :n) * interval '3 years' AS d) t""",
               {"n": n_projects})
        conn.execute(text("SELECT setval(pg_get_serial_sequence('projects', 'id'), :n)"),
                     {"n": n_projects})
        p.step("project roles", conn, """
            INSERT INTO project_roles (project_id, username, role_key)
            SELECT id, sponsor, 'sponsor' FROM projects
            UNION ALL
            SELECT pr.id, gp.username, 'team' FROM projects pr
              JOIN g_people gp ON gp.role = 'team'
               AND gp.n IN (1 + pr.id % (SELECT c FROM g_counts WHERE role = 'team'),
                            1 + (pr.id * 7 + 3) % (SELECT c FROM g_counts WHERE role = 'team'))
            UNION ALL
            SELECT id, 'sponsor1', 'sponsor' FROM projects WHERE id % 97 = 0
            UNION ALL
            SELECT id, 'team1', 'team' FROM projects WHERE id % 89 = 0
            ON CONFLICT DO NOTHING""")
        # --- the shipped processes' user tasks (from the deployed definitions)
        conn.execute(text("""
            CREATE TEMP TABLE g_elements AS
            SELECT d.key AS process_key, d.id AS definition_id, e.key AS element_id,
                   coalesce(e.value->>'name', e.key) AS name, e.value->>'role' AS role,
                   e.value->>'form' AS form,
                   coalesce(e.value->'properties'->>'fourEyes', '') = 'true' AS four_eyes,
                   coalesce(e.value->'properties'->>'distinctActors', '') = 'true'
                       AS distinct_actors,
                   row_number() OVER (PARTITION BY d.key ORDER BY e.key) - 1 AS idx
            FROM process_definitions d, json_each(d.meta->'elements') e
            WHERE e.value->>'type' = 'userTask' AND d.active;
            CREATE TEMP TABLE g_procs AS
            SELECT process_key, min(definition_id) AS definition_id, count(*) AS n_el
            FROM g_elements GROUP BY process_key;
            CREATE TEMP TABLE g_scope AS SELECT key AS role, scope FROM roles;
        """))
        shares = " ".join(
            f"WHEN (g % 1000) < {sum(s for _, s in PROCESS_SHARE[:i + 1])} THEN '{k}'"
            for i, (k, _s) in enumerate(PROCESS_SHARE))
        # --- instances: ids in start order over three years; cycle times fall with time
        p.step("process instances", conn, f"""
            INSERT INTO process_instances (id, definition_id, process_key, business_key, title,
                project_id, status, state, revision, bindings, started_by, started_at,
                updated_at, ended_at, current_step)
            SELECT g, pr.definition_id, pk, 'BK-' || g, 'Generated request ' || g,
                   1 + (g::bigint * 7919) % :projects,
                   st, '{{}}', 1, '{{}}',
                   gp.username, sa, coalesce(ea, sa), ea,
                   CASE WHEN st = 'running' THEN 'Waiting' ELSE '' END
            FROM generate_series(1, :n) g
            CROSS JOIN LATERAL (SELECT CASE {shares} END AS pk) k
            JOIN g_procs pr ON pr.process_key = k.pk
            JOIN g_counts gc ON gc.role = 'pm'
            JOIN g_people gp ON gp.role = 'pm' AND gp.n = 1 + g % gc.c
            CROSS JOIN LATERAL (SELECT
                (SELECT now FROM g_now) - interval '3 years'
                    + (g::float / :n) * interval '3 years' - interval '2 days' AS sa,
                CASE WHEN g > :running_from AND g % 3 <> 0 THEN 'running'
                     WHEN g % 33 = 7 THEN 'cancelled' ELSE 'completed' END AS st) s
            CROSS JOIN LATERAL (SELECT CASE WHEN st = 'running' THEN NULL
                ELSE least((SELECT now FROM g_now), sa + ((1 + (g * 31) % 40)
                           * (1.6 - g::float / :n)) * interval '1 day')
                END AS ea) e""",
               {"n": instances, "projects": n_projects, "running_from": running_from})
        conn.execute(text("SELECT setval(pg_get_serial_sequence('process_instances', 'id'), "
                          ":n)"), {"n": instances})
        # --- open tasks: one per running instance
        p.step("open tasks", conn, """
            INSERT INTO human_tasks (instance_id, spiff_task_id, element_id, name, process_key,
                role, project_id, assignee, status, form, form_definition_id, four_eyes,
                distinct_actors, created_at, due_at, claimed_at, started_by)
            SELECT i.id, md5(i.id::text || 'open')::uuid::text, e.element_id, e.name,
                   i.process_key, e.role,
                   CASE WHEN sc.scope = 'project' THEN i.project_id END,
                   CASE WHEN i.id % 10 < 3 THEN coalesce(
                       (SELECT pr.username FROM project_roles pr
                         WHERE pr.project_id = i.project_id AND pr.role_key = e.role
                         ORDER BY pr.username LIMIT 1),
                       (SELECT username FROM g_people gp WHERE gp.role = e.role
                          AND gp.n = 1 + i.id % (SELECT c FROM g_counts gc
                                                 WHERE gc.role = e.role))) END,
                   'open', e.form, e.definition_id, e.four_eyes, e.distinct_actors,
                   t.created, CASE WHEN i.id % 5 <> 0 THEN t.created + interval '5 days' END,
                   CASE WHEN i.id % 10 < 3 THEN t.created + interval '1 hour' END,
                   i.started_by
            FROM process_instances i
            JOIN g_procs gpr ON gpr.process_key = i.process_key
            JOIN g_elements e ON e.process_key = i.process_key
                             AND e.idx = (i.id * 13) % gpr.n_el
            LEFT JOIN g_scope sc ON sc.role = e.role
            CROSS JOIN LATERAL (SELECT i.started_at + ((i.id % 48) * interval '1 hour')
                                AS created) t
            WHERE i.status = 'running'""")
        # --- completed tasks: two per completed instance
        p.step("completed tasks", conn, """
            INSERT INTO human_tasks (instance_id, spiff_task_id, element_id, name, process_key,
                role, project_id, assignee, status, form, form_definition_id, four_eyes,
                distinct_actors, created_at, due_at, claimed_at, completed_at, completed_by,
                outcome, started_by)
            SELECT i.id, md5(i.id::text || 'done' || k)::uuid::text, e.element_id, e.name,
                   i.process_key, e.role,
                   CASE WHEN sc.scope = 'project' THEN i.project_id END,
                   u.username, 'completed', e.form, e.definition_id, e.four_eyes,
                   e.distinct_actors, t.created,
                   CASE WHEN i.id % 5 <> 0 THEN t.created + interval '5 days' END,
                   t.created + interval '1 hour', t.done, u.username, 'accept', i.started_by
            FROM process_instances i
            CROSS JOIN generate_series(0, 1) k
            JOIN g_procs gpr ON gpr.process_key = i.process_key
            JOIN g_elements e ON e.process_key = i.process_key
                             AND e.idx = (i.id * 13 + k * 5) % gpr.n_el
            LEFT JOIN g_scope sc ON sc.role = e.role
            CROSS JOIN LATERAL (SELECT
                i.started_at + (i.ended_at - i.started_at) * (k * 0.5) AS created,
                i.started_at + (i.ended_at - i.started_at) * (k * 0.5 + 0.5) AS done) t
            LEFT JOIN g_counts gc ON gc.role = e.role
            LEFT JOIN g_people gp ON gp.role = e.role AND gp.n = 1 + i.id % gc.c
            CROSS JOIN LATERAL (SELECT coalesce(gp.username, 'admin') AS username) u
            WHERE i.status = 'completed'""")
        p.step("cancelled tasks", conn, """
            INSERT INTO human_tasks (instance_id, spiff_task_id, element_id, name, process_key,
                role, status, created_at, four_eyes, distinct_actors, started_by)
            SELECT i.id, md5(i.id::text || 'cancel')::uuid::text, e.element_id, e.name,
                   i.process_key, e.role, 'cancelled', i.started_at, e.four_eyes,
                   e.distinct_actors, i.started_by
            FROM process_instances i
            JOIN g_elements e ON e.process_key = i.process_key AND e.idx = 0
            WHERE i.status = 'cancelled'""")
        p.step("audit events", conn, """
            INSERT INTO audit_events (instance_id, at, actor, kind, detail)
            SELECT id, started_at, started_by, 'started', '{}'::json FROM process_instances
            UNION ALL
            SELECT id, ended_at, 'engine', 'completed', '{}'::json FROM process_instances
            WHERE status = 'completed'""")
        p.step("risks", conn, """
            INSERT INTO risks (project_id, title, description, category, probability, impact,
                score, level, levels_required, response, contingency, owner, urgent, status,
                raised_by, raised_at, instance_id, updated_at)
            SELECT pr.id, 'Risk ' || i.id, '', (ARRAY['technical','schedule','cost',
                   'supplier','compliance','currency','cultural','resource','scope',
                   'other'])[1 + i.id % 10], 1 + i.id % 5, 1 + (i.id / 5) % 5,
                   (1 + i.id % 5) * (1 + (i.id / 5) % 5),
                   CASE WHEN (1 + i.id % 5) * (1 + (i.id / 5) % 5) >= 15 THEN 'high'
                        WHEN (1 + i.id % 5) * (1 + (i.id / 5) % 5) >= 6 THEN 'medium'
                        ELSE 'low' END, 1, 'mitigate', '', pr.pm, i.id % 11 = 0,
                   CASE WHEN i.status = 'running' THEN 'under_review' ELSE 'accepted' END,
                   i.started_by, i.started_at, i.id, i.updated_at
            FROM process_instances i JOIN projects pr ON pr.id = i.project_id
            WHERE i.process_key = 'risk_review'""")
        p.step("escalations", conn, """
            INSERT INTO escalations (project_id, affected_project_ids, title, description, kind,
                severity, tried, status, raised_by, raised_at, instance_id, reopen_count,
                resolved_at, updated_at)
            SELECT i.project_id, '[]', 'Escalation ' || i.id, '',
                   (ARRAY['resource_conflict','priority_conflict','vendor','budget',
                          'scope'])[1 + i.id % 5],
                   (ARRAY['low','medium','high','critical'])[1 + i.id % 4], '',
                   CASE WHEN i.status = 'running'
                        THEN (ARRAY['triage','pmo','steering','handed_back'])[1 + i.id % 4]
                        ELSE 'resolved' END, i.started_by, i.started_at, i.id, 0,
                   i.ended_at, i.updated_at
            FROM process_instances i WHERE i.process_key = 'escalation'""")
        p.step("lessons", conn, """
            INSERT INTO lessons (project_id, author, title, category, tags, what_went_well,
                what_did_not, recommendation, published, published_at, search_text,
                created_at, updated_at, instance_id)
            SELECT i.project_id, i.started_by, 'Lesson ' || i.id,
                   (ARRAY['technical','schedule','cost','stakeholder','communication',
                          'quality'])[1 + i.id % 6], '["scale"]', 'Went well', 'Did not',
                   'Recommend', i.id % 3 <> 0, CASE WHEN i.id % 3 <> 0 THEN i.ended_at END,
                   'Lesson ' || i.id, coalesce(i.ended_at, i.started_at),
                   coalesce(i.ended_at, i.started_at), i.id
            FROM process_instances i
            WHERE i.process_key = 'project_closure' AND i.status = 'completed'
              AND i.id % 4 = 0""")
        p.step("stage changes", conn, """
            INSERT INTO project_stage_changes (project_id, from_stage, to_stage, at, by, reason)
            SELECT id, NULL, 'Proposed', created_at, pm, '' FROM projects
            UNION ALL
            SELECT id, 'Proposed', stage, approved_at, sponsor, '' FROM projects
            WHERE stage <> 'Proposed'""")
        p.step("notifications", conn, """
            INSERT INTO notifications (username, kind, title, body, instance_id,
                                       human_task_id, created_at, read_at)
            SELECT coalesce(t.assignee, 'reviewer1'), 'assigned', 'New task: ' || t.name, '',
                   t.instance_id, t.id, t.created_at,
                   CASE WHEN t.id % 4 <> 0 THEN t.created_at + interval '1 hour' END
            FROM human_tasks t WHERE t.status = 'open'""")
        p.step("jobs (due timers of open tasks)", conn, """
            INSERT INTO jobs (kind, instance_id, task_ref, element_id, due_at, status,
                              attempts, payload, created_at)
            SELECT 'sla_reminder', instance_id, spiff_task_id, element_id, due_at, 'pending',
                   0, '{}', created_at
            FROM human_tasks WHERE status = 'open' AND due_at IS NOT NULL""")
        conn.execute(text("CREATE TABLE scale_generated (at timestamp, instances int, "
                          "open_tasks int)"))
        conn.execute(text("INSERT INTO scale_generated SELECT now(), :i, "
                          "(SELECT count(*) FROM human_tasks WHERE status = 'open')"),
                     {"i": instances})
    with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # statistics first: without them the planner takes the freshly loaded tables for
        # empty and joins the summary's million instances to their steps in a nested loop
        # (a 4-minute step ran for more than 12)
        conn.execute(text("ANALYZE"))
    print("  [15/16] dashboard summary (engine.rollup.rebuild) ...", flush=True)
    summarise(url)
    with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        t = time.perf_counter()
        print("  [16/16] VACUUM ANALYZE ...", end="", flush=True)
        conn.execute(text("VACUUM ANALYZE"))
        print(f" {time.perf_counter() - t:.1f} s", flush=True)
        summary = conn.execute(text(
            "SELECT (SELECT count(*) FROM process_instances), "
            "(SELECT count(*) FROM human_tasks WHERE status = 'open'), "
            "(SELECT count(*) FROM human_tasks), (SELECT count(*) FROM users), "
            "(SELECT count(*) FROM projects)")).one()
    db.dispose()
    print(f"done in {time.perf_counter() - t0:.0f} s: {summary[0]:,} instances, "
          f"{summary[1]:,} open tasks, {summary[2]:,} task rows, {summary[3]:,} users, "
          f"{summary[4]:,} projects in schema {schema}", flush=True)


def ensure(base: str, schema: str, *, rebuild: bool = False, instances: int = 1_000_000,
           open_tasks: int = 100_000, people: int = 1000) -> str:
    """The URL of the generated schema, building it when missing or ``rebuild``."""
    if rebuild or not schema_ready(base, schema):
        generate(base, schema, instances, open_tasks, people)
    else:
        print(f"schema {schema} kept from an earlier run (--rebuild to make it again)",
              flush=True)
        upgrade(schema_url(base, schema))
    return schema_url(base, schema)


def upgrade(url: str) -> None:
    """Bring a kept schema to this checkout's migrations (new indexes; no-op when current)
    and summarise its work for the dashboard when the summary is missing."""
    from engine.store.db import make_db_engine
    from workflows.records.schema import upgrade_all

    db = make_db_engine(url)
    try:
        upgrade_all(db)
    finally:
        db.dispose()
    summarise(url, only_if_needed=True)


def summarise(url: str, *, only_if_needed: bool = False) -> None:
    """The dashboard's monthly summary of the generated work (``engine.rollup``): the rows
    were written straight into the tables, not through the engine that keeps it."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "scale-bench")
    from pmoflow.config import Config
    from pmoflow.wiring import build

    rt = build(Config.from_env())
    t = time.perf_counter()
    shown = [0]

    def progress(what: str, n: int) -> None:
        if n - shown[0] >= 500_000:
            shown[0] = n
            print(f"    {n:,} rows read ({what}), {time.perf_counter() - t:.0f} s", flush=True)

    try:
        with rt.sessions() as session:
            if not only_if_needed:  # generated instances: the steps each went through
                from engine import rollup

                rollup.fill_steps_done(session)
                session.commit()
                print(f"    steps done per instance, {time.perf_counter() - t:.0f} s",
                      flush=True)
            read = rt.engine.rebuild_insight(session, only_if_needed=only_if_needed,
                                             progress=progress)
        if read is not None:
            print(f"  dashboard summary: {read:,} rows in {time.perf_counter() - t:.1f} s",
                  flush=True)
    finally:
        rt.db.dispose()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pg-url", default=os.environ.get("PMOFLOW_TEST_PG", DEFAULT_PG))
    p.add_argument("--schema", default=DEFAULT_SCHEMA)
    p.add_argument("--instances", type=int, default=1_000_000)
    p.add_argument("--open-tasks", type=int, default=100_000)
    p.add_argument("--people", type=int, default=1000, help="generated users")
    p.add_argument("--rebuild", action="store_true", help="drop the schema and build again")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ensure(args.pg_url, args.schema, rebuild=args.rebuild, instances=args.instances,
           open_tasks=args.open_tasks, people=args.people)
    return 0


if __name__ == "__main__":
    sys.exit(main())
