"""The engine's limits and knobs (the application's configuration fills them in)."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.spiff.sandbox import SandboxLimits
from engine.spiff.xmlsafe import DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the SMTP server that sends the outbox (``tls``: none|starttls|ssl)."""

    host: str
    port: int = 25
    tls: str = "none"
    user: str = ""
    password: str = field(default="", repr=False)
    sender: str = "pmoflow@localhost"
    timeout_seconds: float = 20.0


@dataclass(frozen=True)
class EngineSettings:
    """Limits and knobs of one engine."""

    sandbox: SandboxLimits = field(default_factory=SandboxLimits)
    max_element_visits: int = 5000
    max_diagram_bytes: int = DEFAULT_MAX_BYTES
    job_max_attempts: int = 5
    job_backoff_seconds: float = 30.0
    spec_cache_size: int = 128
    max_attachment_bytes: int = 10 * 1024 * 1024
    #: Uploads not (yet) attached to a request that one person may keep, in bytes.
    upload_quota_bytes: int = 50 * 1024 * 1024
    #: Uploads never attached to a request are deleted after this many hours.
    unlinked_upload_hours: float = 24.0
    #: How often a worker runs the doctor's check (seconds; 0: never).
    doctor_interval_seconds: float = 600.0
    #: How often a worker deletes old unattached uploads (seconds; 0: never).
    upload_cleanup_interval_seconds: float = 3600.0
    #: Running instances whose saved state one doctor transaction reads.
    doctor_batch: int = 200
    #: The SMTP server; None: mail stays in the outbox, readable on ``/admin/mail``.
    smtp: SmtpSettings | None = None
    #: The web app's address, for the links in mails.
    base_url: str = "http://127.0.0.1:5000"
    #: Attempts at one mail before it is marked failed, and the first back-off (doubling).
    mail_max_attempts: int = 6
    mail_backoff_seconds: float = 60.0
    #: How often a worker sends the outbox's due mails (seconds; 0: never).
    mail_poll_seconds: float = 1.0
    #: How often a worker sends the daily digests (seconds; 0: never).
    digest_interval_seconds: float = 24 * 3600.0
    #: The country calendar SLAs count working days in: "CN" (public holidays and
    #: make-up working days from ``chinese_calendar``) or "none" (Monday to Friday).
    calendar_country: str = "CN"
    #: The time zone whose midnight starts a working day.
    calendar_time_zone: str = "Asia/Shanghai"
    #: A gettext catalog directory (``<lang>/LC_MESSAGES/messages.mo``, the web app's) for
    #: the words of mails in the recipient's language; None: mails say the stored English.
    translations_dir: str | None = None
