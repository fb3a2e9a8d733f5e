"""The ASGI edge of every HTTP request: correlation id, access log, metrics, server span.

:class:`RequestContextMiddleware` takes the correlation id from ``X-Correlation-Id`` (or makes
one), binds it for the log lines and sends it back; writes one access-log line and the request
metrics (route template, never the raw path); opens a server span when tracing is on
(``api/runtime/tracing.py``); and answers a generic JSON 500 for anything unexpected (the stack
trace goes to the log, never to the client).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate
from opentelemetry import trace as otel_trace

from api.runtime import tracing
from api.runtime.logs import (
    bind_correlation_id,
    get_logger,
    mask_ibans,
    new_correlation_id,
    reset_correlation_id,
)
from api.runtime.metrics import OTHER_METHOD, Metrics, method_label

CORRELATION_HEADER = "X-Correlation-Id"

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
        token = bind_correlation_id(correlation_id)
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
            reset_correlation_id(token)


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
