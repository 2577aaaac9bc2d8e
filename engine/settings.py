"""The engine's limits and knobs (the application's configuration fills them in)."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.spiff.sandbox import SandboxLimits
from engine.spiff.xmlsafe import DEFAULT_MAX_BYTES


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
    #: The country calendar SLAs count working days in: "CN" (public holidays and
    #: make-up working days from ``chinese_calendar``) or "none" (Monday to Friday).
    calendar_country: str = "CN"
    #: The time zone whose midnight starts a working day.
    calendar_time_zone: str = "Asia/Shanghai"
