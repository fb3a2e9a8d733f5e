"""Structured JSON logs (with correlation ids, IBANs masked) and Prometheus metrics.

* :func:`configure_logging` routes structlog *and* the standard library (uvicorn, strawberry,
  eventsourcing) through one JSON renderer. Every line carries the correlation id bound for the
  request, and any IBAN anywhere in the line is masked (``DE89**************3000``).
* :class:`Metrics` holds the collectors on a registry of its own (one per app, so tests can
  build many apps), including a collector that reads projection lag at scrape time. No label
  value comes from a client as sent: an HTTP method outside :data:`HTTP_METHODS` is
  ``OTHER``, a route is its template (``unmatched`` when none matched), a GraphQL error code
  is one of a bounded set (see :mod:`adapters.metric_labels`), so requests cannot create
  series.
* :class:`RequestContextMiddleware` is the ASGI edge: correlation id in and out, access log,
  request metrics, a server span per request when tracing is on (``api/runtime/tracing.py``), and a
  generic JSON 500 for anything unexpected (the stack trace goes to the log, never to the
  client).
* While a span is current, log lines carry its ``trace_id`` and ``span_id``, so a trace and
  its log lines join.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import propagate
from opentelemetry import trace as otel_trace
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from adapters.metric_labels import BoundedLabel
from api.runtime import tracing

CORRELATION_HEADER = "X-Correlation-Id"
_CORRELATION_OK = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

_correlation_id: ContextVar[str | None] = ContextVar("ledger_correlation_id", default=None)

# IBAN-shaped tokens: country, check digits, then 11-30 letters and digits, compact or printed
# in groups of four ("DE89 3704 0044 0532 0130 00"), 15 to 34 characters without the spaces.
# Upper case tokens are masked as they are, valid or not (a mistyped IBAN in an error message
# is still someone's account number). Lower or mixed case ones only when the check digits
# add up, so that lower-case hex (hashes, UUIDs without dashes) stays readable.
_ALNUM = "A-Za-z0-9"
_IBAN = re.compile(
    rf"(?<![{_ALNUM}])[A-Za-z]{{2}}[0-9]{{2}}"
    rf"(?:[{_ALNUM}]{{11,30}}|(?: [{_ALNUM}]{{4}}){{2,7}}(?: [{_ALNUM}]{{1,4}})?)"
    rf"(?![{_ALNUM}])"
)
_IBAN_LENGTHS = range(15, 35)
_NOT_MASKED = frozenset({"exc_info", "_record", "_from_structlog"})
"""Event-dict keys left alone: the exception (masked once rendered) and structlog's own."""


def _check_digits_ok(compact: str) -> bool:
    """ISO 13616 mod-97: the IBAN, first four characters moved to the end, letters as 10-35."""
    rearranged = (compact[4:] + compact[:4]).upper()
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def mask_iban(match: re.Match[str]) -> str:
    """``DE89370400440532013000`` -> ``DE89**************3000`` (country, check digits and the
    last four kept; the length kept too); anything that is not an IBAN comes back unchanged."""
    token = match.group(0)
    compact = token.replace(" ", "")
    if len(compact) not in _IBAN_LENGTHS:
        return token
    if token != token.upper() and not _check_digits_ok(compact):
        return token
    return f"{compact[:4]}{'*' * (len(compact) - 8)}{compact[-4:]}"


