"""The composition root builds, per process role, only the contexts the role uses.

``bootstrap(settings, role=ROLE)``: the container holds the contexts of
:data:`api.runtime.contexts.ROLE_CONTEXTS` (and what they are built on), asking it for any
other raises :class:`ContextNotBuilt` naming the role and the context, and the role's workers
and operations endpoints run on it. On PostgreSQL a role opens no pool for a context it does
not use (every connection of the process is counted through ``application_name``).
"""

from __future__ import annotations

import dataclasses
import time
import uuid

import psycopg
import pytest
from fastapi.testclient import TestClient

from adapters.migration import record_migration
from adapters.persistence import DatabaseConfig
from api.http.app import create_app
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.contexts import CONTEXTS, ROLE_CONTEXTS, ContextNotBuilt
from api.runtime.roles import ROLE_NAMES, build_workers, role
from api.runtime.settings import Settings
from domain.notifications.rules import Channel, EventRef, Rule, RuleSet
from tests.conftest import TEST_DATABASE_URL

BUILT = {
    "all": CONTEXTS,
    "api": CONTEXTS,
    "projector": CONTEXTS,
    "ingestion": ("ledger", "fraud"),
    "fraud": ("ledger", "fraud"),
    "reconciliation": ("ledger", "reconciliation"),
    "notifications": ("notifications",),  # the default rules listen to no log
    "vop": ("vop",),  # the directory is a read model: no ledger
}

ATTRIBUTES = {
    "ledger": ("ledger", "ledger_changes", "queries"),
    "fraud": ("fraud", "fraud_cases", "fraud_queries", "fraud_claims"),
    "identity": ("identity", "identity_queries"),
    "notifications": (
        "notifications",
        "notification_queries",
        "notification_evaluator",
        "notification_sender",
    ),
    "reconciliation": ("reconciliation", "reconciliation_queries"),
    "vop": ("vop", "vop_directory", "vop_checks"),
}


def test_every_role_has_its_contexts_in_the_table() -> None:
    assert set(ROLE_CONTEXTS) == set(ROLE_NAMES) == set(BUILT)
    for name in ROLE_NAMES:
        assert role(name).contexts == ROLE_CONTEXTS[name]


@pytest.mark.parametrize("name", ROLE_NAMES)
def test_a_role_container_holds_only_its_contexts(sqlite_database: DatabaseConfig, name: str):
    container = bootstrap(Settings().with_database(sqlite_database), role=name)
    try:
        assert container.role == name
        assert container.contexts == BUILT[name]
        assert list(container.applications) == list(BUILT[name])
        assert [s.name for s in container.sources] == list(BUILT[name])
        for context, attributes in ATTRIBUTES.items():
            for attribute in attributes:
                if context in BUILT[name]:
                    assert getattr(container, attribute) is not None
                    continue
                with pytest.raises(ContextNotBuilt) as refused:
                    getattr(container, attribute)
                message = str(refused.value)
                assert f"role {name!r}" in message and f"the {context} context" in message
                assert f"container.{attribute}" in message
        # What the role runs works on what it built.
        process = role(name)
        workers = build_workers(process, container)
        app = create_app(
            container,
            operations_only=not process.serves_api,
            vop_only=process.serves_vop and not process.serves_api,
            workers=workers,
        )
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").json()["checks"]["database"] == "ok"
    finally:
        container.close()
    container.close()  # idempotent


def test_the_notifications_role_follows_the_logs_its_rules_listen_to(
    sqlite_database: DatabaseConfig,
) -> None:
    rules = RuleSet(
        (
            Rule(
                "opened",
                (EventRef("fraud", "FraudCase.Opened"),),
                Channel.WEBHOOK,
                "https://hooks.example.com/fraud",
            ),
        ),
        "test",
    )
    settings = Settings().with_database(sqlite_database).updated(notifications={"rules": rules})
    container = bootstrap(settings, role="notifications")
    try:  # the fraud log, and the ledger for the facts of its events
        assert container.contexts == ("ledger", "fraud", "notifications")
        assert [feed.context for feed in container.notification_evaluator.feeds] == ["fraud"]
    finally:
        container.close()


def test_an_unknown_role_is_refused(sqlite_database: DatabaseConfig) -> None:
    with pytest.raises(ValueError, match="unknown role 'worker'"):
        bootstrap(Settings().with_database(sqlite_database), role="worker")


def _connections(application: str) -> int:
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application,)
        ).fetchone()
    return int(row[0]) if row else 0


