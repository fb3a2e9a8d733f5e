"""The ingestion consumer: book queued payments exactly once in effect, lose none.

Delivery is at least once; the effect is exactly once because a message is
acknowledged (``client-individual``) only after the database transaction that booked
it has committed, and a redelivered message carries the same idempotency key
``(channel, externalId)``, which the ledger answers without booking twice.

Per batch (up to ``batch_size`` messages or ``batch_wait_ms`` after the first):

1. decode each message; one that can never be booked is sent to the dead-letter
   queue with the original body and ``x-dead-letter-*`` headers (confirmed by a broker
   receipt), then acknowledged;
2. book the rest in one database transaction;
3. a transient failure (database unreachable, conflicts exhausted) keeps the messages
   unacknowledged and retries with capped exponential backoff; they are never
   dead-lettered for it;
4. any other failure books the messages one at a time to find the culprit, which is
   dead-lettered as ``processing-error`` once the database is known to be reachable;
5. acknowledge every booked message.

Partitioned (PostgreSQL, several replicas: :mod:`adapters.messaging.partitioning`), step 2
first routes the batch: the messages of partitions this replica holds are booked under the
scope of those leases, the others forwarded to their partition queue and acknowledged once
the broker confirmed the copies; between batches the replica applies the pending credits of
its partitions. A lease lost meanwhile (``LeaseLost``, ``OutsideScope``: nothing committed)
routes the batch again.

The supervisor (:meth:`IngestionConsumer.run`) reconnects and resubscribes whenever
the session is lost (stomp.py does not), dropping the unacknowledged messages of the
old session, which the broker redelivers. On stop (SIGTERM) it unsubscribes, finishes
and acknowledges the batch in hand, and returns.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from eventsourcing.persistence import InterfaceError, InternalError, OperationalError
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from adapters.messaging.config import StompConfig
from adapters.messaging.connection import BrokerUnavailable, Delivery, StompSession
from adapters.messaging.decoding import Decoded, Undeliverable, classify, decode
from adapters.messaging.metrics import IngestionMetrics
from adapters.messaging.partitioning import (
    PARTITION_SUBSCRIPTION_PREFIX,
    PartitionRouter,
    PendingCreditApplier,
    partition_queue,
)
from adapters.partitions.fencing import LeaseLost
from application.errors import (
    ConcurrencyExhausted,
    IdempotencyKeyReused,
    InvalidCommand,
    OutsideScope,
)
from application.ledger.commands import PaymentInstruction, SubmissionResult
from application.ledger.ports import PendingCredit, WriteScope
from domain.causation import Causation

log = structlog.get_logger("adapters.messaging.consumer")

SUBSCRIPTION_ID = "ledger-ingestion"
STOP_GRACE_S = 20.0
"""After a stop request, how long a batch in hand may keep retrying a failing database."""

TRANSPORT_HEADERS = frozenset(
    {
        # delivery headers of this hop (both brokers)
        "message-id", "ack", "subscription", "destination", "content-length", "receipt",
        "redelivered",
        # added by ActiveMQ
        "expires", "priority", "timestamp", "scheduledJobId", "redeliveryDelay",
        "original-destination",
    }
)  # fmt: skip
KEPT_HEADERS = frozenset({"content-type", "content-encoding", "correlation-id", "x-sent-at"})
"""Sender headers a dead letter keeps as they were. Every other one is carried as
``x-original-header-<name>``: copied as is, some would act on the dead-letter queue
(RabbitMQ reads ``x-message-ttl``, ``x-max-length``... on a SEND as queue arguments, and
``expiration`` as the message's time to live)."""
FORWARDED_HEADERS = KEPT_HEADERS | {"traceparent", "tracestate"}
"""Headers a message forwarded to its partition queue keeps as they were (the others are
carried as ``x-original-header-<name>``, as in a dead letter)."""
SHORT_SESSION_S = 5.0
MAX_SPAN_LINKS = 128
"""Links from a batch span to the senders' traces (``traceparent`` headers), at most."""
_TRACE_CONTEXT = TraceContextTextMapPropagator()

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConcurrencyExhausted,
    OperationalError,
    InterfaceError,
    InternalError,
    OSError,
    TimeoutError,
)


