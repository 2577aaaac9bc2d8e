"""What the web layer needs from the application's configuration, and what it keeps.

The web app does not read the environment or the command line: the top-level ``pmoflow``
package builds a :class:`WebSettings` from its configuration and hands it in with the
workflow engine (see :func:`pmoflow.app.create_app`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from engine.api import Engine


@dataclass(frozen=True)
class OidcSettings:
    """Single sign-on through an OpenID Connect provider (``PMOFLOW_OIDC_*``)."""

    #: The provider's issuer URL; its metadata is read from
    #: ``<issuer>/.well-known/openid-configuration``.
    issuer: str
    client_id: str
    client_secret: str
    scopes: str = "openid profile email"
    #: The ID token claim that lists the person's groups.
    groups_claim: str = "groups"
    #: The provider's name on the sign-in button ("Sign in with <name>").
    provider_name: str = ""
    #: Seconds to wait for the provider before saying it cannot be reached.
    timeout: float = 10.0

    @property
    def metadata_url(self) -> str:
        """Where the provider describes itself (OpenID Connect discovery)."""
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


@dataclass(frozen=True)
class WebSettings:
    """Settings of the web app."""

    database_url: str
    secret_key: str
    #: Folder for the app's own files (Flask's instance path).
    instance_dir: Path
    #: Time zone in which pages show times (storage is always UTC).
    timezone: str = "UTC"
    #: Largest request body accepted (bytes).
    max_request_bytes: int = 6 * 1024 * 1024
    #: Reached over HTTPS: Secure cookies and HSTS.
    tls: bool = False
    #: Trusted reverse proxies in front of the app (X-Forwarded-For / -Proto).
    proxy_hops: int = 0
    #: How long "Keep me signed in" lasts (days).
    remember_days: float = 14.0
    #: Rate limits (Flask-Limiter) on, where they count, and the rates.
    rate_limits: bool = True
    rate_limit_storage: str = "memory://"
    sign_in_limit_account: str = "5 per minute"
    sign_in_limit_address: str = "20 per minute"
    token_limit: str = "10 per hour"
    api_limit: str = "300 per minute"
    #: Lock an account after this many consecutive failed sign-ins (0: never).
    lockout_after: int = 0
    testing: bool = False
    #: Single sign-on; None: only local accounts (nothing about SSO shows).
    oidc: OidcSettings | None = None

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded database."""
        return self.database_url.startswith("sqlite")


@dataclass
class WebState:
    """What routes reach through ``current_app``: the settings, the workflow engine and a
    session factory on the web app's database connection pool."""

    settings: WebSettings
    engine: Engine
    sessions: sessionmaker[Session]
