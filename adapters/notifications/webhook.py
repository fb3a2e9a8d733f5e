"""The webhook channel: POST the notification as JSON, signed.

Every request carries ``X-Ledger-Timestamp`` (unix seconds, when it was sent),
``X-Ledger-Signature: sha256=<hex>``, the HMAC-SHA256 of ``f"{timestamp}.{body}"`` (the exact
body bytes) under ``LEDGER_NOTIFY_WEBHOOK_SECRET``, and ``X-Ledger-Delivery`` (the delivery
id: the same on every retry, so a receiver can drop repeats). A receiver refuses a request
older than 5 minutes, so a captured request cannot be replayed later.

A 2xx answer is delivered; a 4xx other than 408 and 429 is a permanent refusal (no retry);
anything else, a timeout or a connection failure is tried again later. Redirects are not
followed. The timeout is a deadline for the whole exchange (connect, send, answer), not for
each read.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from application.notifications.ports import ChannelResult, OutgoingNotification

RETRYABLE_4XX = frozenset({408, 429})


TOLERANCE_SECONDS = 300
"""How old a request a receiver accepts (by ``X-Ledger-Timestamp``)."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Ledger-Signature`` value of ``body`` sent at ``timestamp`` (unix seconds): the
    HMAC-SHA256 of ``f"{timestamp}.{body}"``."""
    signed = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    header: str,
    timestamp: str,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: refuse a request older (or further ahead) than ``tolerance``
    seconds, recompute the signature over the timestamp and the raw body, compare in
    constant time. (A receiver also drops a repeated ``X-Ledger-Delivery``.)"""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, sent, body), header)


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
    def __init__(
        self,
        secret: str,
        *,
        timeout: float = 10.0,
        user_agent: str = "ledger",
        now: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("a webhook channel needs a signing secret")
        self._secret = secret
        self.timeout = timeout
        self.user_agent = user_agent
        self.now = now

    def send(self, target: str, notification: OutgoingNotification) -> ChannelResult:
        body = body_of(notification)
        timestamp = int(self.now())
        request = urllib.request.Request(
            target,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": self.user_agent,
                "X-Ledger-Delivery": notification.delivery_id,
                "X-Ledger-Event": notification.event_type,
                "X-Ledger-Timestamp": str(timestamp),
                "X-Ledger-Signature": signature(self._secret, timestamp, body),
            },
        )
        # ``timeout`` is the whole exchange's deadline, not each read's: a receiver that
        # drips its answer has its connection shut when the deadline passes.
        sockets: list[socket.socket] = []
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        opener = urllib.request.build_opener(
            _NoRedirects(), _TrackingHttp(sockets), _TrackingHttps(sockets)
        )
        deadline = threading.Timer(self.timeout, expire)
        deadline.daemon = True
        deadline.start()
        try:
            with opener.open(request, timeout=self.timeout) as response:
                result = classify(int(response.status), str(response.reason or ""))
        except urllib.error.HTTPError as error:
            with error:
                result = classify(int(error.code), str(error.reason or ""))
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", error)
            result = ChannelResult(False, f"{type(error).__name__}: {reason}")
        finally:
            deadline.cancel()
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.close()
        if expired.is_set() and not result.delivered:
            return ChannelResult(False, f"timed out after {self.timeout:g} s")
        return result


def _tracking(http_class: Any, sockets: list[socket.socket]) -> Any:
    """``http_class`` keeping each connection's socket in ``sockets``."""

    class Tracking(http_class):  # type: ignore[misc, valid-type]
        def connect(self) -> None:
            super().connect()
            sockets.append(self.sock)

    return Tracking


class _TrackingHttp(urllib.request.HTTPHandler):
    def __init__(self, sockets: list[socket.socket]) -> None:
        super().__init__()
        self._sockets = sockets

    def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
        return super().do_open(_tracking(http_class, self._sockets), req, **kwargs)


class _TrackingHttps(urllib.request.HTTPSHandler):
    def __init__(self, sockets: list[socket.socket]) -> None:
        super().__init__()
        self._sockets = sockets

    def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
        return super().do_open(_tracking(http_class, self._sockets), req, **kwargs)
