"""No client input can create metric series (issue 12, item 5).

Before, each unauthenticated request with an invented HTTP method made series of its own
(200 requests: +4,000 series, ``/metrics`` 810 KB): the method went into the labels as sent.
Label values are now bounded: a method allow-list (anything else is ``OTHER``), route
templates only (anything unmatched is ``unmatched``), status codes as they are; the ingestion
and GraphQL error counters keep a bounded set of codes too.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from adapters.persistence import DatabaseConfig
from api.http.app import create_app
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.metrics import Metrics
from api.runtime.settings import Settings
from tests.builders import FakeClock, iban

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
"""The allow-list issue 12 names; any other method is labelled OTHER."""


@pytest.fixture
def app_client(sqlite_database: DatabaseConfig) -> Iterator[TestClient]:
    """The app with its real authenticator: every request here is unauthenticated."""
    container: Container = bootstrap(Settings().with_database(sqlite_database), clock=FakeClock())
    try:
        with TestClient(create_app(container)) as client:
            yield client
    finally:
        container.close()


def _series(registry: CollectorRegistry) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    """Every time series of the registry: sample name and label set."""
    return {
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in registry.collect()
        for sample in family.samples
    }


def _label_sets(registry: CollectorRegistry, metric: str) -> set[tuple[tuple[str, str], ...]]:
    return {labels for name, labels in _series(registry) if name == metric}


def _word(rng: random.Random, alphabet: str, size: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(size))


def _random_requests(client: TestClient, rng: random.Random, count: int) -> set[int]:
    """``count`` requests with invented methods on invented and templated paths."""
    statuses = set()
    for number in range(count):
        method = _word(rng, string.ascii_uppercase + string.ascii_lowercase, rng.randint(3, 12))
        if number % 3 == 0:
            path = f"/v1/accounts/{iban(rng.choice(['DE', 'NL', 'FR']))}"  # a real template
        else:
            path = "/" + "/".join(
                _word(rng, string.ascii_lowercase + string.digits, rng.randint(1, 12))
                for _ in range(rng.randint(1, 4))
            )
        statuses.add(client.request(method, path).status_code)
    return statuses


def test_random_methods_and_paths_add_no_more_than_a_handful_of_series(
    app_client: TestClient,
) -> None:
    metrics: Metrics = app_client.app.state.metrics  # type: ignore[attr-defined]
    rng = random.Random(12)
    size_before = len(app_client.get("/metrics").content)
    before = _series(metrics.registry)

    statuses = _random_requests(app_client, rng, 200)

    added = _series(metrics.registry) - before
    counted = _label_sets(metrics.registry, "ledger_http_requests_total")
    methods = {dict(labels)["method"] for labels in counted}
    routes = {dict(labels)["route"] for labels in counted}
    assert methods <= {*HTTP_METHODS, "OTHER"}
    assert "OTHER" in methods
    assert routes <= {"unmatched", "/v1/accounts/{account_id}", "/metrics"}
    assert {dict(labels)["status"] for labels in counted} >= {str(s) for s in statuses}
    # at most one method (OTHER) x two routes x the statuses seen: a handful of label sets,
    # each a counter (and its _created) and a histogram (buckets, sum, count, _created)
    request_label_sets = {tuple(kv for kv in labels if kv[0] != "le") for _n, labels in added}
    assert len(request_label_sets) <= 2 * (1 + len(statuses)), request_label_sets
    assert len(added) <= 100, len(added)

    # and it stays so: 200 more with other invented methods and paths add (almost) nothing
    settled = _series(metrics.registry)
    _random_requests(app_client, rng, 200)
    assert len(_series(metrics.registry) - settled) <= 25
    assert len(app_client.get("/metrics").content) < size_before + 20_000


def test_allowed_methods_are_labelled_as_sent(app_client: TestClient) -> None:
    metrics: Metrics = app_client.app.state.metrics  # type: ignore[attr-defined]
    for method in HTTP_METHODS:
        app_client.request(method, "/healthz")
    app_client.request("PROPFIND", "/healthz")
    counted = _label_sets(metrics.registry, "ledger_http_requests_total")
    seen = {dict(labels)["method"] for labels in counted if dict(labels)["route"] == "/healthz"}
    assert seen == {*HTTP_METHODS, "OTHER"}
