"""The web application as configured: ``gunicorn 'pmoflow.app:create_app()'``.

Reads the configuration, builds the workflow engine with the PMO catalog's glue and hands
both to the web layer's factory. Nothing happens at import time.
"""

from __future__ import annotations

from flask import Flask

from engine.clock import Clock
from pmoflow.config import Config
from pmoflow.wiring import build_engine
from webui.app import build_app
from webui.settings import WebSettings


def web_settings(config: Config) -> WebSettings:
    """The part of ``config`` the web layer uses."""
    return WebSettings(
        database_url=config.database_url,
        secret_key=config.secret_key,
        instance_dir=config.instance_dir,
        timezone=config.timezone,
        # A diagram upload plus the rest of its form.
        max_request_bytes=config.max_diagram_bytes + 1024 * 1024,
        tls=config.tls,
        proxy_hops=config.proxy_hops,
        remember_days=config.remember_days,
        rate_limits=config.rate_limits,
        rate_limit_storage=config.rate_limit_storage,
        sign_in_limit_account=config.sign_in_limit_account,
        sign_in_limit_address=config.sign_in_limit_address,
        token_limit=config.token_limit,
        api_limit=config.api_limit,
        lockout_after=config.lockout_after,
        testing=config.testing,
        oidc=config.oidc,
    )


def create_app(config: Config | None = None, *, clock: Clock | None = None) -> Flask:
    """The PMOflow web app for ``config`` (default: read from the environment)."""
    config = config or Config.from_env()
    return build_app(web_settings(config), build_engine(config, clock))
