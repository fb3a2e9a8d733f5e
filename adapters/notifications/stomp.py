"""The STOMP channel: publish the notification to a broker destination (``/topic/...``).

Through the ingestion's :class:`~adapters.messaging.connection.StompSession` on the broker
of ``LEDGER_STOMP_URL``: a persistent message, sent with a receipt, so a notification counts
as delivered only once the broker has it. The session is opened at the first send and
reopened after it was lost; a broker that cannot be reached is a failed attempt, tried again.
"""

from __future__ import annotations

import json
import threading

from adapters.messaging.config import StompConfig
from adapters.messaging.connection import BrokerUnavailable, StompSession
from application.notifications.ports import ChannelResult, OutgoingNotification


class StompChannel:
    def __init__(self, config: StompConfig, *, timeout: float = 10.0) -> None:
        self.config = config
        self.timeout = timeout
        self._session: StompSession | None = None
        self._lock = threading.Lock()

    def send(self, target: str, notification: OutgoingNotification) -> ChannelResult:
        body = json.dumps(notification.payload, sort_keys=True, separators=(",", ":")).encode()
        headers = {
            "content-type": "application/json",
            "x-ledger-delivery": notification.delivery_id,
            "x-ledger-event": notification.event_type,
            "x-ledger-rule": notification.rule,
        }
        with self._lock:
            try:
                session = self._open()
                session.send(target, body, headers, confirm=True, timeout=self.timeout)
            except BrokerUnavailable as error:
                self._drop()
                return ChannelResult(False, f"broker unavailable: {error}")
        return ChannelResult(True, "accepted by the broker")

    def _open(self) -> StompSession:
        if self._session is None or not self._session.alive:
            self._drop()
            self._session = StompSession(self.config).open()
        return self._session

    def _drop(self) -> None:
        if self._session is not None:
            self._session.close(timeout=1.0)
            self._session = None

    def close(self) -> None:
        with self._lock:
            self._drop()
