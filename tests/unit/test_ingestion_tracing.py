"""An ingestion batch is one span: outcome counts, and links to the senders' traces."""

from __future__ import annotations

import json
import threading
from typing import Any

from opentelemetry import trace
from prometheus_client import CollectorRegistry

from adapters.messaging import consumer
from adapters.messaging.config import StompConfig
from adapters.messaging.connection import Delivery
from adapters.messaging.metrics import IngestionMetrics
from application.ledger.commands import SubmissionResult
from tests.builders import message
from tests.tracing_support import IBAN_SHAPED, every_attribute_value, finished, traced


class _Session:
    number = 1

    def __init__(self) -> None:
        self.acked: list[str] = []
        self.sent: list[tuple[str, dict[str, str]]] = []

    def ack(self, delivery: Delivery) -> None:
        self.acked.append(delivery.message_id)

    def send(self, destination: str, _body: bytes, headers: dict[str, str], **_: Any) -> None:
        self.sent.append((destination, headers))


class _Booker:
    def submit_payments(self, instructions: list[Any], causations: Any = None) -> list[Any]:
        return [
            SubmissionResult(f"tx-{i}", "POSTED", duplicate=i == 0)
            for i, _ in enumerate(instructions)
        ]


SENDER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _arrival(n: int, body: bytes, traceparent: str | None = None) -> Any:
    headers = {"content-type": "application/json"}
    if traceparent:
        headers["traceparent"] = traceparent
    delivery = Delivery(f"m-{n}", f"a-{n}", "/queue/in", headers, body, session=1)
    inbox = consumer._DecodingInbox("PACS008")
    inbox.put(delivery)
    return inbox.arrivals.get_nowait()


def test_an_ingestion_batch_is_one_span_with_outcomes_and_links_to_the_senders() -> None:
    ingestion = consumer.IngestionConsumer(
        StompConfig(),
        _Booker(),
        IngestionMetrics(CollectorRegistry()),
        database_probe=lambda: 1,
    )
    session = _Session()
    batch = [
        _arrival(1, json.dumps(message()).encode(), f"00-{SENDER_TRACE}-00f067aa0ba902b7-01"),
        _arrival(2, json.dumps(message()).encode(), f"00-{SENDER_TRACE}-00f067aa0ba902b7-01"),
        _arrival(3, json.dumps(message()).encode(), "00-not-a-traceparent"),
        _arrival(4, b"{not json"),
    ]
    with traced() as exporter:
        ingestion._process(session, batch, threading.Event())  # type: ignore[arg-type]
        (span,) = [s for s in finished(exporter) if s.name == "ingestion.batch"]

    assert session.acked == ["m-4", "m-1", "m-2", "m-3"]
    assert span.kind is trace.SpanKind.CONSUMER
    attributes = span.attributes or {}
    assert attributes["messaging.batch.message_count"] == 4
    assert attributes["messaging.destination.name"] == StompConfig().queue
    assert attributes["ledger.ingestion.booked"] == 2
    assert attributes["ledger.ingestion.duplicates"] == 1
    assert attributes["ledger.ingestion.dead_lettered"] == 1
    assert attributes["ledger.ingestion.outcome"] == "done"
    (link,) = span.links  # one sender span, named twice; the malformed header is ignored
    assert trace.format_trace_id(link.context.trace_id) == SENDER_TRACE
    for value in every_attribute_value(span):
        assert not IBAN_SHAPED.search(str(value))
