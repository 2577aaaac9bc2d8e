"""The Flask application factory. Nothing happens at import time."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response
from sqlalchemy.orm import sessionmaker

from engine.api import Engine
from engine.store.db import install_idle_ping, install_sqlite_settings, keep_prepared_statements
from webui import security
from webui.extensions import babel, csrf, db, login_manager
from webui.settings import WebSettings, WebState

HERE = Path(__file__).parent

#: Scripts only from our own origin (no inline script), so injected markup cannot run.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def build_app(settings: WebSettings, engine: Engine) -> Flask:
    """Build the web app around a workflow ``engine`` (see :func:`pmoflow.app.create_app`,
    which reads the configuration and wires the PMO catalog in)."""
    app = Flask(__name__, instance_path=str(settings.instance_dir.resolve()))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings),
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        BABEL_DEFAULT_LOCALE="en",
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        BABEL_TRANSLATION_DIRECTORIES=str(HERE / "translations"),
        TESTING=settings.testing,
    )
    db.init_app(app)
    with app.app_context():
        install_sqlite_settings(db.engine)
        install_idle_ping(db.engine)
        keep_prepared_statements(db.engine)
        app.extensions["pmoflow"] = WebState(
            settings, engine, sessionmaker(db.engine, expire_on_commit=False)
        )
    security.configure_cookies(app, settings)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter = security.install_limiter(app, settings)
    from webui import i18n

    babel.init_app(app, locale_selector=i18n.select_locale,
                   timezone_selector=i18n.select_timezone)
    i18n.install(app)
    _register_blueprints(app)
    security.apply_limits(app, limiter, settings)
    app.after_request(_security_headers)
    return app


def _engine_options(settings: WebSettings) -> dict[str, object]:
    if settings.is_sqlite:
        return {"connect_args": {"check_same_thread": False, "timeout": 30}}
    return {}  # connections idle over a second are checked (engine.store.db.install_idle_ping)


def _register_blueprints(app: Flask) -> None:
    from webui import (
        account,
        admin,
        api,
        auth,
        camunda_import,
        dashboard,
        errors,
        escalations,
        form_designer,
        formatting,
        health,
        home,
        i18n,
        inbox,
        instances,
        lessons,
        library,
        mail,
        modeler,
        my_requests,
        notifications,
        oidc,
        ops,
        pmo,
        portfolio,
        processes,
        risks,
        rules,
        sso_admin,
        summary,
        tasks,
        time_admin,
        wording,
    )
    from webui.api import DbIdConverter
    from webui.context import id_url
    from webui.messages import access_message
    from webui.textguard import check_request

    # Ids in page URLs too: one beyond the database's integer columns is a 404.
    app.url_map.converters["dbid"] = DbIdConverter
    for module in (auth, health, home, i18n, inbox, tasks, processes, instances, my_requests,
                   pmo, portfolio, risks, escalations, lessons, notifications, account,
                   admin, rules, library, modeler, camunda_import, form_designer, mail,
                   time_admin, ops, dashboard, oidc, sso_admin):
        app.register_blueprint(module.bp)
    oidc.init_app(app, app.extensions["pmoflow"].settings.oidc)
    app.before_request(check_request)
    app.before_request(time_admin.sync_clock)
    errors.register(app)
    api.register(app)
    formatting.install(app)
    wording.install(app)
    app.add_template_global(summary.outcome_label, "outcome_label")
    app.add_template_global(access_message, "access_message")
    app.add_template_global(id_url, "id_url")
    app.context_processor(_globals)


def _globals() -> dict[str, object]:
    from webui.context import template_globals

    return template_globals()


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
