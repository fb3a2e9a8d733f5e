"""Tracing setup: off (nothing installed) without an OTLP endpoint; once, with the right
service name, with one."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest
from opentelemetry import trace

from api.runtime import tracing
from tests.tracing_support import traced


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": " "}, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}, "http://c:4318/v1/traces"),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:4318/custom",
            },
            "http://t:4318/custom",
        ),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, None),
    ],
)
def test_the_traces_endpoint(environ: dict[str, str], expected: str | None) -> None:
    assert tracing.traces_endpoint(environ) == expected


def test_without_an_endpoint_nothing_is_installed() -> None:
    before = {t.name for t in threading.enumerate()}
    assert tracing.configure_tracing("api", {}) is None
    assert not tracing.tracing_enabled()
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert {t.name for t in threading.enumerate()} == before
    assert tracing.force_flush()
    tracing.shutdown_tracing()  # harmless when off


def test_without_an_endpoint_the_sdk_is_not_even_imported() -> None:
    script = (
        "import sys, json\n"
        "from api.runtime.tracing import configure_tracing\n"
        "import api.http.app\n"
        "configure_tracing('api', {})\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('opentelemetry.sdk'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_configured_once_with_the_role_as_default_service_name() -> None:
    with traced() as _exporter:
        provider = trace.get_tracer_provider()
        assert provider.resource.attributes["service.name"] == "backoffice-ledger-test"  # type: ignore[attr-defined]
        assert tracing.configure_tracing("other", {}, exporter=_exporter) is provider
    with traced({"OTEL_SERVICE_NAME": "ledger-from-helm"}):
        provider = trace.get_tracer_provider()
        assert provider.resource.attributes["service.name"] == "ledger-from-helm"  # type: ignore[attr-defined]