def _gone(application: str, timeout: float = 10.0) -> bool:
    """Whether every connection tagged ``application`` ended (a server process leaves
    ``pg_stat_activity`` a moment after its client closed the socket)."""
    deadline = time.monotonic() + timeout
    while _connections(application):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _tagged(database: DatabaseConfig, application: str) -> Settings:
    assert database.url is not None
    separator = "&" if "?" in database.url else "?"
    url = f"{database.url}{separator}application_name={application}"
    return Settings().with_database(dataclasses.replace(database, url=url))


@pytest.mark.postgres
def test_a_role_opens_pools_only_for_its_contexts(postgres_database: DatabaseConfig) -> None:
    migrated = bootstrap(Settings().with_database(postgres_database))  # `ledger migrate`
    try:
        record_migration(migrated.read_engine)
    finally:
        migrated.close()
    opened: dict[str, int] = {}
    for name in ("all", "ingestion", "reconciliation", "notifications"):
        application = f"roles-{uuid.uuid4().hex[:8]}"
        container: Container = bootstrap(
            _tagged(postgres_database, application), role=name, migrate=False
        )
        try:
            opened[name] = _connections(application)
        finally:
            container.close()
        assert _gone(application)  # close released every pool
    # eventsourcing opens each pool's minimum at once (5; notifications 2, reconciliation 1)
    assert opened["all"] - opened["ingestion"] >= 5 + 2 + 1  # no identity, notifications, recon.
    assert opened["ingestion"] > opened["reconciliation"] > opened["notifications"]


def test_the_vop_role_serves_only_the_vop_routes(sqlite_database: DatabaseConfig) -> None:
    """``ledger serve --role vop``: /v1/vop (authorized like every /v1 route) and the probes;
    no other REST route, no GraphQL."""
    from api.http.deps import unauthorized_routes, v1_routes

    container = bootstrap(Settings().with_database(sqlite_database), role="vop")
    try:
        process = role("vop")
        assert not process.serves_api and process.serves_vop and process.reads_projected
        app = create_app(container, operations_only=True, vop_only=True)
        assert {r.path for r in v1_routes(app)} == {
            "/v1/vop/payee-verifications",
            "/v1/vop/payee-verifications/bulk",
        }
        assert unauthorized_routes(app) == []
        with TestClient(app) as client:
            assert client.post("/v1/vop/payee-verifications", json={}).status_code == 401
            assert client.get("/v1/accounts/DE89370400440532013000").status_code == 404
            assert client.post("/graphql", json={"query": "{ __typename }"}).status_code == 404
            assert client.get("/readyz").json()["checks"]["database"] == "ok"
        assert container.parts["vop"].cache is not None  # type: ignore[union-attr]
    finally:
        container.close()


def test_the_vop_role_reports_its_cache_and_is_unready_without_its_commit_writer(
    sqlite_database: DatabaseConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/readyz`` of the vop role reports the directory cache's freshness (a stale cache reads
    the read model: reported, still ready) and the group commit writer's liveness (503 without
    it; the api role only reports it); the cache's hits and misses are metrics."""
    container = bootstrap(Settings().with_database(sqlite_database), role="vop")
    try:
        cache = container.vop_cache
        assert cache is not None
        app = create_app(container, operations_only=True, vop_only=True)
        with TestClient(app) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            vop = ready.json()["checks"]["vop"]
            assert vop == {"groupCommit": "alive", "directoryCache": "fresh", "ready": True}
            text = client.get("/metrics").text
            assert "ledger_vop_directory_cache_hits_total 0.0" in text
            assert "ledger_vop_directory_cache_misses_total 0.0" in text
            assert "ledger_vop_directory_cache_fresh 1.0" in text

            cache.stale_after = -1.0  # as if the follower had not refreshed for too long
            stale = client.get("/readyz")
            assert stale.status_code == 200
            assert stale.json()["checks"]["vop"]["directoryCache"] == "stale"
            assert "ledger_vop_directory_cache_fresh 0.0" in client.get("/metrics").text
            cache.stale_after = 3600.0

            committer = type(container.vop.committer)
            monkeypatch.setattr(committer, "alive", property(lambda _: False), raising=False)
            stopped = client.get("/readyz")
            assert stopped.status_code == 503
            assert stopped.json()["checks"]["vop"]["groupCommit"] == "stopped"
    finally:
        container.close()
    api = bootstrap(Settings().with_database(sqlite_database), role="api")
    try:
        with TestClient(create_app(api)) as client:
            reported = client.get("/readyz").json()["checks"]["vop"]
            assert reported["groupCommit"] == "stopped"  # still patched
            assert client.get("/readyz").status_code == 200  # reported, not gating
    finally:
        api.close()
