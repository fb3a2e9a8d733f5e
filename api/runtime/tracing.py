"""OpenTelemetry traces, exported over OTLP/HTTP when an endpoint is configured.

Tracing is on only when ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (and ``OTEL_SDK_DISABLED`` is not ``true``). Otherwise
:func:`configure_tracing` installs nothing: the SDK is not even imported, the global tracer
provider stays OpenTelemetry's default (no-op) one, and no exporter thread runs; the spans
the code opens (``opentelemetry-api`` only) are non-recording and cost next to nothing.

Configured once per process at startup (``ledger serve`` for every role, ``app_from_env``),
with ``service.name`` from ``OTEL_SERVICE_NAME`` (default ``backoffice-ledger-<role>``), the
other resource attributes from ``OTEL_RESOURCE_ATTRIBUTES``, and a ``BatchSpanProcessor``.
:func:`shutdown_tracing` flushes the spans still queued; ``ledger serve`` calls it on the
way out, SIGTERM included.

What is traced: one server span per HTTP request (``api.http.middleware.request_context``),
one span per ingestion batch (``adapters.messaging.consumer``), one span per projector batch
(``projections.runner``). Log lines written while a span is current carry its ``trace_id``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
TRACER_NAME = "backoffice-ledger"

_lock = threading.Lock()
_provider: TracerProvider | None = None


def traces_endpoint(environ: Mapping[str, str]) -> str | None:
    """The OTLP/HTTP URL spans are posted to, or ``None`` when tracing is off.

    As the OpenTelemetry specification says: the traces endpoint is used as it is; the
    general endpoint gets ``/v1/traces`` appended.
    """
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    specific = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if specific:
        return specific
    general = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if general:
        return general.rstrip("/") + "/v1/traces"
    return None


def configure_tracing(
    role: str,
    environ: Mapping[str, str] | None = None,
    *,
    exporter: SpanExporter | None = None,
) -> TracerProvider | None:
    """Install the tracer provider for this process; ``None`` (and nothing installed) when
    no endpoint is configured and no ``exporter`` is given (tests pass an in-memory one).

    Idempotent: a second call returns the provider installed by the first.
    """
    global _provider
    env = os.environ if environ is None else environ
    endpoint = traces_endpoint(env)
    if endpoint is None and exporter is None:
        return None
    with _lock:
        if _provider is not None:
            return _provider
        from opentelemetry import trace
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=endpoint)
        service = env.get("OTEL_SERVICE_NAME", "").strip() or f"backoffice-ledger-{role}"
        # Resource.create adds OTEL_RESOURCE_ATTRIBUTES (pod, namespace, environment).
        resource = Resource.create({SERVICE_NAME: service, "ledger.role": role})
        # shutdown_on_exit: an atexit hook flushes too, should shutdown_tracing not be reached.
        provider = TracerProvider(resource=resource, shutdown_on_exit=True)
        provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        _provider = provider
        return provider


def tracing_enabled() -> bool:
    return _provider is not None


def force_flush(timeout_millis: int = 5000) -> bool:
    """Export the spans queued so far; ``True`` when done (or tracing is off)."""
    provider = _provider
    return True if provider is None else provider.force_flush(timeout_millis)


def shutdown_tracing() -> None:
    """Flush and stop the exporter (process stop). Safe to call when tracing is off."""
    global _provider
    with _lock:
        provider, _provider = _provider, None
    if provider is not None:
        provider.shutdown()
