"""Configuration: one class, read once from environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.api import EngineSettings
from engine.settings import SmtpSettings
from engine.spiff.sandbox import SandboxLimits
from pmoflow import secret
from pmoflow.paths import bundled_bpmn_dir, home_dir
from webui.settings import OidcSettings


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SystemExit(f"configuration error: {name}={raw!r} is not a number") from exc


def _timezone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SystemExit(f"configuration error: PMOFLOW_TIMEZONE={name!r} is not a time "
                         "zone such as Asia/Shanghai or UTC") from exc
    return name


def _country(code: str) -> str:
    from engine.business_calendar import COUNTRIES

    if code not in COUNTRIES:
        raise SystemExit(f"configuration error: PMOFLOW_CALENDAR_COUNTRY={code!r}: use one "
                         f"of {', '.join(COUNTRIES)}")
    return code


def _database_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except ArgumentError as exc:
        raise SystemExit(f"configuration error: DATABASE_URL={url!r} is not a database URL "
                         "such as sqlite:////path/pmoflow.db or "
                         "postgresql+psycopg://user@host/db") from exc
    return url


TLS_MODES = ("none", "starttls", "ssl")


def _smtp(env: Mapping[str, str]) -> SmtpSettings | None:
    """The SMTP server from ``SMTP_*`` variables; None without ``SMTP_HOST``."""
    host = (env.get("SMTP_HOST") or "").strip()
    if not host:
        return None
    tls = (env.get("SMTP_TLS") or "none").strip().lower()
    if tls not in TLS_MODES:
        raise SystemExit(f"configuration error: SMTP_TLS={tls!r} is not one of "
                         f"{', '.join(TLS_MODES)}")
    default_port = {"none": 25, "starttls": 587, "ssl": 465}[tls]
    return SmtpSettings(host=host, port=_int(env, "SMTP_PORT", default_port), tls=tls,
                        user=env.get("SMTP_USER", ""), password=env.get("SMTP_PASSWORD", ""),
                        sender=env.get("SMTP_SENDER") or f"pmoflow@{host}")


def _oidc(env: Mapping[str, str]) -> OidcSettings | None:
    """Single sign-on from ``PMOFLOW_OIDC_*``; None without an issuer."""
    issuer = (env.get("PMOFLOW_OIDC_ISSUER") or "").strip()
    if not issuer:
        return None
    if not issuer.startswith(("https://", "http://")):
        raise SystemExit(f"configuration error: PMOFLOW_OIDC_ISSUER={issuer!r} is not a URL "
                         "such as https://login.example.com/realms/corp")
    client_id = (env.get("PMOFLOW_OIDC_CLIENT_ID") or "").strip()
    secret = env.get("PMOFLOW_OIDC_CLIENT_SECRET") or ""
    if not client_id or not secret:
        raise SystemExit("configuration error: PMOFLOW_OIDC_ISSUER is set, so "
                         "PMOFLOW_OIDC_CLIENT_ID and PMOFLOW_OIDC_CLIENT_SECRET are needed too")
    scopes = " ".join((env.get("PMOFLOW_OIDC_SCOPES") or "openid profile email").split())
    if "openid" not in scopes.split():
        scopes = f"openid {scopes}"
    return OidcSettings(
        issuer=issuer, client_id=client_id, client_secret=secret, scopes=scopes,
        groups_claim=(env.get("PMOFLOW_OIDC_GROUPS_CLAIM") or "groups").strip(),
        provider_name=(env.get("PMOFLOW_OIDC_PROVIDER_NAME") or "").strip(),
        timeout=_float(env, "PMOFLOW_OIDC_TIMEOUT", 10.0))


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return int(_float(env, name, default))


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"configuration error: {name}={raw!r}: use 1 or 0")


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    """A Flask-Limiter rate such as ``5 per minute`` or ``20/minute;100/hour``."""
    from limits import parse_many

    raw = (env.get(name) or "").strip() or default
    try:
        parse_many(raw)
    except ValueError as exc:
        raise SystemExit(f"configuration error: {name}={raw!r} is not a rate such as "
                         "'5 per minute' or '20/minute;100/hour'") from exc
    return raw


@dataclass(frozen=True)
class Config:
    """Everything configurable, with defaults for the embedded single-machine set-up.

    ``DATABASE_URL`` defaults to SQLite in the instance folder (``PMOFLOW_HOME``, else the
    per-user data directory); PostgreSQL is ``postgresql+psycopg://user@host/db``.
    """

    database_url: str
    instance_dir: Path
    bpmn_dir: Path
    secret_key: str
    host: str = "127.0.0.1"
    port: int = 5000
    run_worker_in_server: bool = True
    #: ``PMOFLOW_WORKER_POLL``: the longest a worker sleeps without looking at the database
    #: (s). It sleeps until the next job is due and is woken by nearer jobs and new mails
    #: (engine.jobs.wake); this is the safety net for what nobody announces.
    worker_poll_seconds: float = 1.0
    condition_seconds: float = 0.2
    script_seconds: float = 2.0
    max_element_visits: int = 5000
    max_diagram_bytes: int = 5 * 1024 * 1024
    #: Time zone in which the web UI shows times (storage is always UTC).
    timezone: str = "UTC"
    #: Address-space cap for serve/worker processes (MB; 0 = none): the backstop that turns
    #: a runaway allocation in a diagram script into a MemoryError instead of the OOM killer.
    memory_limit_mb: int = 4096
    #: How often a worker runs the doctor's check (minutes; 0: never).
    doctor_minutes: float = 10.0
    #: Bytes of uploads not yet part of a submitted form that one person may keep (MB).
    upload_quota_mb: float = 50.0
    #: Uploads never attached to a request are deleted after this many hours.
    unlinked_upload_hours: float = 24.0
    #: The SMTP server (``SMTP_HOST`` ...); None: mail stays on /admin/mail.
    smtp: SmtpSettings | None = None
    #: The address of the web app as users reach it, for links in mails.
    base_url: str = "http://127.0.0.1:5000"
    #: The country calendar SLAs count in ("CN" or "none") and the zone days start in.
    calendar_country: str = "CN"
    calendar_time_zone: str = "Asia/Shanghai"
    #: ``PMOFLOW_TLS=1``: the app is reached over HTTPS (itself or behind a proxy that
    #: terminates TLS): cookies are marked Secure and pages send HSTS.
    tls: bool = False
    #: ``PMOFLOW_PROXY_HOPS``: reverse proxies in front of the app whose X-Forwarded-For
    #: and X-Forwarded-Proto are trusted (0: none; the client address is the socket's).
    proxy_hops: int = 0
    #: How long "Keep me signed in" lasts (days).
    remember_days: float = 14.0
    #: ``PMOFLOW_RATE_LIMITS=0`` turns the rate limits off (tests of other features do).
    rate_limits: bool = True
    #: Where Flask-Limiter counts: ``memory://`` (per process) or e.g. ``redis://host``
    #: (shared by several web processes).
    rate_limit_storage: str = "memory://"
    #: Failed sign-ins allowed per account and per client address.
    sign_in_limit_account: str = "5 per minute"
    sign_in_limit_address: str = "20 per minute"
    #: New API tokens per user, and API requests per token (or per address).
    token_limit: str = "10 per hour"
    api_limit: str = "300 per minute"
    #: Lock an account after this many consecutive failed sign-ins (0: never).
    lockout_after: int = 0
    #: Single sign-on (``PMOFLOW_OIDC_ISSUER``, ``_CLIENT_ID``, ``_CLIENT_SECRET``...);
    #: None: local accounts only.
    oidc: OidcSettings | None = None
    testing: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Config:
        """Read ``PMOFLOW_*`` variables and ``DATABASE_URL``; keyword overrides win."""
        env = os.environ if env is None else env
        instance_dir = home_dir(env)
        url = _database_url(env.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'pmoflow.db'}")
        values: dict[str, object] = {
            "database_url": url,
            "instance_dir": instance_dir,
            "bpmn_dir": Path(env.get("PMOFLOW_BPMN_DIR") or bundled_bpmn_dir()),
            "secret_key": env.get("SECRET_KEY") or "",
            "host": env.get("PMOFLOW_HOST", "127.0.0.1"),
            "port": _int(env, "PMOFLOW_PORT", 5000),
            "run_worker_in_server": env.get("PMOFLOW_SERVER_WORKER", "1") not in ("0", "false"),
            "worker_poll_seconds": _float(env, "PMOFLOW_WORKER_POLL", 1.0),
            "condition_seconds": _float(env, "PMOFLOW_CONDITION_SECONDS", 0.2),
            "script_seconds": _float(env, "PMOFLOW_SCRIPT_SECONDS", 2.0),
            "max_element_visits": _int(env, "PMOFLOW_MAX_ELEMENT_VISITS", 5000),
            "max_diagram_bytes": _int(env, "PMOFLOW_MAX_DIAGRAM_BYTES", 5 * 1024 * 1024),
            "timezone": _timezone(env.get("PMOFLOW_TIMEZONE") or "UTC"),
            "memory_limit_mb": _int(env, "PMOFLOW_MEMORY_LIMIT_MB", 4096),
            "doctor_minutes": _float(env, "PMOFLOW_DOCTOR_MINUTES", 10.0),
            "upload_quota_mb": _float(env, "PMOFLOW_UPLOAD_QUOTA_MB", 50.0),
            "unlinked_upload_hours": _float(env, "PMOFLOW_UNLINKED_UPLOAD_HOURS", 24.0),
            "smtp": _smtp(env),
            "base_url": env.get("PMOFLOW_BASE_URL") or "http://127.0.0.1:5000",
            "calendar_country": _country(env.get("PMOFLOW_CALENDAR_COUNTRY") or "CN"),
            "calendar_time_zone": _timezone(env.get("PMOFLOW_CALENDAR_TIMEZONE")
                                            or "Asia/Shanghai"),
            "tls": _flag(env, "PMOFLOW_TLS", False),
            "proxy_hops": _int(env, "PMOFLOW_PROXY_HOPS", 0),
            "remember_days": _float(env, "PMOFLOW_REMEMBER_DAYS", 14.0),
            "rate_limits": _flag(env, "PMOFLOW_RATE_LIMITS", True),
            "rate_limit_storage": env.get("PMOFLOW_RATE_LIMIT_STORAGE") or "memory://",
            "sign_in_limit_account": _rate(env, "PMOFLOW_SIGN_IN_LIMIT_ACCOUNT",
                                           "5 per minute"),
            "sign_in_limit_address": _rate(env, "PMOFLOW_SIGN_IN_LIMIT_ADDRESS",
                                           "20 per minute"),
            "token_limit": _rate(env, "PMOFLOW_TOKEN_LIMIT", "10 per hour"),
            "api_limit": _rate(env, "PMOFLOW_API_LIMIT", "300 per minute"),
            "lockout_after": _int(env, "PMOFLOW_LOCKOUT_AFTER", 0),
            "oidc": _oidc(env),
        }
        values.update(overrides)
        config = cls(**values)  # type: ignore[arg-type]
        if not config.secret_key:
            config = _with_secret(config)
        return config

    def engine_settings(self) -> EngineSettings:
        """The engine's limits from this configuration."""
        return EngineSettings(
            sandbox=SandboxLimits(condition_seconds=self.condition_seconds,
                                  script_seconds=self.script_seconds),
            max_element_visits=self.max_element_visits,
            max_diagram_bytes=self.max_diagram_bytes,
            doctor_interval_seconds=self.doctor_minutes * 60,
            upload_quota_bytes=int(self.upload_quota_mb * 1024 * 1024),
            unlinked_upload_hours=self.unlinked_upload_hours,
            smtp=self.smtp,
            base_url=self.base_url,
            calendar_country=self.calendar_country,
            calendar_time_zone=self.calendar_time_zone,
            translations_dir=str(Path(__file__).resolve().parents[1] / "webui" / "translations"),
        )

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded database."""
        return self.database_url.startswith("sqlite")


def _with_secret(config: Config) -> Config:
    """Use (or create once) a random secret key kept in the instance folder."""
    key = secret.read_or_create(config.instance_dir / "secret_key")
    return Config(**{**config.__dict__, "secret_key": key})
