"""Traces, end to end: the app's requests and the projector's batches become spans that
carry routes, statuses and correlation ids, never account numbers; log lines join them by
trace id; and the spans reach an OTLP/HTTP endpoint as protobuf."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api.runtime import tracing
from api.runtime.bootstrap import Container
from api.runtime.logs import configure_logging
from tests.builders import iban
from tests.e2e.conftest import SUPERUSER, client_as, gql, open_account, project
from tests.tracing_support import (
    IBAN_SHAPED,
    clear,
    every_attribute_value,
    finished,
    reset_global_tracer_provider,
    traced,
)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with traced() as exporter:
        yield exporter


def _server_spans(exporter: InMemorySpanExporter) -> list[Any]:
    return [s for s in finished(exporter) if s.kind is trace.SpanKind.SERVER]


def test_a_request_is_one_server_span_with_route_status_and_correlation_id(
    spans: InMemorySpanExporter, container: Container
) -> None:
    with client_as(container, SUPERUSER) as client:
        account = open_account(client, iban("DE"))
        project(container)
        clear(spans)
        response = client.get(f"/v1/accounts/{account}", headers={"X-Correlation-Id": "corr-42"})
    assert response.status_code == 200, response.text

    (span,) = _server_spans(spans)
    assert span.name == "GET /v1/accounts/{account_id}"
    assert span.attributes is not None
    assert span.attributes["http.route"] == "/v1/accounts/{account_id}"
    assert span.attributes["http.request.method"] == "GET"
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["ledger.correlation_id"] == "corr-42"
    assert span.status.status_code is trace.StatusCode.UNSET


def test_no_account_number_in_any_span(spans: InMemorySpanExporter, container: Container) -> None:
    account_iban = iban("DE")
    with client_as(container, SUPERUSER) as client:
        open_account(client, account_iban)
        project(container)
        client.get(f"/v1/accounts/{account_iban}")
        client.get("/v1/accounts/NOT-AN-IBAN")  # 422: the path is not recorded either
        gql(client, "query($id: String!) { account(id: $id) { id } }", {"id": account_iban})
        # a client that sends an IBAN as its correlation id gets it masked in the span
        client.get("/healthz", headers={"X-Correlation-Id": account_iban})

    recorded = finished(spans)
    assert {s.name for s in recorded} >= {
        "POST /v1/accounts",
        "GET /v1/accounts/{account_id}",
        "POST /graphql",
        "projector.batch",
    }
    for span in recorded:
        for value in every_attribute_value(span):
            text = str(value)
            assert account_iban not in text, (span.name, value)
            assert not IBAN_SHAPED.search(text), (span.name, value)


def test_a_server_error_span_is_an_error_with_the_status(
    spans: InMemorySpanExporter, container: Container
) -> None:
    resolver_calls = 0

    def broken_resolver(_request: object) -> Any:
        nonlocal resolver_calls
        resolver_calls += 1
        raise RuntimeError(f"boom for {iban('DE')}")

    from api.http.app import create_app

    with TestClient(
        create_app(container, principal_resolver=broken_resolver), raise_server_exceptions=False
    ) as client:
        response = client.get("/v1/accounts/DE89370400440532013000")
    assert response.status_code == 500
    assert resolver_calls == 1
    (span,) = _server_spans(spans)
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 500
    assert span.status.status_code is trace.StatusCode.ERROR
    assert span.status.description is None  # the message (with an IBAN) stays in the log
    assert span.attributes["error.type"] == "RuntimeError"


def test_an_incoming_traceparent_is_the_server_spans_parent(
    spans: InMemorySpanExporter, client: TestClient
) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = client.get("/healthz", headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    assert response.status_code == 200
    (span,) = _server_spans(spans)
    assert trace.format_trace_id(span.context.trace_id) == trace_id
    assert span.parent is not None
    assert trace.format_span_id(span.parent.span_id) == "00f067aa0ba902b7"


def test_log_lines_carry_the_trace_id_of_the_request(
    spans: InMemorySpanExporter, client: TestClient
) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        client.post("/v1/accounts", json={"iban": iban("DE"), "holderName": "E", "currency": "EUR"})
    finally:
        configure_logging("INFO")
    (span,) = _server_spans(spans)
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    access = [line for line in lines if line.get("event") == "request"]
    assert access, lines
    assert access[-1]["trace_id"] == trace.format_trace_id(span.context.trace_id)
    assert access[-1]["span_id"] == trace.format_span_id(span.context.span_id)


def test_a_projector_catch_up_is_one_span_per_batch(
    spans: InMemorySpanExporter, client: TestClient, container: Container
) -> None:
    for _ in range(3):
        open_account(client)
    container.projector.batch_size = 2
    clear(spans)
    processed = project(container)

    batches = [s for s in finished(spans) if s.name == "projector.batch"]
    assert processed > 0
    assert batches
    assert sum(int((s.attributes or {})["ledger.events"]) for s in batches) == processed
    assert all(int((s.attributes or {})["ledger.events"]) <= 2 for s in batches)
    for span in batches:
        attributes = span.attributes or {}
        assert attributes["ledger.context"]
        assert "accounts" in attributes["ledger.projections"]
        assert attributes["ledger.in_sync"] is True


# --------------------------------------------------------------------------- OTLP/HTTP


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        self.server.received.append(  # type: ignore[attr-defined]
            (self.path, self.headers.get("content-type", ""), body)
        )
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_spans_are_exported_over_otlp_http_as_protobuf(
    collector: ThreadingHTTPServer, container: Container
) -> None:
    port = collector.server_address[1]
    reset_global_tracer_provider()
    try:
        provider = tracing.configure_tracing(
            "api",
            {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}", "OTEL_SERVICE_NAME": ""},
        )
        assert provider is not None
        with client_as(container, SUPERUSER) as client:
            assert client.get("/healthz").status_code == 200
        assert tracing.force_flush()
    finally:
        reset_global_tracer_provider()

    received = collector.received  # type: ignore[attr-defined]
    assert received, "the collector got no POST"
    path, content_type, body = received[0]
    assert path == "/v1/traces"
    assert content_type == "application/x-protobuf"
    request = ExportTraceServiceRequest.FromString(body)
    resource_spans = request.resource_spans[0]
    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert resource["service.name"] == "backoffice-ledger-api"
    names = [s.name for scope in resource_spans.scope_spans for s in scope.spans]
    assert "GET /healthz" in names
