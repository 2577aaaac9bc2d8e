"""Rate limits (Flask-Limiter), cookie settings and HSTS: what :mod:`webui.app` installs
for sign-in and sessions.

- Sign-in: failed attempts are limited per account (the username typed) and per client
  address; a successful sign-in does not count. The limit is checked before the password
  is, so a refused attempt costs no password hash.
- API token creation: per user (page and API); the API as a whole: per token, or per
  address for calls without one.
- 429 answers say when to try again, in the reader's language, with ``Retry-After``: the
  sign-in page with its form, problem+json under ``/api/v1``, the error page elsewhere.
- ``tls``: Secure session and remember-me cookies and a ``Strict-Transport-Security``
  header. HttpOnly and SameSite=Lax always.

Each app has its own :class:`Limiter` (``app.extensions["pmoflow_limiter"]``), so two
apps in one process (tests) never share counts.
"""

from __future__ import annotations

import hashlib
import math
import time
from datetime import timedelta

from flask import Flask, Response, current_app, g, render_template, request
from flask_limiter import HeaderNames, Limiter, RateLimitExceeded
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from webui.i18n import gettext as _
from webui.settings import WebSettings

#: One year, as HSTS is usually sent once a site is on HTTPS for good.
HSTS = "max-age=31536000"
#: Endpoints whose POST makes an API token.
TOKEN_ENDPOINTS = ("account.create_token", "api-tokens.create_token")


def client_address() -> str:
    """The client's address (the proxy's X-Forwarded-For when ``proxy_hops`` trusts it)."""
    return request.remote_addr or "unknown"


def _account_key() -> str:
    return "account:" + (request.form.get("username") or "").strip().lower()[:64]


def _user_key() -> str:
    user = getattr(g, "api_user", None)
    if user is None and getattr(current_user, "is_authenticated", False):
        user = current_user.username
    return f"user:{user}" if user else f"address:{client_address()}"


def _caller_key() -> str:
    header = request.headers.get("Authorization")
    if header:
        return "token:" + hashlib.sha256(header.strip().encode()).hexdigest()[:24]
    return f"address:{client_address()}"


def _failed(response: Response) -> bool:
    """A sign-in counts against the limits unless it succeeded (a redirect)."""
    return response.status_code != 302


def configure_cookies(app: Flask, settings: WebSettings) -> None:
    """Session and remember-me cookies: HttpOnly, SameSite=Lax, Secure with TLS."""
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.tls,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.tls,
        REMEMBER_COOKIE_DURATION=timedelta(days=settings.remember_days),
        PREFERRED_URL_SCHEME="https" if settings.tls else "http",
    )
    if settings.proxy_hops > 0:
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    if settings.tls:
        app.after_request(_hsts)


def _hsts(response: Response) -> Response:
    response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def install_limiter(app: Flask, settings: WebSettings) -> Limiter:
    """The app's limiter; call before the blueprints' own before-request hooks are
    installed (so a flood of refused API calls is counted too)."""
    limiter = Limiter(
        key_func=client_address,
        storage_uri=settings.rate_limit_storage,
        headers_enabled=True,
        # Retry-After is ours (429 answers only, the same number as the message says);
        # Flask-Limiter would put its own on every limited answer, 200s included.
        header_name_mapping={HeaderNames.RETRY_AFTER: "X-RateLimit-Retry-After"},
        enabled=settings.rate_limits,
        # A shared store (redis) that stops answering: count in memory meanwhile.
        in_memory_fallback_enabled=True,
        key_prefix="pmoflow",
    )
    limiter.init_app(app)
    app.extensions["pmoflow_limiter"] = limiter
    app.register_error_handler(RateLimitExceeded, too_many_requests)
    return limiter


def apply_limits(app: Flask, limiter: Limiter, settings: WebSettings) -> None:
    """Put the limits on sign-in, token creation and every API blueprint (after the
    blueprints are registered)."""
    login = limiter.limit(settings.sign_in_limit_account, key_func=_account_key,
                          methods=["POST"], deduct_when=_failed)(app.view_functions["auth.login"])
    login = limiter.limit(settings.sign_in_limit_address, key_func=client_address,
                          methods=["POST"], deduct_when=_failed)(login)
    app.view_functions["auth.login"] = login
    for endpoint in TOKEN_ENDPOINTS:
        app.view_functions[endpoint] = limiter.limit(
            settings.token_limit, key_func=_user_key, methods=["POST"], override_defaults=False,
        )(app.view_functions[endpoint])
    api_limit = limiter.shared_limit(settings.api_limit, scope="api", key_func=_caller_key)
    for name, blueprint in app.blueprints.items():
        if name.startswith("api-") and name != "api-docs":
            api_limit(blueprint)


def retry_after_seconds() -> int:
    """Seconds until the limit this request broke lets the next one through."""
    limiter: Limiter = current_app.extensions["pmoflow_limiter"]
    breached = limiter.current_limit
    if breached is None:
        return 60
    # ``reset_at`` is a whole second the storage rounds up, so the wait can come out one
    # second longer than the window itself: never say more than the window.
    window = int(breached.limit.get_expiry())
    return max(1, min(window, math.ceil(breached.reset_at - time.time())))


def too_many_requests(_exc: RateLimitExceeded):
    """429: when to try again, as the sign-in form, problem+json or the error page."""
    from webui import errors
    from webui.api import problems

    seconds = retry_after_seconds()
    headers = {"Retry-After": str(seconds)}
    message = _("Too many attempts. Wait %(seconds)s seconds, then try again.", seconds=seconds)
    if problems.is_api_request():
        return problems.problem("too-many-requests", message, headers=headers,
                                retry_after=seconds)
    if request.endpoint == "auth.login":
        username = (request.form.get("username") or "").replace("\x00", "")[:64]
        return render_template("login.html", error=message, username=username), 429, headers
    return errors.render_error(429, message, headers)
