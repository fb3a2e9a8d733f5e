"""The e-mail channel: one plain-text message per notification over SMTP.

``LEDGER_SMTP_URL`` names the server: ``smtp://[user:password@]host[:port]`` (port 25 by
default), ``smtp+starttls://...`` to upgrade with STARTTLS (port 587 by default) or
``smtps://...`` for implicit TLS (port 465). A 5xx answer (unknown mailbox, refused
sender) is a permanent refusal; a 4xx answer, a timeout or a server that cannot be reached
is tried again later.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

from application.notifications.ports import ChannelResult, OutgoingNotification

_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str = "none"  # none | starttls | tls
    username: str | None = None
    password: str | None = None

    def describe(self) -> str:
        scheme = {"none": "smtp", "starttls": "smtp+starttls", "tls": "smtps"}[self.security]
        return f"{scheme}://{self.host}:{self.port}"


def parse_smtp_url(url: str, problems: list[str], name: str = "LEDGER_SMTP_URL") -> SmtpConfig:
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS:
        problems.append(
            f"{name}: must look like smtp://host:25, smtp+starttls://host:587 or "
            f"smtps://host:465, got scheme {parts.scheme!r}"
        )
        return SmtpConfig("localhost", 25)
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        problems.append(f"{name}: the port is not a number")
        port = _DEFAULT_PORTS[parts.scheme]
    if not parts.hostname:
        problems.append(f"{name}: the URL has no host")
    security = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "tls"}[parts.scheme]
    return SmtpConfig(
        host=parts.hostname or "localhost",
        port=port,
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def message_id(sender: str, delivery_id: str) -> str:
    """``<delivery id@sender's domain>``: the same on every retry of a delivery, so mail
    clients and archives drop a repeat."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "ledger.invalid"
    return f"<{delivery_id}@{domain}>"


def render_message(sender: str, recipient: str, notification: OutgoingNotification) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = f"[ledger] {notification.rule}: {notification.event_type}"
    message["Message-ID"] = message_id(sender, notification.delivery_id)
    message["X-Ledger-Delivery"] = notification.delivery_id
    message["X-Ledger-Event"] = notification.event_type
    message.set_content(_text(notification.payload))
    return message


def _text(payload: Mapping[str, object]) -> str:
    lines = [
        f"Rule:     {payload.get('rule')}",
        f"Event:    {payload.get('context')} {payload.get('event')}",
        f"Subject:  {payload.get('subject')}",
        f"At:       {payload.get('occurredAt')}",
        "",
        json.dumps(payload, indent=2, sort_keys=True),
        "",
    ]
    return "\n".join(lines)


class EmailChannel:
    def __init__(self, config: SmtpConfig, sender: str, *, timeout: float = 10.0) -> None:
        self.config = config
        self.sender = sender
        self.timeout = timeout

    def send(self, target: str, notification: OutgoingNotification) -> ChannelResult:
        message = render_message(self.sender, target, notification)
        config = self.config
        try:
            client: smtplib.SMTP
            if config.security == "tls":
                client = smtplib.SMTP_SSL(
                    config.host,
                    config.port,
                    timeout=self.timeout,
                    context=ssl.create_default_context(),
                )
            else:
                client = smtplib.SMTP(config.host, config.port, timeout=self.timeout)
            with client:
                if config.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if config.username:
                    client.login(config.username, config.password or "")
                refused = client.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            permanent = all(500 <= code < 600 for code in codes)
            return ChannelResult(False, f"recipient refused: {codes}", permanent=permanent)
        except smtplib.SMTPResponseException as error:
            text = (
                error.smtp_error.decode(errors="replace")
                if isinstance(error.smtp_error, bytes)
                else str(error.smtp_error)
            )
            permanent = 500 <= error.smtp_code < 600
            return ChannelResult(False, f"SMTP {error.smtp_code} {text}", permanent=permanent)
        except (smtplib.SMTPException, OSError) as error:
            return ChannelResult(False, f"{type(error).__name__}: {error}")
        if refused:
            return ChannelResult(False, f"recipient refused: {sorted(refused)}", permanent=True)
        return ChannelResult(True, "accepted by the mail server")
