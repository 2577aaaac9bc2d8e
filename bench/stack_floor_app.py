"""The stack floor of ``bench/http_bench.py``: the least a page of this stack costs.

The brief fixes the web stack (Flask, Jinja2 templates, Flask-SQLAlchemy; the app adds
Flask-Login). This app uses exactly that and nothing of PMOflow: a signed session cookie,
Flask-Login loading the user with one SELECT through Flask-SQLAlchemy, and a Jinja page
extending a base layout with an inbox's 25 rows (seven cells each: a link built with
``url_for``, six escaped values). No roles, badges, translations, filters or task reads.
Served by the same gunicorn as the product, the time a client waits for ``/`` is what an
inbox page of this stack costs before PMOflow does any work of its own.

``gunicorn 'stack_floor_app:create()'`` with ``PMOFLOW_HOME`` (its SQLite file goes there).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask, redirect, render_template, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from flask_sqlalchemy import SQLAlchemy
from jinja2 import DictLoader
from sqlalchemy import String, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class _Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=_Base)


class Person(db.Model, UserMixin):  # type: ignore[name-defined,misc]
    """The one signed-in user."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))


_BASE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{% block title %}{% endblock %} · floor</title></head><body>
<nav><a href="{{ url_for('page') }}">Inbox</a> <span>{{ user.name }}</span></nav>
<main>{% block content %}{% endblock %}</main></body></html>"""

_PAGE = """{% extends "base.html" %}{% block title %}Inbox{% endblock %}{% block content %}
<table><tbody>{% for r in rows %}
<tr data-task-id="{{ r.id }}"><td><a href="{{ url_for('page', task=r.id) }}">{{ r.name }}</a>
<div>{{ r.role }}</div></td><td>{{ r.title }}<div>{{ r.key }}</div></td><td>{{ r.process }}</td>
<td>{{ r.created }}</td><td>{{ r.due }}</td></tr>{% endfor %}</tbody></table>{% endblock %}"""


def create() -> Flask:
    """The app, its database made and its one user stored on first start."""
    home = Path(os.environ.get("PMOFLOW_HOME", "."))
    app = Flask(__name__)
    app.config.update(SECRET_KEY="stack-floor", SQLALCHEMY_DATABASE_URI=(
        f"sqlite:///{home / 'stack_floor.db'}"))
    db.init_app(app)
    logins = LoginManager(app)

    @logins.user_loader
    def load(user_id: str) -> Person | None:
        return db.session.execute(select(Person).where(Person.id == int(user_id))).scalar()

    now = datetime.now(UTC)
    rows = [{"id": i, "name": f"Check completeness <{i}>", "role": "PMO reviewer",
             "title": f"Tower upgrade & co {i}", "key": f"PRJ-{i:04d}",
             "process": "Project approval", "created": f"{now - timedelta(hours=i):%Y-%m-%d %H:%M}",
             "due": f"{now + timedelta(days=i):%Y-%m-%d %H:%M}"} for i in range(1, 26)]
    app.jinja_loader = DictLoader({"base.html": _BASE, "page.html": _PAGE})

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

    with app.app_context():  # two workers start at once: one of them stores the user
        try:
            db.create_all()
            if db.session.get(Person, 1) is None:
                db.session.add(Person(id=1, name="Omar Haddad"))
                db.session.commit()
        except (IntegrityError, OperationalError):
            db.session.rollback()
    return app
