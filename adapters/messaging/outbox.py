"""The outbox: publish every booked outcome to the events topic, from the event log.

The ledger's notification log is the outbox. The publisher follows it from the
position saved in ``outbox_tracking``, publishes the outcome events of transactions
(posted, held, rejected, reversed) to ``/topic/ledger.events`` with broker receipts,
and saves the new position only once every receipt of the batch has arrived. A crash
between the two repeats those publications, never loses one; each message carries a
stable ``x-event-id`` (context, stream, version) so subscribers can drop repeats.

Only one publisher may follow a log at a time, or subscribers would see everything
twice: on PostgreSQL a session-level advisory lock elects it (released when its
connection ends), on SQLite an exclusive file lock in the data directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    select,
    text,
)

from adapters.messaging.config import StompConfig
from adapters.messaging.connection import BrokerUnavailable, StompSession
from adapters.messaging.metrics import IngestionMetrics
from projections.events import Envelope
from projections.runner import EventSource

log = structlog.get_logger("adapters.messaging.outbox")

OUTCOMES = {
    "Transaction.Posted": "transaction.posted",
    "Transaction.Held": "transaction.held",
    "Transaction.Rejected": "transaction.rejected",
    "Transaction.Reversed": "transaction.reversed",
}

metadata = MetaData()
outbox_tracking = Table(
    "outbox_tracking",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


class OutboxPublisher:
    """Follows one context's log and publishes its transaction outcomes."""

    def __init__(
        self,
        config: StompConfig,
        source: EventSource,
        engine: Engine,
        metrics: IngestionMetrics,
        *,
        lock_dir: Path,
        batch_size: int = 500,
        poll_interval: float = 0.2,
    ) -> None:
        self.config = config
        self.source = source
        self.engine = engine
        self.metrics = metrics
        self.lock_dir = lock_dir
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.name = f"{source.name}->{config.events_topic}"
        self._parties: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.leader = threading.Event()

    # -- position ------------------------------------------------------------------------

    def create_table(self) -> None:
        metadata.create_all(self.engine, tables=[outbox_tracking])

    def position(self) -> int:
        with self.engine.connect() as connection:
            value = connection.execute(
                select(outbox_tracking.c.position).where(outbox_tracking.c.name == self.name)
            ).scalar()
        return int(value or 0)

    def _save(self, position: int) -> None:
        now = datetime.now(UTC)
        with self.engine.begin() as connection:
            updated = connection.execute(
                outbox_tracking.update()
                .where(outbox_tracking.c.name == self.name)
                .values(position=position, updated_at=now)
            ).rowcount
            if not updated:
                connection.execute(
                    outbox_tracking.insert().values(
                        name=self.name, position=position, updated_at=now
                    )
                )
        self.metrics.outbox_position.set(position)

    # -- running -------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Publish until ``stop``; wait for leadership, reconnect after broker failures."""
        self.create_table()
        delay = 0.2
        while not stop.is_set():
            try:
                with self._leadership(stop) as leading:
                    if not leading:
                        stop.wait(2.0)
                        continue
                    self.leader.set()
                    session = StompSession(self.config).open()
                    try:
                        delay = 0.2
                        while not stop.is_set() and session.alive:
                            if self.publish_pending(session) == 0:
                                stop.wait(self.poll_interval)
                    finally:
                        session.close()
                        self.leader.clear()
            except BrokerUnavailable as error:
                log.warning("outbox: broker unavailable", error=str(error), retry_in=delay)
            except Exception as error:
                log.warning("outbox: publishing failed", error=repr(error), retry_in=delay)
            stop.wait(delay)
            delay = min(delay * 2, 10.0)

    def publish_pending(self, session: StompSession) -> int:
        """Publish the next batch of outcomes; returns the notifications consumed."""
        after = self.position()
        notifications = self.source.notifications(after, self.batch_size)
        if not notifications:
            return 0
        messages: list[tuple[bytes, dict[str, str]]] = []
        for notification in notifications:
            envelope = self.source.decode(notification)
            message = self._message(envelope)
            if message is not None:
                messages.append(message)
        if messages:
            session.send_all(self.config.events_topic, messages)
            self.metrics.published.inc(len(messages))
        self._save(notifications[-1].id)
        return len(notifications)

    def _message(self, envelope: Envelope) -> tuple[bytes, dict[str, str]] | None:
        if envelope.event_type == "Transaction.Received":
            self._remember(envelope.stream_id, envelope.payload())
            return None
        kind = OUTCOMES.get(envelope.event_type)
        if kind is None:
            return None
        event_id = f"{envelope.context}:{envelope.stream_id}:{envelope.version}"
        body = {
            "eventId": event_id,
            "type": kind,
            "position": envelope.position,
            "transactionId": envelope.stream_id,
            "recordedAt": envelope.recorded_at.isoformat(),
            **self._party_fields(envelope.stream_id),
            "detail": envelope.payload(),
        }
        headers = {
            "content-type": "application/json",
            "x-event-id": event_id,
            "x-event-type": kind,
            "x-notification-id": str(envelope.position),
            "correlation-id": str(getattr(envelope.event, "correlation_id", "") or ""),
        }
        return json.dumps(body, separators=(",", ":")).encode(), headers

    def _remember(self, transaction_id: str, received: dict[str, Any]) -> None:
        self._parties[transaction_id] = {
            "channel": received.get("channel"),
            "externalId": received.get("external_id"),
            "amount": received.get("amount"),
            "currency": received.get("currency"),
        }
        while len(self._parties) > 100_000:
            self._parties.popitem(last=False)

    def _party_fields(self, transaction_id: str) -> dict[str, Any]:
        fields = self._parties.get(transaction_id)
        if fields is None:  # received before our position (restart): read the stream
            app = self.source.app
            tx: Any = app.repository.get(UUID(transaction_id))
            self._remember(
                transaction_id,
                {
                    "channel": tx.channel,
                    "external_id": tx.external_id,
                    "amount": format(tx.amount, "f"),
                    "currency": tx.currency,
                },
            )
            fields = self._parties[transaction_id]
        return fields

    # -- leader election -----------------------------------------------------------------

    @contextlib.contextmanager
    def _leadership(self, stop: threading.Event) -> Iterator[bool]:
        if self.engine.dialect.name == "postgresql":
            key = int.from_bytes(
                hashlib.sha256(self.name.encode()).digest()[:8], "big", signed=True
            )
            with self.engine.connect() as connection:
                got = bool(
                    connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
                )
                connection.commit()
                try:
                    yield got
                finally:
                    if got:
                        with contextlib.suppress(Exception):
                            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                            connection.commit()
            return
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        safe = hashlib.sha256(self.name.encode()).hexdigest()[:16]
        with open(self.lock_dir / f"outbox-{safe}.lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
