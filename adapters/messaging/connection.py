"""One STOMP 1.2 session over stomp.py: connect, subscribe, ack, and confirmed sends.

stomp.py delivers frames on its own receiver thread and does not reconnect a session
that was live; this wrapper turns frames into :class:`Delivery` objects for a queue,
notices a lost connection (disconnect, heartbeat timeout, ERROR frame) and lets the
caller, the supervisor, open a new session. ``send(..., confirm=True)`` waits for the
broker's RECEIPT, which RabbitMQ sends only once the message is safely enqueued, so a
dead letter or a publication is never acknowledged upstream before it is stored.

The differences between the brokers Amazon MQ offers are kept here: RabbitMQ needs the
virtual host as the ``host`` header and reads ``prefetch-count``; ActiveMQ reads
``activemq.prefetchSize``. Both headers are sent; each broker ignores the other's.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import stomp
from stomp.exception import StompException

from adapters.messaging.config import StompConfig

_CONTROL = {c: "\ufffd" for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]}


def clean_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to put in a frame: stomp.py escapes ``\\``, ``:``, CR and LF in values
    but not NUL, which ends a frame early (the body would be lost), nor anything in names.
    Other control characters in values become U+FFFD; names that cannot be escaped are
    dropped."""
    cleaned: dict[str, str] = {}
    for name, value in headers.items():
        if not name or any(ch in name for ch in ":\r\n\x00"):
            continue
        cleaned[name] = str(value).translate(_CONTROL)
    return cleaned


class BrokerUnavailable(Exception):
    """The broker cannot be reached, refused us, or the session was lost mid-operation."""


