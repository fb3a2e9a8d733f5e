"""The webhook channel: POST the notification as JSON, signed.

Every request carries ``X-Ledger-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact
body bytes under ``LEDGER_NOTIFY_WEBHOOK_SECRET``, and ``X-Ledger-Delivery`` (the delivery
id: the same on every retry, so a receiver can drop repeats). A 2xx answer is delivered; a
4xx other than 408 and 429 is a permanent refusal (no retry); anything else, a timeout or a
connection failure is tried again later. Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from typing import Any

from application.notifications import ChannelResult, OutgoingNotification

RETRYABLE_4XX = frozenset({408, 429})


def signature(secret: str, body: bytes) -> str:
    """The ``X-Ledger-Signature`` value of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return hmac.compare_digest(signature(secret, body), header)


def body_of(notification: OutgoingNotification) -> bytes:
    return json.dumps(notification.payload, sort_keys=True, separators=(",", ":")).encode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None  # the 3xx is answered as it is: tried again later, never followed


def classify(status: int, reason: str) -> ChannelResult:
    detail = f"HTTP {status} {reason}".strip()
    if 200 <= status < 300:
        return ChannelResult(True, detail)
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        return ChannelResult(False, detail, permanent=True)
    return ChannelResult(False, detail)


class WebhookChannel:
    def __init__(self, secret: str, *, timeout: float = 10.0, user_agent: str = "ledger") -> None:
        if not secret:
            raise ValueError("a webhook channel needs a signing secret")
        self._secret = secret
        self.timeout = timeout
        self.user_agent = user_agent
        self._opener = urllib.request.build_opener(_NoRedirects())

    def send(self, target: str, notification: OutgoingNotification) -> ChannelResult:
        body = body_of(notification)
        request = urllib.request.Request(
            target,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": self.user_agent,
                "X-Ledger-Delivery": notification.delivery_id,
                "X-Ledger-Event": notification.event_type,
                "X-Ledger-Signature": signature(self._secret, body),
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return classify(int(response.status), str(response.reason or ""))
        except urllib.error.HTTPError as error:
            with error:
                return classify(int(error.code), str(error.reason or ""))
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            return ChannelResult(False, f"{type(error).__name__}: {reason}")