def mask_ibans(value: Any) -> Any:
    """``value`` with every IBAN inside it masked.

    Strings are searched; dicts, lists, tuples and sets are searched item by item (dict keys
    are names and stay); numbers, booleans and None stay as they are. Anything else is
    rendered with ``str`` first, as the JSON renderer would, so an object whose ``str`` is an
    IBAN (``domain.iban.Iban``) is masked as well.
    """
    if isinstance(value, str):
        return _IBAN.sub(mask_iban, value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {key: mask_ibans(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [mask_ibans(item) for item in value]
    return _IBAN.sub(mask_iban, str(value))


def _mask_processor(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> Any:
    for key, value in list(event_dict.items()):
        if key not in _NOT_MASKED:
            event_dict[key] = mask_ibans(value)
    return event_dict


def _add_correlation_id(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> Any:
    correlation_id = _correlation_id.get()
    if correlation_id is not None:
        event_dict.setdefault("correlation_id", correlation_id)
    return event_dict


def _add_trace_id(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> Any:
    """The current span's trace and span ids (hex, as the tracing backend shows them)."""
    span_context = otel_trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event_dict.setdefault("trace_id", otel_trace.format_trace_id(span_context.trace_id))
        event_dict.setdefault("span_id", otel_trace.format_span_id(span_context.span_id))
    return event_dict


def current_correlation_id() -> str | None:
    return _correlation_id.get()


def new_correlation_id(incoming: str | None = None) -> str:
    """``incoming`` when it is a sane id (printable, at most 128 characters), else a new one."""
    if incoming and _CORRELATION_OK.match(incoming):
        return incoming
    return str(uuid.uuid4())


def bind_correlation_id(correlation_id: str) -> None:
    _correlation_id.set(correlation_id)


def configure_logging(level: str = "INFO", *, stream: Any = None) -> None:
    """JSON lines on stderr for structlog and stdlib loggers alike. Call once at startup."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _add_correlation_id,
        _add_trace_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _mask_processor,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _mask_processor,
            structlog.processors.JSONRenderer(default=str),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # uvicorn's access log is replaced by ours (it has the route and correlation id).
    logging.getLogger("uvicorn.access").disabled = True


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)


# --------------------------------------------------------------------------- metrics

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
"""Methods labelled as sent; any other (``PROPFIND``, an invented one) is ``OTHER``."""
OTHER_METHOD = "OTHER"
_METHOD_LABEL = BoundedLabel(HTTP_METHODS, other=OTHER_METHOD)


def method_label(method: object) -> str:
    """The method as a metric label or span name: one of :data:`HTTP_METHODS` or ``OTHER``."""
    return _METHOD_LABEL(method)


StatusProvider = Callable[[], Iterable[tuple[str, str, int, int]]]
"""Returns ``(projection, context, position, head)`` rows; read at scrape time."""


class _ProjectionCollector(Collector):
    def __init__(self, provider: StatusProvider) -> None:
        self.provider = provider

    def collect(self) -> Iterable[GaugeMetricFamily]:
        lag = GaugeMetricFamily(
            "ledger_projection_lag_events",
            "Events recorded but not yet processed, per projection and source context",
            labels=["projection", "context"],
        )
        position = GaugeMetricFamily(
            "ledger_projection_position",
            "Last notification id processed, per projection and source context",
            labels=["projection", "context"],
        )
        up = GaugeMetricFamily(
            "ledger_projection_status_up", "1 when the projection status could be read"
        )
        try:
            rows = list(self.provider())
        except Exception:
            up.add_metric([], 0)
            return [up]
        for name, context, pos, head in rows:
            lag.add_metric([name, context], max(0, head - pos))
            position.add_metric([name, context], pos)
        up.add_metric([], 1)
        return [lag, position, up]


QuarantineProvider = Callable[[], Mapping[tuple[str, str], int]]
"""Returns the open quarantined events per ``(follower, context)``; read at scrape time."""


class _QuarantineCollector(Collector):
    """``ledger_quarantined_events``: alert on ``> 0`` (an event a follower skipped)."""

    def __init__(self, provider: QuarantineProvider) -> None:
        self.provider = provider

    def collect(self) -> Iterable[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "ledger_quarantined_events",
            "Events a follower of the log could not handle and skipped (open entries of "
            "rm_quarantine), per follower and source context",
            labels=["follower", "context"],
        )
        try:
            counts = self.provider()
        except Exception:
            return []
        for (follower, context), count in sorted(counts.items()):
            gauge.add_metric([follower, context], count)
        return [gauge]


class Metrics:
    """The application's collectors, on their own registry."""

    def __init__(
        self,
        projection_status: StatusProvider | None = None,
        quarantine_counts: QuarantineProvider | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "ledger_http_requests_total",
            "HTTP requests by method, route template and status code",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ledger_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            registry=self.registry,
        )
        self.payments = Counter(
            "ledger_payments_submitted_total",
            "Payments submitted through the API, by resulting status (duplicates apart)",
            ["status", "duplicate"],
            registry=self.registry,
        )
        self.graphql_errors = Counter(
            "ledger_graphql_errors_total",
            "GraphQL errors by code",
            ["code"],
            registry=self.registry,
        )
        self.graphql_error_code = BoundedLabel(
            pattern=r"[A-Z][A-Z0-9_]{0,47}", max_values=32, other="OTHER"
        )
        """Codes are the server's, but a bound costs nothing: at most 33 series."""
        if projection_status is not None:
            self.registry.register(_ProjectionCollector(projection_status))
        if quarantine_counts is not None:
            self.registry.register(_QuarantineCollector(quarantine_counts))


# --------------------------------------------------------------------------- middleware

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]
ASGIApp = Callable[[Scope, Receive, Send], Any]


class RequestContextMiddleware:
    """Correlation id, access log, request metrics, and a generic 500 for unexpected errors."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.log = get_logger("api.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for key, value in scope.get("headers", []):
            if key.decode("latin-1").lower() == CORRELATION_HEADER.lower():
                incoming = value.decode("latin-1")
        correlation_id = new_correlation_id(incoming)
        token = _correlation_id.set(correlation_id)
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        status = 500
        started = False
        span, span_token = _start_server_span(scope, correlation_id)
        began = time.perf_counter()

        async def send_with_header(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((CORRELATION_HEADER.lower().encode(), correlation_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        except Exception as error:
            self.log.exception(
                "unhandled error", method=scope.get("method"), path=scope.get("path")
            )
            status = 500
            if span is not None:
                # The type only: an exception's message may hold an account number.
                span.set_attribute("error.type", type(error).__qualname__)
            if not started:
                body = json.dumps({"detail": internal_error_detail(correlation_id)}).encode()
                await send_with_header(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
        finally:
            elapsed = time.perf_counter() - began
            route = _route_template(scope)
            method = method_label(scope.get("method", ""))
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            if route not in {"/metrics", "/healthz", "/readyz"}:
                self.log.info(
                    "request",
                    method=str(scope.get("method", ""))[:32],
                    path=scope.get("path"),
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            if span is not None:
                _end_server_span(span, span_token, method, route, status)
            _correlation_id.reset(token)


def _start_server_span(scope: Scope, correlation_id: str) -> tuple[Any, object | None]:
    """A current server span for the request, parented to an incoming W3C ``traceparent``
    (Envoy's); ``(None, None)`` when tracing is off.

    Attributes are the method, scheme and protocol here, the route template and status at
    the end: never the path, query, headers or body, which may hold IBANs or tokens.
    """
    if not tracing.tracing_enabled():
        return None, None
    carrier = {
        key.decode("latin-1").lower(): value.decode("latin-1")
        for key, value in scope.get("headers", [])
        if key.lower() in (b"traceparent", b"tracestate")
    }
    parent = propagate.extract(carrier)
    method = method_label(scope.get("method", ""))
    span = otel_trace.get_tracer(tracing.TRACER_NAME).start_span(
        method,
        context=parent,
        kind=otel_trace.SpanKind.SERVER,
        attributes={
            # OpenTelemetry's convention for a method it does not know is "_OTHER"
            "http.request.method": method if method != OTHER_METHOD else "_OTHER",
            "url.scheme": str(scope.get("scheme", "http")),
            "network.protocol.version": str(scope.get("http_version", "")),
            "ledger.correlation_id": mask_ibans(correlation_id),
        },
    )
    token = otel_context.attach(otel_trace.set_span_in_context(span, parent))
    return span, token


def _end_server_span(span: Any, token: object | None, method: str, route: str, status: int) -> None:
    span.update_name(f"{method} {route}" if route != "unmatched" else method)
    if route != "unmatched":
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(otel_trace.StatusCode.ERROR)
        if "error.type" not in (getattr(span, "attributes", None) or {}):
            span.set_attribute("error.type", str(status))
    span.end()
    if token is not None:
        otel_context.detach(token)  # type: ignore[arg-type]


def internal_error_detail(correlation_id: str) -> str:
    """What a client is told about an unexpected error: where to look, never what happened."""
    return f"Internal error; see the server log ({CORRELATION_HEADER}: {correlation_id})"


def _route_template(scope: Scope) -> str:
    """The matched route's path template, so metrics do not get one series per IBAN; any
    path no route matched (404s, probes) is the one label ``unmatched``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    return "unmatched"
