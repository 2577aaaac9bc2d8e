"""The Flask application factory. Nothing happens at import time."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy.orm import sessionmaker

from engine.api import Engine
from engine.clock import Clock
from engine.store.db import install_sqlite_settings
from pmoflow.config import Config
from pmoflow.wiring import Runtime
from webui.extensions import babel, csrf, db, login_manager
from workflows.catalog import build_registry

HERE = Path(__file__).parent


def create_app(config: Config | None = None, *, clock: Clock | None = None) -> Flask:
    """Build the web app for ``config`` (default: from the environment)."""
    config = config or Config.from_env()
    app = Flask(__name__, instance_path=str(config.instance_dir.resolve()))
    app.config.update(
        SECRET_KEY=config.secret_key,
        SQLALCHEMY_DATABASE_URI=config.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(config),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=config.max_diagram_bytes + 1024 * 1024,
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES=str(HERE / "translations"),
        TESTING=config.testing,
    )
    db.init_app(app)
    with app.app_context():
        install_sqlite_settings(db.engine)
        engine = Engine(clock=clock, settings=config.engine_settings(),
                        services=build_registry())
        app.extensions["pmoflow"] = Runtime(
            config, engine, db.engine, sessionmaker(db.engine, expire_on_commit=False)
        )
    login_manager.init_app(app)
    csrf.init_app(app)
    from webui.i18n import select_locale

    babel.init_app(app, locale_selector=select_locale)
    _register_blueprints(app)
    return app


def _engine_options(config: Config) -> dict[str, object]:
    if config.is_sqlite:
        return {"connect_args": {"check_same_thread": False, "timeout": 30}}
    return {"pool_pre_ping": True}


def _register_blueprints(app: Flask) -> None:
    from webui import auth, errors, home

    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    errors.register(app)
    app.context_processor(_globals)


def _globals() -> dict[str, object]:
    from webui.context import template_globals

    return template_globals()