class PaymentBooker(Protocol):
    def submit_payments(
        self,
        instructions: list[PaymentInstruction],
        causations: list[Causation] | None = None,
    ) -> list[SubmissionResult]: ...


class ScopedPaymentBooker(Protocol):
    """A booker that takes a partitioned writer's scope and its pending credits (the ledger)."""

    def submit_payments(
        self,
        instructions: list[PaymentInstruction],
        causations: list[Causation] | None = None,
        *,
        scope: WriteScope | None = None,
        credits: Sequence[PendingCredit] = (),
    ) -> list[SubmissionResult]: ...


class _Reroute(Exception):
    """The batch's scope no longer holds (a lease moved): route again what was not handled,
    ``remaining`` (None: the whole part, nothing of it was committed)."""

    def __init__(self, detail: str, remaining: list[Any] | None = None) -> None:
        super().__init__(detail)
        self.remaining = remaining


MAX_REROUTES = 5
"""Routings of one batch before it is abandoned (its messages redelivered): a lease thread
that cannot step would otherwise keep the batch rerouted to partitions it lost."""
IDLE_WAIT_S = 1.0
"""How long a revocation waits for the batch in hand (the fence keeps a later write safe)."""


class _Abandoned(Exception):
    """The batch cannot be finished on this session; its messages will be redelivered."""


@dataclass(frozen=True)
class ConsumerStatus:
    connected: bool
    broker: str
    flavour: str
    sessions_opened: int
    last_error: str | None