class BrokerFlavour(StrEnum):
    RABBITMQ = "rabbitmq"
    ACTIVEMQ = "activemq"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One MESSAGE frame as received: the body exactly as sent, and how to ack it."""

    message_id: str
    ack_id: str
    destination: str
    headers: Mapping[str, str]
    body: bytes
    session: int
    """Which session delivered it; an ack on any other session would be refused."""
    received_at: float = field(default_factory=time.monotonic)

    @property
    def redelivered(self) -> bool:
        return self.headers.get("redelivered", "false") == "true"


class Inbox(Protocol):
    """Takes each delivery from the receiver thread (a ``queue.Queue`` will do)."""

    def put(self, delivery: Delivery) -> None: ...


class Sending:
    """Messages sent by :meth:`StompSession.start_sending`, their receipts still due."""

    def __init__(
        self, session: StompSession, waiters: dict[str, tuple[threading.Event, str]]
    ) -> None:
        self.session = session
        self.waiters = waiters

    def wait(self, timeout: float = 30.0) -> None:
        """Return once every message has its receipt; :class:`BrokerUnavailable` otherwise."""
        deadline = time.monotonic() + timeout
        try:
            for receipt, (waiter, destination) in self.waiters.items():
                self.session._await_receipt(
                    receipt,
                    waiter,
                    max(deadline - time.monotonic(), 0),
                    f"a message to {destination}",
                )
        finally:
            with self.session._receipts_lock:
                for pending in self.waiters:
                    self.session._receipts.pop(pending, None)


class StompSession(stomp.ConnectionListener):  # type: ignore[misc]
    """A connected STOMP session; create a new one after :attr:`lost` is set."""

    _numbers = iter(range(1, 1 << 62))

    def __init__(self, config: StompConfig, deliveries: Inbox | None = None) -> None:
        self.config = config
        self.number = next(self._numbers)
        self.flavour = BrokerFlavour.OTHER
        self.server = ""
        self.lost = threading.Event()
        self.error: str | None = None
        self._deliveries = deliveries
        self._receipts: dict[str, threading.Event] = {}
        self._refused: dict[str, str] = {}
        self._receipts_lock = threading.Lock()
        self._send_lock = threading.Lock()
        heartbeats = (config.heartbeat_ms, config.heartbeat_ms)
        self._connection = stomp.Connection12(
            host_and_ports=[(config.host, config.port)],
            heartbeats=heartbeats,
            vhost=config.vhost,
            auto_decode=False,
            reconnect_attempts_max=1,
            timeout=10,
        )
        if config.use_ssl:
            self._connection.set_ssl(for_hosts=[(config.host, config.port)])
        self._connection.set_listener("ledger", self)

    # -- lifecycle ---------------------------------------------------------------------

    def open(self) -> StompSession:
        """Connect and wait for CONNECTED; raise :class:`BrokerUnavailable` otherwise."""
        try:
            self._connection.connect(
                self.config.username, self.config.password, wait=True, headers={}
            )
        except (StompException, OSError) as error:
            self.close()
            raise BrokerUnavailable(
                f"cannot connect to {self.config.host}:{self.config.port}: "
                f"{self.error or error or type(error).__name__}"
            ) from None
        if not self._connection.is_connected():
            raise BrokerUnavailable(self.error or "the broker closed the connection")
        return self

    @property
    def alive(self) -> bool:
        return not self.lost.is_set() and bool(self._connection.is_connected())

    def close(self, timeout: float = 5.0) -> None:
        """Disconnect (unacked messages go back to the broker); never raises.

        Waits for the broker's receipt of the DISCONNECT, so that every ack sent before
        it has reached the broker when this returns."""
        try:
            if self._connection.is_connected():
                self._connection.disconnect(receipt=f"bye-{uuid.uuid4().hex}")
                self.lost.wait(timeout)  # set by on_disconnected once the receipt arrived
        except Exception:
            pass
        self._mark_lost()

    # -- consuming -----------------------------------------------------------------------

    def subscribe(
        self, destination: str, subscription_id: str, prefetch: int, timeout: float = 10.0
    ) -> None:
        """Subscribe and wait for the broker's receipt: a refusal (permissions, a queue
        declared with other arguments) surfaces here, not as a session that dies later."""
        receipt, waiter = self._expect_receipt()
        headers = {
            "prefetch-count": str(prefetch),
            "activemq.prefetchSize": str(prefetch),
            "receipt": receipt,
        }
        self._guard(
            lambda: self._connection.subscribe(
                destination, id=subscription_id, ack="client-individual", headers=headers
            )
        )
        self._await_receipt(receipt, waiter, timeout, f"subscription to {destination}")

    def unsubscribe(self, subscription_id: str) -> None:
        self._guard(lambda: self._connection.unsubscribe(id=subscription_id))

    def ack(self, delivery: Delivery) -> bool:
        """Acknowledge ``delivery``; False when it came on an earlier, lost session (the
        broker redelivers it, and idempotency makes that harmless)."""
        if delivery.session != self.number or not self.alive:
            return False
        try:
            with self._send_lock:
                self._connection.ack(delivery.ack_id)
        except (StompException, OSError):
            self._mark_lost()
            return False
        return True

    # -- publishing ----------------------------------------------------------------------

    def send(
        self,
        destination: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        confirm: bool = True,
        timeout: float = 10.0,
    ) -> None:
        """Send a persistent message; with ``confirm``, return only once the broker has it."""
        all_headers = {"persistent": "true", **clean_headers(headers)}
        if not confirm:
            self._guard(lambda: self._connection.send(destination, body, headers=all_headers))
            return
        receipt, waiter = self._expect_receipt()
        all_headers["receipt"] = receipt
        self._guard(lambda: self._connection.send(destination, body, headers=all_headers))
        self._await_receipt(receipt, waiter, timeout, f"a message to {destination}")

    def _expect_receipt(self) -> tuple[str, threading.Event]:
        receipt = f"r-{uuid.uuid4().hex}"
        waiter = threading.Event()
        with self._receipts_lock:
            self._receipts[receipt] = waiter
        return receipt, waiter

    def _await_receipt(
        self, receipt: str, waiter: threading.Event, timeout: float, what: str
    ) -> None:
        arrived = waiter.wait(timeout)
        with self._receipts_lock:
            self._receipts.pop(receipt, None)
            refused = self._refused.pop(receipt, None)
        if refused is not None:
            raise BrokerUnavailable(f"the broker refused {what}: {refused}")
        if not arrived or self.lost.is_set():
            raise BrokerUnavailable(f"no receipt from the broker for {what}")

    def send_all(
        self,
        destination: str,
        messages: Sequence[tuple[bytes, Mapping[str, str]]],
        *,
        timeout: float = 30.0,
    ) -> None:
        """Send several persistent messages, pipelined, and return once every one of them
        has a receipt (one round trip for the lot, not one per message)."""
        copies = [(destination, body, headers) for body, headers in messages]
        self.send_many(copies, timeout=timeout)

    def send_many(
        self,
        messages: Sequence[tuple[str, bytes, Mapping[str, str]]],
        *,
        timeout: float = 30.0,
    ) -> None:
        """:meth:`send_all` to several destinations: ``(destination, body, headers)`` each."""
        self.start_sending(messages).wait(timeout)

    def start_sending(self, messages: Sequence[tuple[str, bytes, Mapping[str, str]]]) -> Sending:
        """Send persistent messages, pipelined, without waiting: :meth:`Sending.wait` returns
        once every one of them has a receipt (the caller does other work meanwhile)."""
        waiters: dict[str, tuple[threading.Event, str]] = {}
        for destination, body, headers in messages:
            receipt, waiter = self._expect_receipt()
            waiters[receipt] = (waiter, destination)
            all_headers = {"persistent": "true", **clean_headers(headers), "receipt": receipt}
            self._guard(
                lambda d=destination, b=body, h=all_headers: self._connection.send(d, b, headers=h)
            )
        return Sending(self, waiters)

    def _guard(self, operation: Any) -> None:
        if not self.alive:
            raise BrokerUnavailable(self.error or "the session is closed")
        try:
            with self._send_lock:
                operation()
        except (StompException, OSError) as error:
            self._mark_lost()
            raise BrokerUnavailable(f"the broker connection failed: {error}") from None

    def _mark_lost(self) -> None:
        self.lost.set()
        with self._receipts_lock:
            for waiter in self._receipts.values():
                waiter.set()  # wake senders; they see ``lost`` and raise
            self._receipts.clear()

    # -- stomp.py listener callbacks (receiver thread) -------------------------------------

    def on_connected(self, frame: Any) -> None:
        self.server = str(frame.headers.get("server", ""))
        lowered = self.server.lower()
        if "rabbitmq" in lowered:
            self.flavour = BrokerFlavour.RABBITMQ
        elif "activemq" in lowered:
            self.flavour = BrokerFlavour.ACTIVEMQ

    def on_message(self, frame: Any) -> None:
        if self._deliveries is None:
            return
        headers = {str(k): str(v) for k, v in frame.headers.items()}
        body = frame.body if isinstance(frame.body, bytes) else str(frame.body).encode()
        self._deliveries.put(
            Delivery(
                message_id=headers.get("message-id", ""),
                ack_id=headers.get("ack", headers.get("message-id", "")),
                destination=headers.get("destination", ""),
                headers=headers,
                body=body,
                session=self.number,
            )
        )

    def on_receipt(self, frame: Any) -> None:
        receipt = frame.headers.get("receipt-id")
        with self._receipts_lock:
            waiter = self._receipts.pop(receipt, None)
        if waiter is not None:
            waiter.set()

    def on_error(self, frame: Any) -> None:
        message = frame.headers.get("message", "")
        body = frame.body.decode(errors="replace") if isinstance(frame.body, bytes) else frame.body
        self.error = f"broker error: {message} {body}".strip()
        receipt = frame.headers.get("receipt-id")
        if receipt:  # the broker refused that frame (and may keep the connection open)
            with self._receipts_lock:
                waiter = self._receipts.get(receipt)
                if waiter is not None:
                    self._refused[receipt] = self.error
                    waiter.set()

    def on_disconnected(self) -> None:
        self._mark_lost()

    def on_heartbeat_timeout(self) -> None:
        self.error = "heartbeat timeout"
        self._mark_lost()
