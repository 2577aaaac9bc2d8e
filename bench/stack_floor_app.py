"""The stack floor of ``bench/http_bench.py``: the least a page of this stack costs.

The brief fixes the web stack (Flask, Jinja2 templates, Flask-SQLAlchemy; the app adds
Flask-Login). This app uses exactly that and nothing of PMOflow: a signed session cookie,
Flask-Login loading the user with one SELECT through Flask-SQLAlchemy, and a Jinja page
extending a base layout with an inbox's 25 rows (seven cells each: a link built with
``url_for``, six escaped values). No roles, badges, translations, filters or task reads.
Served by the same gunicorn as the product, the time a client waits for ``/`` is what an
inbox page of this stack costs before PMOflow does any work of its own.

Two more pages bound the other goals the same way:

* ``GET /task/<id>`` and ``POST /task/<id>``: a task form (the row read by its primary key,
  a form with a token kept in the session) and its submit (the token checked, the row
  updated, ``COMMIT``, 302 to the inbox): what completing a task costs on this stack before
  any workflow, rule, projection or audit work;
* ``GET /reads/<n>``: ``n`` primary-key reads on one page; ``/reads/<n>`` less
  ``/reads/0``, divided by ``n``, is what one more statement costs a page through
  Flask-SQLAlchemy on this database.

A page's reads end with ``COMMIT``, as PMOflow's do (``engine.store.db``): psycopg
forgets its prepared statements at every ``ROLLBACK``.

``gunicorn 'stack_floor_app:create()'`` with ``PMOFLOW_HOME`` (its SQLite file goes there)
or ``STACK_FLOOR_DB`` (a database URL, e.g. a PostgreSQL schema); :func:`prepare` makes
its tables first when two workers would otherwise race to.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask, abort, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from flask_sqlalchemy import SQLAlchemy
from jinja2 import DictLoader
from sqlalchemy import String, bindparam, select
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class _Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=_Base)


class Person(db.Model, UserMixin):  # type: ignore[name-defined,misc]
    """The one signed-in user."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))


class Item(db.Model):  # type: ignore[name-defined,misc]
    """A row a task form shows and its submit updates."""

    __tablename__ = "floor_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    done: Mapped[int] = mapped_column(default=0)


_BASE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{% block title %}{% endblock %} · floor</title></head><body>
<nav><a href="{{ url_for('page') }}">Inbox</a> <span>{{ user.name }}</span></nav>
<main>{% block content %}{% endblock %}</main></body></html>"""

_PAGE = """{% extends "base.html" %}{% block title %}Inbox{% endblock %}{% block content %}
<table><tbody>{% for r in rows %}
<tr data-task-id="{{ r.id }}"><td><a href="{{ url_for('page', task=r.id) }}">{{ r.name }}</a>
<div>{{ r.role }}</div></td><td>{{ r.title }}<div>{{ r.key }}</div></td><td>{{ r.process }}</td>
<td>{{ r.created }}</td><td>{{ r.due }}</td></tr>{% endfor %}</tbody></table>{% endblock %}"""

_TASK = """{% extends "base.html" %}{% block title %}{{ item.name }}{% endblock %}
{% block content %}<h1>{{ item.name }}</h1>
<form method="post" action="{{ url_for('submit', item_id=item.id) }}">
<input type="hidden" name="csrf_token" value="{{ token }}">
<fieldset><legend>Decision</legend>{% for key, label in choices %}
<label><input type="radio" name="decision" value="{{ key }}"> {{ label }}</label>{% endfor %}
</fieldset><label>Comment <textarea name="comment"></textarea></label>
<button type="submit" name="action" value="complete">Complete</button></form>{% endblock %}"""

ITEMS = 25


def create() -> Flask:
    """The app, its database made and its one user stored on first start."""
    app = _app()
    logins = LoginManager(app)

    @logins.user_loader
    def load(user_id: str) -> Person | None:
        return db.session.execute(select(Person).where(Person.id == int(user_id))).scalar()

    now = datetime.now(UTC)
    rows = [{"id": i, "name": f"Check completeness <{i}>", "role": "PMO reviewer",
             "title": f"Tower upgrade & co {i}", "key": f"PRJ-{i:04d}",
             "process": "Project approval", "created": f"{now - timedelta(hours=i):%Y-%m-%d %H:%M}",
             "due": f"{now + timedelta(days=i):%Y-%m-%d %H:%M}"} for i in range(1, 26)]
    app.jinja_loader = DictLoader({"base.html": _BASE, "page.html": _PAGE, "task.html": _TASK})
    choices = (("accept", "Accept"), ("rework", "Send back for rework"), ("reject", "Reject"))

    @app.get("/ping")
    def ping():  # the bench's "is it up?" (no session, no database)
        return "ok"

    @app.get("/login")
    def login():  # the bench's sign-in: no password, one user
        login_user(db.session.get(Person, 1))
        return redirect(url_for("page"))

    @app.get("/")
    @login_required
    def page():
        return render_template("page.html", rows=rows, user=current_user)

    @app.get("/task/<int:item_id>")
    @login_required
    def task(item_id: int):
        item = db.session.get(Item, item_id) or abort(404)
        token = session.setdefault("csrf", secrets.token_hex(16))
        return render_template("task.html", item=item, token=token, choices=choices,
                               user=current_user)

    @app.post("/task/<int:item_id>")
    @login_required
    def submit(item_id: int):
        if request.form.get("csrf_token") != session.get("csrf"):
            abort(400)
        if request.form.get("decision") not in dict(choices):
            abort(422)
        item = db.session.get(Item, item_id) or abort(404)
        item.done += 1
        db.session.commit()
        return redirect(url_for("page"))

    @app.get("/reads/<int:n>")
    @login_required
    def reads(n: int):
        for i in range(n):
            db.session.execute(_READ, {"id": i % ITEMS + 1}).scalar()
        return f"{n} reads"

    @app.after_request
    def end_reads(response):  # as PMOflow does: COMMIT keeps psycopg's prepared statements
        if request.method == "GET":
            db.session.commit()
        return response

    _prepare(app)
    return app


_READ = select(Item.id).where(Item.id == bindparam("id"))


def _app() -> Flask:
    home = Path(os.environ.get("PMOFLOW_HOME", "."))
    app = Flask(__name__)
    app.config.update(SECRET_KEY="stack-floor", SQLALCHEMY_DATABASE_URI=os.environ.get(
        "STACK_FLOOR_DB") or f"sqlite:///{home / 'stack_floor.db'}")
    db.init_app(app)
    return app


def _prepare(app: Flask) -> None:
    """Make the tables and rows unless they are there."""
    with app.app_context():
        try:
            db.create_all()
            if db.session.get(Person, 1) is None:
                db.session.add(Person(id=1, name="Omar Haddad"))
                db.session.add_all(Item(id=i, name=f"Check completeness {i}")
                                   for i in range(1, ITEMS + 1))
                db.session.commit()
        except (IntegrityError, OperationalError, ProgrammingError):
            db.session.rollback()  # the other worker made them meanwhile


def prepare() -> None:
    """Make the tables and rows before the workers start (``STACK_FLOOR_DB``)."""
    _prepare(_app())
