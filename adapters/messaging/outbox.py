"""The outbox: publish every booked outcome to the events topic, from the event log.

The ledger's notification log is the outbox. The publisher follows it from the
position saved in ``outbox_tracking``, publishes the outcome events of transactions
(posted, held, rejected, reversed) to ``/topic/ledger.events`` with broker receipts,
and saves the new position only once every receipt of the batch has arrived. A crash
between the two repeats those publications, never loses one; each message carries a
stable ``x-event-id`` (context, stream, version) so subscribers can drop repeats.

No event stops it (issue #12): an event it cannot decode or turn into a message is
quarantined as ``outbox`` (``rm_quarantine``, an ERROR line) and skipped; the rest of the
batch is published. ``ledger projections quarantine retry`` publishes it after a fix.

Only one publisher may follow a log at a time, or subscribers would see everything
twice: on PostgreSQL a session-level advisory lock elects it (released when its
connection ends), on SQLite an exclusive file lock in the data directory.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import structlog
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    select,
)

from adapters.leadership import leadership
from adapters.messaging.config import StompConfig
from adapters.messaging.connection import BrokerUnavailable, StompSession
from adapters.messaging.metrics import IngestionMetrics
from application.quarantine import Guard, Quarantine
from projections.events import Envelope
from projections.quarantine import TRANSIENT_DB, QuarantineStore
from projections.runner.sources import EventSource

log = structlog.get_logger("adapters.messaging.outbox")

OUTCOMES = {
    "Transaction.Posted": "transaction.posted",
    "Transaction.Held": "transaction.held",
    "Transaction.Rejected": "transaction.rejected",
    "Transaction.Reversed": "transaction.reversed",
}

FOLLOWER = "outbox"
"""The outbox's name in ``rm_quarantine``."""

metadata = MetaData()
outbox_tracking = Table(
    "outbox_tracking",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def create_outbox_tables(engine: Engine) -> None:
    """Create ``outbox_tracking`` if missing (part of ``ledger migrate``)."""
    metadata.create_all(engine, tables=[outbox_tracking])


class LostLeadership(Exception):
    """Another publisher moved the position: this one must stop publishing."""


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
        scope: str = "",
        batch_size: int = 500,
        poll_interval: float = 0.2,
        quarantine: Quarantine | None = None,
    ) -> None:
        self.quarantine = quarantine if quarantine is not None else QuarantineStore(engine)
        self.config = config
        self.source = source
        self.engine = engine
        self.metrics = metrics
        self.lock_dir = lock_dir
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.name = f"{source.name}->{config.events_topic}"
        self.lock_name = f"{scope}:{self.name}"
        """What the leader lock is named after: the schema (``scope``) as well, since the
        tracking position lives in the schema and the advisory lock in the database."""
        self._parties: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.leader = threading.Event()
        self.table_ready = False
        """True when ``outbox_tracking`` is known to exist (``ledger migrate`` made it and the
        process checked the schema version): :meth:`run` then creates nothing."""

    # -- position ------------------------------------------------------------------------

    def create_table(self) -> None:
        create_outbox_tables(self.engine)
        self.table_ready = True

    def position(self) -> int:
        with self.engine.connect() as connection:
            value = connection.execute(
                select(outbox_tracking.c.position).where(outbox_tracking.c.name == self.name)
            ).scalar()
        return int(value or 0)

    def _save(self, expected: int, position: int) -> None:
        """Move the position from ``expected`` to ``position`` (compare and set): if another
        publisher moved it meanwhile, raise :class:`LostLeadership` instead of going back."""
        now = datetime.now(UTC)
        with self.engine.begin() as connection:
            if expected == 0:
                exists = connection.execute(
                    select(outbox_tracking.c.position).where(outbox_tracking.c.name == self.name)
                ).first()
                if exists is None:
                    connection.execute(
                        outbox_tracking.insert().values(
                            name=self.name, position=position, updated_at=now
                        )
                    )
                    self.metrics.outbox_position.set(position)
                    return
            updated = connection.execute(
                outbox_tracking.update()
                .where(outbox_tracking.c.name == self.name)
                .where(outbox_tracking.c.position == expected)
                .values(position=position, updated_at=now)
            ).rowcount
            if not updated:
                raise LostLeadership(f"{self.name}: the position moved under this publisher")
        self.metrics.outbox_position.set(position)

    # -- running -------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Publish until ``stop``; wait for leadership, reconnect after broker failures."""
        delay = 0.2
        while not stop.is_set():
            try:
                if not self.table_ready:  # made by `ledger migrate`; retried if racing
                    self.create_table()
                with self._leadership() as still_leading:
                    if not still_leading():
                        stop.wait(2.0)
                        continue
                    session = StompSession(self.config).open()
                    self.leader.set()
                    try:
                        delay = 0.2
                        while not stop.is_set() and session.alive and still_leading():
                            if self.publish_pending(session) == 0:
                                stop.wait(self.poll_interval)
                    finally:
                        self.leader.clear()
                        session.close()
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
        guard = Guard(
            FOLLOWER,
            self.source.name,
            self.quarantine,
            transient=(*TRANSIENT_DB, BrokerUnavailable),
        )
        for notification in notifications:
            envelope = self.source.envelope(notification)
            message = guard.handle(notification.id, envelope.event, partial(self._built, envelope))
            if message is not None:
                messages.append(message)
        if messages:
            self._send(session, messages, after, notifications[-1].id)
        self._save(after, notifications[-1].id)
        return len(notifications)

    def _send(
        self,
        session: StompSession,
        messages: list[tuple[bytes, dict[str, str]]],
        after: int,
        last: int,
    ) -> None:
        """One PRODUCER span per published batch (positions, count; no content), and its
        W3C ``traceparent`` on every message, so a subscriber's work joins the trace. With
        tracing off the span is non-recording and no header is added."""
        with trace.get_tracer(__name__).start_as_current_span(
            "outbox.publish",
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "stomp",
                "messaging.operation.type": "send",
                "messaging.destination.name": self.config.events_topic,
                "messaging.batch.message_count": len(messages),
                "ledger.outbox.after": after,
                "ledger.outbox.last": last,
            },
            record_exception=False,
        ):
            propagator = TraceContextTextMapPropagator()
            for _, headers in messages:
                propagator.inject(headers)
            session.send_all(self.config.events_topic, messages)
        self.metrics.published.inc(len(messages))

    def retry(self, session: StompSession, position: int) -> None:
        """Publish the event at ``position`` (a quarantined one, after a fix) now; raises if
        it still cannot be decoded or turned into a message."""
        found = self.source.notifications(position - 1, 1, stop=position)
        if not found or found[0].id != position:
            raise LookupError(f"{self.source.name}#{position} is not in the log")
        message = self._message(self.source.decode(found[0]))
        if message is not None:
            self._send(session, [message], position - 1, position)

    def _built(self, envelope: Envelope, _event: object) -> tuple[bytes, dict[str, str]] | None:
        return self._message(envelope)

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

    def _leadership(self) -> contextlib.AbstractContextManager[Callable[[], bool]]:
        """Try to become the publisher; yields a check that says whether this process still
        is (on PostgreSQL, the lock's session may die with its connection)."""
        return leadership(self.engine, self.lock_name, self.lock_dir, file_prefix="outbox")