class IngestionConsumer:
    def __init__(
        self,
        config: StompConfig,
        booker: PaymentBooker,
        metrics: IngestionMetrics,
        *,
        database_probe: Callable[[], Any],
        actor: str = "service:ingestion",
        session_factory: Callable[..., StompSession] = StompSession,
        on_acknowledged: Callable[[Delivery, float], None] | None = None,
        router: PartitionRouter | None = None,
        credits: PendingCreditApplier | None = None,
    ) -> None:
        self.config = config
        self.booker = booker
        self.metrics = metrics
        self.database_probe = database_probe
        self.actor = actor
        self._session_factory = session_factory
        self._on_acknowledged = on_acknowledged
        """Called with each booked message and the wall-clock time of its ack (benchmarks)."""
        self._inbox = _DecodingInbox(config.pacs008_channel)
        self._session: StompSession | None = None
        self._sessions_opened = 0
        self._last_error: str | None = None
        self.subscribed = threading.Event()
        self._outcomes: dict[str, int] | None = None
        """The batch in hand's outcome counts, for its span."""
        self.router = router
        self.credits = credits
        self.busy = threading.Lock()
        """Held while a batch (or a batch of pending credits) is in hand: a revocation of
        partitions waits for it (:meth:`wait_idle`)."""
        self._partition_subscriptions: set[int] = set()
        self._credits_carried = False
        """Whether the last batch applied the pending credits (else they are applied alone)."""

    # -- supervision ---------------------------------------------------------------------

    def status(self) -> ConsumerStatus:
        session = self._session
        return ConsumerStatus(
            connected=session is not None and session.alive and self.subscribed.is_set(),
            broker=f"{self.config.host}:{self.config.port}",
            flavour=str(session.flavour) if session is not None else "unknown",
            sessions_opened=self._sessions_opened,
            last_error=self._last_error,
        )

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set, reconnecting after every lost session."""
        delay = 0.2
        while not stop.is_set():
            if self.router is not None and not self.router.ready():
                stop.wait(0.05)  # the partitions held are not known yet
                continue
            try:
                session = self._open()
            except BrokerUnavailable as error:
                self._last_error = str(error)
                log.warning("broker unavailable; retrying", error=str(error), retry_in=delay)
                stop.wait(delay)
                delay = min(delay * 2, 10.0)
                continue
            opened_at = time.monotonic()
            try:
                resubscribe = self._consume(session, stop)
            finally:
                self.subscribed.clear()
                self.metrics.connected.set(0)
                session.close()
                self._drop_undeliverable_acks(session)
            if resubscribe:
                continue  # partitions moved away: a new session, nothing lost
            if not stop.is_set():
                self._last_error = session.error or "connection lost"
                log.warning("broker session lost; reconnecting", error=self._last_error)
                if time.monotonic() - opened_at < SHORT_SESSION_S:
                    # Lost at once again: back off instead of hammering the broker.
                    stop.wait(delay)
                    delay = min(delay * 2, 10.0)
                else:
                    delay = 0.2
        log.info("ingestion consumer stopped")

    def _open(self) -> StompSession:
        session = self._session_factory(self.config, self._inbox).open()
        try:
            session.subscribe(self.config.queue, SUBSCRIPTION_ID, self.config.prefetch)
        except BrokerUnavailable:
            session.close()
            raise
        self._partition_subscriptions = set()
        self._sessions_opened += 1
        if self._sessions_opened > 1:
            self.metrics.reconnects.inc()
        self._session = session
        self.subscribed.set()
        self.metrics.connected.set(1)
        log.info(
            "ingestion consumer subscribed",
            server=session.server or "unknown",
            flavour=str(session.flavour),
            **self.config.describe(),
        )
        return session

    def _consume(self, session: StompSession, stop: threading.Event) -> bool:
        """Consume on ``session``; True when it must be replaced by a new one because
        partitions moved away (see :meth:`_follow_partitions`)."""
        while session.alive and not stop.is_set():
            try:
                if not self._follow_partitions(session):
                    return True
            except BrokerUnavailable as error:  # a subscription refused or unanswered
                log.warning("partition queue subscription failed", error=str(error))
                return False
            batch = self._take_batch(session, stop)
            self._credits_carried = False
            if batch:
                try:
                    with self.busy:
                        self._process(session, batch, stop)
                except _Abandoned as abandoned:
                    log.warning("batch abandoned; the broker redelivers it", reason=str(abandoned))
                    return False
            if not self._credits_carried:
                self._apply_pending_credits()
        if stop.is_set() and session.alive:
            with contextlib.suppress(BrokerUnavailable):
                session.unsubscribe(SUBSCRIPTION_ID)
                for partition in sorted(self._partition_subscriptions):
                    session.unsubscribe(f"{PARTITION_SUBSCRIPTION_PREFIX}{partition}")
        return False

    def wait_idle(self, _partitions: object = None) -> None:
        """Return once no batch is in hand, or after :data:`IDLE_WAIT_S` (the leases'
        ``on_revoked``: the writes of the revoked partitions in flight usually end before they
        are released; one still running fails its fence check or holds the takeover back, so
        the lease thread never waits on a batch stuck retrying, and keeps heartbeating)."""
        if self.busy.acquire(timeout=IDLE_WAIT_S):
            self.busy.release()

    # -- partitions ----------------------------------------------------------------------

    def _follow_partitions(self, session: StompSession) -> bool:
        """Subscribe to the queues of partitions newly held. False when a partition this
        session is subscribed to has moved away: the session is then replaced rather than
        unsubscribed from, so that the broker requeues, for the new owner, every message of
        it that this session had received and not acknowledged (brokers differ on what an
        UNSUBSCRIBE does to those: closing the session is the one thing they agree on)."""
        if self.router is None:
            return True
        owned = self.router.owned()
        self.metrics.partitions_owned.set(len(owned))
        lost = sorted(self._partition_subscriptions - owned)
        if lost:
            log.info("partitions moved away; resubscribing on a new session", partitions=lost)
            return False
        gained = sorted(owned - self._partition_subscriptions)
        if gained:
            log.info("partition queues followed", subscribing=gained)
        for partition in gained:
            session.subscribe(
                partition_queue(self.config.queue, partition),
                f"{PARTITION_SUBSCRIPTION_PREFIX}{partition}",
                max(self.config.prefetch // 4, 1),
            )
            self._partition_subscriptions.add(partition)
        return True

    def _apply_pending_credits(self) -> None:
        """Apply the pending credits of the partitions held (between batches)."""
        if self.credits is None:
            return
        try:
            with self.busy:
                self.credits.apply_once()
        except (LeaseLost, OutsideScope) as moved:
            log.info("pending credits of a partition that moved; next time", error=str(moved))
        except Exception as error:
            self._last_error = f"{type(error).__name__}: {error}"
            log.warning("pending credits not applied; retrying", error=self._last_error)

    def _drop_undeliverable_acks(self, session: StompSession) -> None:
        """Forget buffered deliveries of a closed session: they can no longer be acked."""
        kept: list[_Arrival] = []
        while True:
            try:
                arrival = self._inbox.arrivals.get_nowait()
            except queue.Empty:
                break
            if arrival[0].session > session.number:
                kept.append(arrival)
        for arrival in kept:
            self._inbox.arrivals.put(arrival)

    # -- batching ------------------------------------------------------------------------

    def _take_batch(self, session: StompSession, stop: threading.Event) -> list[_Arrival]:
        first = self._next(session, timeout=0.2)
        if first is None:
            return []
        batch = [first]
        deadline = time.monotonic() + self.config.batch_wait_ms / 1000
        while len(batch) < self.config.batch_size and not stop.is_set():
            remaining = deadline - time.monotonic()
            delivery = self._next(session, timeout=max(remaining, 0.0), block=remaining > 0)
            if delivery is None:
                break
            batch.append(delivery)
        return batch

    def _next(self, session: StompSession, timeout: float, block: bool = True) -> _Arrival | None:
        while True:
            try:
                arrival = self._inbox.arrivals.get(block=block, timeout=timeout if block else None)
            except queue.Empty:
                return None
            if arrival[0].session == session.number:
                return arrival
            # From a lost session: the broker redelivers it on this one.

    # -- processing ----------------------------------------------------------------------

    def _process(self, session: StompSession, batch: list[_Arrival], stop: threading.Event) -> None:
        """One span per batch, linked to each sender's trace (a W3C ``traceparent`` header),
        with the outcome counts; no message content, headers or account numbers."""
        self._outcomes = outcomes = {"booked": 0, "duplicates": 0, "dead_lettered": 0}
        with trace.get_tracer(__name__).start_as_current_span(
            "ingestion.batch",
            kind=trace.SpanKind.CONSUMER,
            links=_sender_links(batch),
            attributes={
                "messaging.system": "stomp",
                "messaging.operation.type": "process",
                "messaging.destination.name": self.config.queue,
                "messaging.batch.message_count": len(batch),
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                self._process_batch(session, batch, stop)
            except _Abandoned:
                span.set_attribute("ledger.ingestion.outcome", "abandoned")
                raise
            except Exception as error:
                span.set_attribute("error.type", type(error).__qualname__)
                span.set_status(trace.StatusCode.ERROR)
                raise
            else:
                span.set_attribute("ledger.ingestion.outcome", "done")
            finally:
                for name, count in outcomes.items():
                    span.set_attribute(f"ledger.ingestion.{name}", count)
                self._outcomes = None

    def _process_batch(
        self, session: StompSession, batch: list[_Arrival], stop: threading.Event
    ) -> None:
        self.metrics.consumed.inc(len(batch))
        accepted: list[tuple[Delivery, Decoded]] = []
        for delivery, outcome in batch:
            if isinstance(outcome, Undeliverable):
                self._dead_letter(session, delivery, outcome.reason, outcome.detail)
                continue
            accepted.append((delivery, outcome))
        if not accepted:
            return
        if self.router is None:
            self._book_batch(session, accepted, stop, None)
            return
        for routing in range(MAX_REROUTES + 1):
            backoff = min(0.05 * 2**routing, 1.0)
            if routing and (stop.is_set() or session.lost.wait(backoff)):
                raise _Abandoned("stopping, or the session was lost, while rerouting")
            try:
                routed = self.router.split(accepted, lambda item: item[1].instructions)
            except Exception as error:  # the account directory's query: database down
                raise _Abandoned(f"routing failed: {type(error).__name__}: {error}") from error
            forwarding = self._forward(session, routed.forward) if routed.forward else None
            try:
                if routed.local:
                    credits = self._pending_credits(routed.scope)
                    self._book_batch(session, routed.local, stop, routed.scope, credits)
                if routed.unscoped:
                    self._book_batch(session, routed.unscoped, stop, None)
            except _Reroute as moved:  # what it names was not handled: route it again
                log.info("a partition moved while booking; routing again", error=str(moved))
                left = moved.remaining if moved.remaining is not None else routed.local
                accepted = left + routed.unscoped
                continue
            finally:
                if forwarding is not None:
                    forwarding()
            return
        raise _Abandoned(f"partitions kept moving: routed {MAX_REROUTES + 1} times")

    def _pending_credits(self, scope: WriteScope | None) -> Sequence[PendingCredit]:
        """The pending credits a scoped batch applies in its own transaction (one commit for
        both); none when they cannot be read (they are applied between batches then)."""
        if self.credits is None or scope is None:
            return ()
        try:
            credits = self.credits.pending_for(scope)  # type: ignore[arg-type]
        except Exception as error:
            log.warning("pending credits not read", error=f"{type(error).__name__}: {error}")
            return ()
        self._credits_carried = True
        return credits

    def _book_batch(
        self,
        session: StompSession,
        accepted: list[tuple[Delivery, Decoded]],
        stop: threading.Event,
        scope: WriteScope | None,
        credits: Sequence[PendingCredit] = (),
    ) -> None:
        """Book ``accepted`` (with ``credits``); a batch that fails for a reason not known to
        be transient is tried again without the credits (a credit never costs a payment),
        then one message at a time to find the culprit."""
        self.metrics.batch_size.observe(len(accepted))
        for carried in (credits, ()) if credits else ((),):
            try:
                results = self._book_with_retry(session, accepted, stop, scope, carried)
            except _Isolate:
                self._credits_carried = False
                continue
            self._acknowledge(session, accepted, results)
            return
        for index, item in enumerate(accepted):
            try:
                self._book_alone(session, item, stop, scope)
            except _Reroute as moved:  # the ones before were booked or dead-lettered
                raise _Reroute(str(moved), remaining=accepted[index:]) from moved

    def _book_alone(
        self,
        session: StompSession,
        item: tuple[Delivery, Decoded],
        stop: threading.Event,
        scope: WriteScope | None,
    ) -> None:
        try:
            results = self._book_with_retry(session, [item], stop, scope)
        except _Isolate as isolate:
            self._dead_letter(session, item[0], isolate.reason, isolate.detail)
            return
        self._acknowledge(session, [item], results)

    def _forward(
        self, session: StompSession, forward: dict[int, list[tuple[Delivery, Decoded]]]
    ) -> Callable[[], None]:
        """Copy each message to its partition's queue, without waiting; the function returned
        waits for the broker's receipt of every copy, then acknowledges the originals (call
        it after booking the rest of the batch: the broker's disk and the database work at
        once). A crash before the acks leaves the originals to be redelivered, and booking a
        copy twice is idempotent."""
        copies = [
            (destination, delivery.body, _forwarded_headers(delivery))
            for partition, items in sorted(forward.items())
            for destination in (partition_queue(self.config.queue, partition),)
            for delivery, _decoded in items
        ]
        try:
            sending = session.start_sending(copies)
        except BrokerUnavailable as error:
            raise _Abandoned(f"forward not sent: {error}") from None

        def confirm() -> None:
            try:
                sending.wait()
            except BrokerUnavailable as error:
                raise _Abandoned(f"forward not confirmed: {error}") from None
            for items in forward.values():
                for delivery, _decoded in items:
                    session.ack(delivery)
            self.metrics.forwarded.inc(len(copies))

        return confirm

    def _book_with_retry(
        self,
        session: StompSession,
        accepted: list[tuple[Delivery, Decoded]],
        stop: threading.Event,
        scope: WriteScope | None = None,
        credits: Sequence[PendingCredit] = (),
    ) -> list[SubmissionResult]:
        instructions: list[PaymentInstruction] = []
        causations: list[Causation] = []
        for delivery, decoded in accepted:
            # RabbitMQ changes message-id on every redelivery: without the sender's
            # correlation id, the idempotency key is the stable one.
            given = delivery.headers.get("correlation-id")
            for instruction in decoded.instructions:
                correlation = given or f"{instruction.channel}:{instruction.external_id}"
                instructions.append(instruction)
                causations.append(Causation(self.actor, correlation, instruction.channel))
        delay = 0.05
        stop_seen_at: float | None = None
        while True:
            try:
                if scope is None:
                    return self.booker.submit_payments(instructions, causations)
                booker: ScopedPaymentBooker = self.booker  # type: ignore[assignment]
                return booker.submit_payments(
                    instructions, causations, scope=scope, credits=credits
                )
            except (LeaseLost, OutsideScope) as moved:
                raise _Reroute(str(moved)) from moved
            except InvalidCommand as invalid:
                raise _Isolate(str(invalid), classify(invalid.problems)) from invalid
            except IdempotencyKeyReused as reused:
                raise _Isolate(str(reused), "idempotency-key-reused") from reused
            except TRANSIENT_ERRORS as error:
                self._retry_or_abandon(session, stop, error, delay, stop_seen_at)
            except Exception as error:
                if not self._database_reachable():
                    self._retry_or_abandon(session, stop, error, delay, stop_seen_at)
                else:
                    raise _Isolate(f"{type(error).__name__}: {error}") from error
            if stop.is_set() and stop_seen_at is None:
                stop_seen_at = time.monotonic()
            delay = min(delay * 2, self.config.max_retry_delay_s)

    def _retry_or_abandon(
        self,
        session: StompSession,
        stop: threading.Event,
        error: BaseException,
        delay: float,
        stop_seen_at: float | None,
    ) -> None:
        self.metrics.retried.inc()
        self._last_error = f"{type(error).__name__}: {error}"
        log.warning("transient failure; retrying the batch", error=self._last_error, delay=delay)
        if stop_seen_at is not None and time.monotonic() - stop_seen_at > STOP_GRACE_S:
            raise _Abandoned("stopping while the database is unavailable")
        if session.lost.wait(delay):
            raise _Abandoned("broker session lost while retrying")

    def _database_reachable(self) -> bool:
        try:
            self.database_probe()
        except Exception:
            return False
        return True

    def _acknowledge(
        self,
        session: StompSession,
        accepted: list[tuple[Delivery, Decoded]],
        results: list[SubmissionResult],
    ) -> None:
        for result in results:
            if result.duplicate:
                self.metrics.duplicates.inc()
            else:
                self.metrics.count_booked(result.status)
        if self._outcomes is not None:
            duplicates = sum(1 for result in results if result.duplicate)
            self._outcomes["duplicates"] += duplicates
            self._outcomes["booked"] += len(results) - duplicates
        for delivery, _decoded in accepted:
            session.ack(delivery)
            acked_at = time.time()
            sent_at = _sent_at(delivery)
            if sent_at is not None:
                self.metrics.latency.observe(max(acked_at - sent_at, 0.0))
            if self._on_acknowledged is not None:
                self._on_acknowledged(delivery, acked_at)

    def _dead_letter(
        self, session: StompSession, delivery: Delivery, reason: str, detail: str
    ) -> None:
        headers: dict[str, str] = {}
        for name, value in delivery.headers.items():
            if name in KEPT_HEADERS:
                headers[name] = value
            elif name not in TRANSPORT_HEADERS:
                headers[f"x-original-header-{name}"] = value
        headers.update(
            {
                "x-dead-letter-reason": reason,
                "x-dead-letter-detail": detail[:2000],
                "x-original-destination": delivery.destination,
                "x-original-message-id": delivery.message_id,
                "x-original-timestamp": delivery.headers.get("timestamp", ""),
                "x-dead-lettered-at": datetime.now(UTC).isoformat(),
            }
        )
        try:
            session.send(self.config.dead_letter_queue, delivery.body, headers, confirm=True)
        except BrokerUnavailable as error:
            raise _Abandoned(f"dead letter not confirmed: {error}") from None
        session.ack(delivery)
        self.metrics.count_dead_lettered(reason)
        if self._outcomes is not None:
            self._outcomes["dead_lettered"] += 1
        log.warning(
            "message dead-lettered",
            reason=reason,
            detail=detail[:300],
            message_id=delivery.message_id,
        )


_Arrival = tuple[Delivery, Decoded | Undeliverable]


class _DecodingInbox:
    """Where the session puts deliveries: each is decoded on stomp.py's receiver thread,
    while the consumer thread waits on the database, and queued with its outcome."""

    def __init__(self, pacs008_channel: str) -> None:
        self.pacs008_channel = pacs008_channel
        self.arrivals: queue.Queue[_Arrival] = queue.Queue()

    def put(self, delivery: Delivery) -> None:
        outcome: Decoded | Undeliverable
        try:
            outcome = decode(
                delivery.body,
                delivery.headers.get("content-type"),
                pacs008_channel=self.pacs008_channel,
            )
        except Undeliverable as undeliverable:
            outcome = undeliverable
        except Exception as error:  # a parser bug must not kill the receiver thread
            outcome = Undeliverable("processing-error", f"{type(error).__name__}: {error}")
        self.arrivals.put((delivery, outcome))


class _Isolate(Exception):
    """The batch failed for a reason not known to be transient; find the culprit."""

    def __init__(self, detail: str, reason: str = "processing-error") -> None:
        super().__init__(detail)
        self.detail = detail
        self.reason = reason


def _sender_links(batch: list[_Arrival]) -> list[trace.Link]:
    """A link to each distinct sender span named by a valid ``traceparent`` header."""
    links: list[trace.Link] = []
    seen: set[tuple[int, int]] = set()
    for delivery, _outcome in batch:
        if "traceparent" not in delivery.headers:
            continue
        context = _TRACE_CONTEXT.extract(dict(delivery.headers))
        span_context = trace.get_current_span(context).get_span_context()
        key = (span_context.trace_id, span_context.span_id)
        if span_context.is_valid and key not in seen:
            seen.add(key)
            links.append(trace.Link(span_context))
            if len(links) >= MAX_SPAN_LINKS:
                break
    return links


def _forwarded_headers(delivery: Delivery) -> dict[str, str]:
    """The headers of ``delivery``'s copy on a partition queue: the sender's that the
    booking reads as they were, the others renamed so the broker does not act on them."""
    headers: dict[str, str] = {}
    for name, value in delivery.headers.items():
        if name in FORWARDED_HEADERS:
            headers[name] = value
        elif name not in TRANSPORT_HEADERS and not name.startswith("x-original-header-"):
            headers[f"x-original-header-{name}"] = value
        elif name.startswith("x-original-header-"):
            headers[name] = value
    headers["x-forwarded-from"] = delivery.destination
    return headers


def _sent_at(delivery: Delivery) -> float | None:
    """The sender's clock at send time, seconds since the epoch, if a header gives it."""
    for header in ("x-sent-at", "timestamp"):
        raw = delivery.headers.get(header)
        if raw:
            try:
                value = float(raw)
            except ValueError:
                continue
            return value / 1000 if value > 1e11 else value  # milliseconds or seconds
    return None
