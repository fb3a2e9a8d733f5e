"""Faults survived: every payment sent is booked exactly once, and the ledger balances.

Each test runs the consumer against PostgreSQL and the real broker, then breaks
something in the middle of a load: the consumer process is killed with SIGKILL and
restarted, the broker closes every connection, the database refuses connections for
a while. Each ends with every payment booked once (one Received and one Posted per
payment, the creditor credited with exactly the sum sent, clearing the mirror of it).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
import pytest
from eventsourcing.persistence import InterfaceError, OperationalError

from adapters.persistence import DatabaseConfig, event_store_env
from api.cli.main import main
from application.ledger.app import LedgerApplication
from tests.broker.conftest import start_consumer
from tests.broker.support import (
    ROOT,
    Producer,
    collecting,
    free_port,
    ingestion_env,
    unique_config,
    wait_until,
)
from tests.builders import (
    default_screening,
    iban,
    ledger_balance,
    make_app,
    message,
    open_command,
)
from tests.conftest import TEST_DATABASE_URL

pytestmark = [pytest.mark.broker, pytest.mark.postgres, pytest.mark.slow]


def _amount(n: int) -> str:
    return f"{1 + n % 97}.{n % 100:02d}"


def _expected_total(count: int) -> Decimal:
    return sum((Decimal(_amount(n)) for n in range(count)), Decimal(0))


def _event_counts(app: LedgerApplication) -> dict[str, int]:
    counts: dict[str, int] = {}
    start = 1
    while True:
        batch = app.recorder.select_notifications(start=start, limit=5000)
        if not batch:
            return counts
        for notification in batch:
            kind = notification.topic.rpartition(":")[2]
            counts[kind] = counts.get(kind, 0) + 1
        start = batch[-1].id + 1


def _assert_booked_exactly_once(app: LedgerApplication, creditor: str, count: int) -> None:
    total = _expected_total(count)
    counts = _event_counts(app)
    assert counts.get("Transaction.Received") == count
    assert counts.get("Transaction.Posted") == count
    assert app.get_account(creditor).balance == total
    assert ledger_balance(app, "clearing:EUR") == -total  # sums to zero (clearing's legs)


@dataclass
class Gate:
    """Where the producer waits in the middle of its load until the test lets it go on."""

    at: int
    reached: threading.Event = field(default_factory=threading.Event)
    go: threading.Event = field(default_factory=threading.Event)


def _send_load(
    producer: Producer, creditor: str, count: int, prefix: str, gate: Gate | None = None
) -> None:
    for n in range(count):
        if gate is not None and n == gate.at:
            gate.reached.set()
            gate.go.wait(120)
        body = message(creditor=creditor, amount=_amount(n), external_id=f"{prefix}-{n:06d}")
        producer.send(body, confirm=n % 100 == 99 or n == count - 1)


def _booked_once_reachable(app: LedgerApplication) -> int:
    """Like :func:`_booked`, but -1 while the connection pool is still reconnecting."""
    try:
        return _booked(app)
    except (OperationalError, InterfaceError):
        return -1


def _booked(app: LedgerApplication) -> int:
    return _event_counts(app).get("Transaction.Posted", 0)


@pytest.fixture
def pg(postgres_database: DatabaseConfig) -> DatabaseConfig:
    """A fresh schema in the test database (the shared fixture of tests/conftest.py),
    migrated (``ledger serve`` runs no DDL)."""
    env = {
        "LEDGER_DATA_DIR": str(postgres_database.data_dir),
        "LEDGER_DATABASE_URL": str(postgres_database.url),
        "LEDGER_DATABASE_SCHEMA": str(postgres_database.schema),
    }
    assert main(["migrate"], env) == 0
    return postgres_database


def _start_ingestion(database: DatabaseConfig, queue: str, port: int) -> subprocess.Popen[bytes]:
    env = ingestion_env(database, queue, LEDGER_INGEST_BATCH_SIZE="100", LEDGER_PORT=str(port))
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli.main", "serve", "--role", "ingestion"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _ready(port: int) -> bool:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.json()["checks"]["broker"]["state"] == (
        "subscribed"
    )


def test_the_consumer_killed_mid_batch_or_stopped_under_load_books_everything_once(
    pg: DatabaseConfig,
) -> None:
    config = unique_config()
    count = 3000
    app = make_app(pg)
    creditor = iban("DE")
    app.open_account(open_command(creditor))
    producer = Producer(config)
    port = free_port()
    process = _start_ingestion(pg, config.queue, port)
    try:
        _send_load(producer, creditor, count, "KILL")
        wait_until(lambda: _booked(app) >= 600, 60, "a fifth of the load booked")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        assert _booked(app) < count, "the kill came too late to interrupt anything"
        process = _start_ingestion(pg, config.queue, port)
        # SIGTERM under load: stop consuming, finish and ack the batch in hand, exit 0.
        wait_until(lambda: _booked(app) >= 1500, 120, "half of the load booked")
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
        assert _booked(app) < count, "the SIGTERM came too late to interrupt anything"
        process = _start_ingestion(pg, config.queue, port)
        wait_until(lambda: _booked(app) == count, 120, "every payment booked")
        wait_until(lambda: _ready(port), 30, "the restarted consumer to be ready")
        _assert_booked_exactly_once(app, creditor, count)
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        producer.close()
        app.close()


def test_all_broker_connections_closed_during_a_load_lose_nothing(pg: DatabaseConfig) -> None:
    config = unique_config(batch_size=100, prefetch=200)
    count = 3000
    app = make_app(pg)
    creditor = iban("DE")
    app.open_account(open_command(creditor))
    running = start_consumer(config, app)
    producer = Producer(config)
    # The producer holds still in the middle of its load, 50 messages after its last receipt,
    # so that the close hits it as well as the consumer (left alone it can send all 3000
    # before the consumer has booked 500); it goes on the moment the close is done.
    gate = Gate(at=1050)
    sender = threading.Thread(target=_send_load, args=(producer, creditor, count, "CLOSE", gate))
    try:
        with collecting(config, config.dead_letter_queue) as dlq:
            sender.start()
            wait_until(lambda: _booked(app) >= 500, 60, "some of the load booked")
            wait_until(gate.reached.is_set, 60, "the producer in the middle of its load")
            subprocess.run(
                ["rabbitmqctl", "-q", "close_all_connections", "ledger fault test"],
                check=True,
                capture_output=True,
            )
            gate.go.set()
            wait_until(lambda: running.metric("ledger_ingestion_broker_reconnects_total") >= 1)
            sender.join(120)
            assert not sender.is_alive()
            # the close cut the producer off too, and it sent again what had no receipt
            assert producer.reconnects >= 1
            assert producer.resends >= 50
            wait_until(lambda: _booked(app) == count, 120, "every payment booked")
            assert dlq.snapshot() == []
        _assert_booked_exactly_once(app, creditor, count)
    finally:
        running.halt()
        producer.close()
        app.close()


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[DatabaseConfig]:
    """A database of its own, so that refusing its connections disturbs no other test."""
    name = f"ledger_fault_{uuid.uuid4().hex[:10]}"
    admin = TEST_DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield DatabaseConfig(data_dir=tmp_path / "var", url=f"{admin.rsplit('/', 1)[0]}/{name}")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _database_down(url: str, down: bool) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(not down).lower()}')
        if down:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )


def test_the_database_unavailable_for_a_while_delays_but_loses_nothing(
    own_database: DatabaseConfig,
) -> None:
    config = unique_config(batch_size=100, prefetch=200)
    count = 2000
    # A short pool wait, so that the outage surfaces in seconds (eventsourcing retries
    # each statement ten times before it gives up).
    app = LedgerApplication(
        env={**event_store_env(own_database, "ledger"), "POSTGRES_CONNECT_TIMEOUT": "1"},
        screening=default_screening(),
    )
    creditor = iban("DE")
    app.open_account(open_command(creditor))
    running = start_consumer(config, app)
    producer = Producer(config)
    sender = threading.Thread(target=_send_load, args=(producer, creditor, count, "PGDOWN"))
    url = str(own_database.url)
    try:
        with collecting(config, config.dead_letter_queue) as dlq:
            sender.start()
            wait_until(lambda: _booked(app) >= 300, 60, "some of the load booked")
            _database_down(url, down=True)
            try:
                wait_until(
                    lambda: running.metric("ledger_ingestion_retried_batches_total") >= 2,
                    90,
                    "the consumer to retry against the unavailable database",
                )
            finally:
                _database_down(url, down=False)
            sender.join(120)
            wait_until(lambda: _booked_once_reachable(app) == count, 180, "every payment booked")
            assert dlq.snapshot() == []
        assert running.thread.is_alive()
        _assert_booked_exactly_once(app, creditor, count)
    finally:
        running.halt()
        producer.close()
        app.close()


class BlockedBooker:
    """A database that does not answer until released: the consumer must stop taking."""

    def __init__(self, app: LedgerApplication) -> None:
        self.app = app
        self.release = threading.Event()

    def submit_payments(self, instructions: list, causations: list | None = None) -> list:  # type: ignore[type-arg]
        self.release.wait(60)
        return self.app.submit_payments(instructions, causations)


def _queue_depth(queue: str) -> tuple[int, int] | None:
    """(ready, unacknowledged) of a RabbitMQ queue named by its STOMP destination."""
    name = queue.removeprefix("/queue/")
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "name", "messages_ready", "messages_unacknowledged"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[0] == name:
            return int(fields[1]), int(fields[2])
    return None


def test_a_stalled_database_holds_deliveries_at_the_prefetch_window(pg: DatabaseConfig) -> None:
    config = unique_config(batch_size=5, prefetch=10)
    app = make_app(pg)
    creditor = iban("DE")
    app.open_account(open_command(creditor))
    booker = BlockedBooker(app)
    running = start_consumer(config, app, booker)
    producer = Producer(config)
    try:
        _send_load(producer, creditor, 50, "STALL")
        # Backpressure: the broker keeps what the consumer cannot take.
        wait_until(lambda: _queue_depth(config.queue) == (40, 10), 30, "40 ready, 10 in flight")
        booker.release.set()
        wait_until(lambda: _booked(app) == 50, 60, "all 50 booked once released")
        wait_until(lambda: _queue_depth(config.queue) == (0, 0), 30, "the queue drained")
        _assert_booked_exactly_once(app, creditor, 50)
    finally:
        booker.release.set()
        running.halt()
        producer.close()
        app.close()
