"""Helpers for the tests against the real STOMP broker (RabbitMQ, set up by make test)."""

from __future__ import annotations

import json
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import stomp

from adapters.messaging.config import StompConfig
from adapters.messaging.connection import StompSession
from adapters.persistence import DatabaseConfig

STOMP_HOST = os.environ.get("LEDGER_TEST_STOMP_HOST", "127.0.0.1")
STOMP_PORT = int(os.environ.get("LEDGER_TEST_STOMP_PORT", "61613"))
ACTIVEMQ_PORT = int(os.environ.get("LEDGER_TEST_ACTIVEMQ_PORT", "61614"))


def unique_config(**overrides: Any) -> StompConfig:
    """Destinations of their own for one test, so tests never see each other's messages."""
    tag = uuid.uuid4().hex[:10]
    base = StompConfig(
        host=STOMP_HOST,
        port=STOMP_PORT,
        queue=f"/queue/test.{tag}.in",
        dead_letter_queue=f"/queue/test.{tag}.dlq",
        events_topic=f"/topic/test.{tag}.events",
        batch_size=50,
        batch_wait_ms=20,
        prefetch=100,
        heartbeat_ms=2000,
        max_retry_delay_s=0.5,
    )
    return replace(base, **overrides)


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.05)


class Producer:
    """A channel sending to the broker; after a dropped connection it resends everything
    since its last confirmation (receipt).

    A message sent unconfirmed may be lost with the connection even though the write to
    the socket succeeded, so resending only the send that failed would lose the
    unconfirmed ones before it. Resending more than was lost is harmless: the consumer
    books a payment once (deterministic ids) and counts the rest as duplicates.
    """

    def __init__(self, config: StompConfig) -> None:
        self.config = config
        self.session = StompSession(config).open()
        # Every message since the last receipt: (destination, body, headers).
        self.unconfirmed: list[tuple[str, bytes, dict[str, str]]] = []
        self.reconnects = 0  # sessions opened again after a dropped connection
        self.resends = 0  # messages sent again after a dropped connection

    def send(
        self,
        body: bytes | str | dict[str, Any],
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        destination: str | None = None,
        confirm: bool = True,
    ) -> None:
        if isinstance(body, dict):
            body = json.dumps(body)
        raw = body.encode() if isinstance(body, str) else body
        all_headers = {"content-type": content_type, "x-sent-at": f"{time.time():.6f}"}
        all_headers.update(headers or {})
        self.unconfirmed.append((destination or self.config.queue, raw, all_headers))
        replay = False
        for _ in range(50):
            try:
                if not self.session.alive:
                    self.session = StompSession(self.config).open()
                    self.reconnects += 1
                    replay = True
                if replay:
                    self._replay()
                else:
                    target, _body, _headers = self.unconfirmed[-1]
                    self.session.send(target, raw, all_headers, confirm=confirm)
                    if confirm:
                        self.unconfirmed.clear()
                return
            except Exception:  # the broker dropped us: reconnect and resend
                replay = True
                time.sleep(0.1)
        raise AssertionError("could not send after 50 attempts")

    def _replay(self) -> None:
        """Send again every message since the last receipt, the last one confirmed (the
        broker confirms in order: its receipt covers the ones before it)."""
        *earlier, last = self.unconfirmed
        for target, raw, all_headers in earlier:
            self.session.send(target, raw, all_headers, confirm=False)
        target, raw, all_headers = last
        self.session.send(target, raw, all_headers, confirm=True)
        self.resends += len(self.unconfirmed) - 1
        self.unconfirmed.clear()

    def close(self) -> None:
        self.session.close()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


class Collector:
    """Reads a queue or topic into a list (auto ack), e.g. the dead-letter queue."""

    def __init__(self, config: StompConfig, destination: str) -> None:
        self.messages: list[Received] = []
        self._queue: queue.Queue[Any] = queue.Queue()
        self._lock = threading.Lock()
        outer = self

        subscribed = threading.Event()

        class Listener(stomp.ConnectionListener):  # type: ignore[misc]
            def on_message(self, frame: Any) -> None:
                with outer._lock:
                    outer.messages.append(Received(dict(frame.headers), frame.body))

            def on_receipt(self, frame: Any) -> None:
                if frame.headers.get("receipt-id") == "collector-subscribed":
                    subscribed.set()

        self.connection = stomp.Connection12(
            [(config.host, config.port)], vhost=config.vhost, auto_decode=False
        )
        self.connection.set_listener("collector", Listener())
        self.connection.connect(config.username, config.password, wait=True)
        # A topic keeps nothing for a subscriber that is not there yet: wait for the broker's
        # receipt of the SUBSCRIBE before anyone publishes (else a first message may be lost).
        self.connection.subscribe(
            destination, id="collector", ack="auto", headers={"receipt": "collector-subscribed"}
        )
        if not subscribed.wait(10):
            raise AssertionError(f"the broker did not confirm the subscription to {destination}")

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        if self.connection.is_connected():
            self.connection.disconnect()


@contextmanager
def collecting(config: StompConfig, destination: str) -> Iterator[Collector]:
    collector = Collector(config, destination)
    try:
        yield collector
    finally:
        collector.close()


ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ingestion_env(database: DatabaseConfig, queue: str, **settings: str) -> dict[str, str]:
    """The environment of a ``ledger serve --role ingestion`` process on ``database``, consuming
    ``queue`` on the local RabbitMQ; ``settings`` add or override ``LEDGER_*`` variables."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LEDGER_")}
    env.update(
        LEDGER_DATA_DIR=str(database.data_dir),
        LEDGER_DATABASE_URL=str(database.url),
        LEDGER_DATABASE_SCHEMA=str(database.schema),
        LEDGER_STOMP_URL="stomp://guest:guest@127.0.0.1:61613",
        LEDGER_STOMP_QUEUE=queue,
        LEDGER_STOMP_DLQ=queue.replace(".in", ".dlq"),
        LEDGER_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    env.update(settings)
    return env
