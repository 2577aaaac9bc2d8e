"""Hand one message to the SMTP server (stdlib :mod:`smtplib`), saying whether a failure
is worth another attempt."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Protocol

from engine.settings import SmtpSettings


class SendFailed(Exception):
    """The server did not take the message; ``permanent``: trying again will not help
    (a 5xx answer such as an unknown recipient)."""

    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


class Transport(Protocol):
    """Something that delivers a message (SMTP, or a test's fake)."""

    def send(self, message: EmailMessage) -> None:
        """Deliver or raise :class:`SendFailed`."""


class SmtpTransport:
    """Delivers through the configured SMTP server, one connection per message."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.tls == "ssl":
            return smtplib.SMTP_SSL(
                s.host, s.port, timeout=s.timeout_seconds, context=ssl.create_default_context()
            )
        conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        if s.tls == "starttls":
            conn.starttls(context=ssl.create_default_context())
        return conn

    def send(self, message: EmailMessage) -> None:
        """Deliver ``message``; raise :class:`SendFailed` saying why not."""
        try:
            with self._connect() as conn:
                if self.settings.user:
                    conn.login(self.settings.user, self.settings.password)
                refused = conn.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _msg in exc.recipients.values()]
            raise SendFailed(
                f"the server refused the recipient: {_describe(exc.recipients)}",
                permanent=all(c >= 500 for c in codes),
            ) from exc
        except smtplib.SMTPResponseException as exc:
            text = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            raise SendFailed(
                f"SMTP {exc.smtp_code}: {text}", permanent=exc.smtp_code >= 500
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            host = f"{self.settings.host}:{self.settings.port}"
            raise SendFailed(f"{host}: {type(exc).__name__}: {exc}", permanent=False) from exc
        if refused:
            raise SendFailed(
                f"the server refused the recipient: {_describe(refused)}", permanent=True
            )


def _describe(recipients: dict) -> str:
    out = []
    for addr, (code, msg) in recipients.items():
        text = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
        out.append(f"{addr} ({code} {text})")
    return ", ".join(out)
