"""Prometheus metrics: the application's collectors on a registry of its own.

:class:`Metrics` holds one registry per app (so tests can build many apps), including
collectors that read projection lag and quarantined events at scrape time. No label value
comes from a client as sent: an HTTP method outside :data:`HTTP_METHODS` is ``OTHER``, a route
is its template (``unmatched`` when none matched, see
:mod:`api.http.middleware.request_context`), a GraphQL error code is one of a bounded set (see
:mod:`adapters.metric_labels`), so requests cannot create series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from adapters.metric_labels import BoundedLabel

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
"""Methods labelled as sent; any other (``PROPFIND``, an invented one) is ``OTHER``."""
OTHER_METHOD = "OTHER"
_METHOD_LABEL = BoundedLabel(HTTP_METHODS, other=OTHER_METHOD)


def method_label(method: object) -> str:
    """The method as a metric label or span name: one of :data:`HTTP_METHODS` or ``OTHER``."""
    return _METHOD_LABEL(method)


VOP_LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
"""Seconds: a check decides in well under a millisecond; the scheme allows up to 5 s."""

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


VopCacheProvider = Callable[[], "tuple[int, int, int, bool] | None"]
"""Returns the VoP directory cache's ``(hits, misses, entries, fresh)`` (None: no cache in
this process); read at scrape time."""


class _VopCacheCollector(Collector):
    """``ledger_vop_directory_cache_{hits,misses}_total`` (IBANs answered from memory, read
    from the read model), ``..._entries`` and ``..._fresh``; no labels."""

    def __init__(self, provider: VopCacheProvider) -> None:
        self.provider = provider

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        state = self.provider()
        if state is None:
            return
        hits, misses, entries, fresh = state
        yield CounterMetricFamily(
            "ledger_vop_directory_cache_hits",
            "VoP directory cache: IBANs answered from memory (an entry, or known unknown)",
            value=hits,
        )
        yield CounterMetricFamily(
            "ledger_vop_directory_cache_misses",
            "VoP directory cache: IBANs read from the read model (not cached, or cache stale)",
            value=misses,
        )
        yield GaugeMetricFamily(
            "ledger_vop_directory_cache_entries",
            "VoP directory cache: accounts held in memory",
            value=entries,
        )
        yield GaugeMetricFamily(
            "ledger_vop_directory_cache_fresh",
            "VoP directory cache: 1 when refreshed within its bound, 0 when stale (bypassed)",
            value=1 if fresh else 0,
        )


class Metrics:
    """The application's collectors, on their own registry."""

    def __init__(
        self,
        projection_status: StatusProvider | None = None,
        quarantine_counts: QuarantineProvider | None = None,
        vop_cache: VopCacheProvider | None = None,
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
        self.vop_checks = Counter(
            "ledger_vop_checks_total",
            "Verification of Payee checks recorded, by direction, outcome and NOAP reason "
            "(`none` for the other outcomes); a repeated request id is not counted again",
            ["direction", "outcome", "reason"],
            registry=self.registry,
        )
        self.vop_latency = Histogram(
            "ledger_vop_check_latency_seconds",
            "Verification of Payee: from receipt to the decided answer, per check",
            ["direction"],
            buckets=VOP_LATENCY_BUCKETS,
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
        if vop_cache is not None:
            self.registry.register(_VopCacheCollector(vop_cache))
