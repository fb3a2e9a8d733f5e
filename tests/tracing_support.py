"""Tracing in tests: the process's tracer provider swapped for one exporting to memory.

OpenTelemetry lets a process set its global tracer provider only once; these helpers put
the global back to OpenTelemetry's default before and after, as its own test utilities do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from api.runtime import tracing

IBAN_SHAPED = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


def reset_global_tracer_provider() -> None:
    tracing.shutdown_tracing()
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None


@contextmanager
def traced(environ: dict[str, str] | None = None) -> Iterator[InMemorySpanExporter]:
    """Tracing configured (as at startup) to an in-memory exporter for the block."""
    exporter = InMemorySpanExporter()
    reset_global_tracer_provider()
    assert tracing.configure_tracing("test", environ or {}, exporter=exporter) is not None
    try:
        yield exporter
    finally:
        reset_global_tracer_provider()


def finished(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    assert tracing.force_flush()
    return list(exporter.get_finished_spans())


def every_attribute_value(span: ReadableSpan) -> list[Any]:
    values: list[Any] = [span.name, *(span.attributes or {}).values()]
    for event in span.events:
        values.extend((event.attributes or {}).values())
    return values


def clear(exporter: InMemorySpanExporter) -> None:
    """Forget the spans so far, those still queued in the batch processor included."""
    assert tracing.force_flush()
    exporter.clear()
