"""Bounded metric labels: whatever values arrive, a labelled metric keeps a bounded number of
series (issue 12, item 5), for the ingestion consumer's counters and GraphQL error codes too."""

from __future__ import annotations

import random
import string

from prometheus_client import CollectorRegistry

from adapters.messaging.metrics import IngestionMetrics
from adapters.metric_labels import BoundedLabel
from api.runtime.metrics import Metrics, method_label


def _words(
    count: int, alphabet: str = string.ascii_letters + string.digits + "-_ /{}"
) -> list[str]:
    rng = random.Random(5)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(count)]


def _label_values(registry: CollectorRegistry, sample: str, label: str) -> set[str]:
    return {
        s.labels[label]
        for family in registry.collect()
        for s in family.samples
        if s.name == sample and label in s.labels
    }


def test_known_values_are_kept_and_the_rest_capped() -> None:
    label = BoundedLabel(["A", "B"], pattern=r"[a-z]+", max_values=3, other="other")
    assert [label(v) for v in ("A", "B", "x", "y", "x", "z", "w", "Q!", "A")] == [
        "A", "B", "x", "y", "x", "z", "other", "other", "A",
    ]  # fmt: skip
    assert {label(v) for v in _words(1000)} <= {"A", "B", "x", "y", "z", "other"}


def test_an_allow_list_alone_admits_nothing_else() -> None:
    label = BoundedLabel(["GET"], other="OTHER")
    assert (label("GET"), label("get"), label("PROPFIND"), label("")) == (
        "GET", "OTHER", "OTHER", "OTHER",
    )  # fmt: skip


def test_http_methods_outside_the_allow_list_are_other() -> None:
    allowed = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
    assert [method_label(m) for m in allowed] == list(allowed)
    assert {method_label(m) for m in ["get", "PROPFIND", "TRACE", "CONNECT", *_words(300)]} == {
        "OTHER"
    }


def test_ingestion_counters_keep_a_bounded_set_of_reasons_and_statuses() -> None:
    registry = CollectorRegistry()
    metrics = IngestionMetrics(registry)
    for reason in ["schema-violation", "malformed-json", *_words(500)]:
        metrics.count_dead_lettered(reason)
    for status in ["POSTED", "REJECTED", *_words(500)]:
        metrics.count_booked(status)
    reasons = _label_values(registry, "ledger_ingestion_dead_lettered_messages_total", "reason")
    statuses = _label_values(registry, "ledger_ingestion_booked_payments_total", "status")
    assert {"schema-violation", "malformed-json", "other"} <= reasons
    assert len(reasons) <= 33
    assert {"POSTED", "REJECTED", "other"} <= statuses
    assert len(statuses) <= 17


def test_graphql_error_codes_are_bounded() -> None:
    metrics = Metrics()
    for code in ["BAD_USER_INPUT", "FORBIDDEN", *_words(500, string.ascii_uppercase + "_")]:
        metrics.graphql_errors.labels(metrics.graphql_error_code(code)).inc()
    codes = _label_values(metrics.registry, "ledger_graphql_errors_total", "code")
    assert {"BAD_USER_INPUT", "FORBIDDEN", "OTHER"} <= codes
    assert len(codes) <= 33
