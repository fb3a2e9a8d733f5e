"""The ingestion role's workers: the STOMP consumer and the outbox publisher, as threads,
and on PostgreSQL (``LEDGER_PARTITIONED_INGESTION=on``) the partition leases' member.

Built from a bootstrapped container and the process's metrics registry; started and
stopped by the ASGI app's lifespan, so ``ledger serve --role ingestion`` (an app with
only the operations routes) and the all-in-one process run them the same way.

Partitioned, the replica joins the ``ingestion`` lease group; the consumer books the
partitions it holds and forwards the others (:mod:`adapters.messaging.partitioning`). On
stop, the consumer finishes its batch first and the member leaves after it, so that the
partitions move at once instead of after the lease TTL.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from prometheus_client import CollectorRegistry

from adapters.messaging.config import StompConfig
from adapters.messaging.consumer import IngestionConsumer
from adapters.messaging.metrics import IngestionMetrics
from adapters.messaging.outbox import OutboxPublisher
from adapters.messaging.partitioning import PartitionRouter, PendingCreditApplier
from adapters.partitions.leases import PartitionLeases
from api.runtime.bootstrap import Container
from api.runtime.logs import get_logger

log = get_logger("api.runtime.ingestion")

RESTART_DELAY = 2.0
LEASE_GROUP = "ingestion"


class IngestionWorkers:
    def __init__(
        self, container: Container, config: StompConfig, registry: CollectorRegistry
    ) -> None:
        self.container = container
        self.config = config
        self.metrics = IngestionMetrics(registry)
        settings = container.settings
        self.leases: PartitionLeases | None = None
        router: PartitionRouter | None = None
        credits: PendingCreditApplier | None = None
        if settings.partitions.ingestion and settings.database_config().is_postgres:
            self.leases = PartitionLeases(
                container.read_engine,
                LEASE_GROUP,
                on_revoked=lambda _partitions: self.consumer.wait_idle(),
                **settings.partitions.lease_options(),  # type: ignore[arg-type]
            )
            router = PartitionRouter(
                self.leases,
                container.ledger,
                schema=settings.database.schema_name,
                write_log=settings.partitions.write_log,
            )
            credits = PendingCreditApplier(router, container.ledger, container.read_engine)
        self.consumer = IngestionConsumer(
            config,
            container.ledger,
            self.metrics,
            database_probe=container.ledger.recorder.max_notification_id,
            router=router,
            credits=credits,
        )
        self.outbox = (
            OutboxPublisher(
                config,
                container.sources[0],
                container.read_engine,
                self.metrics,
                lock_dir=container.settings.data_dir,
                scope=container.settings.database.schema_name or "",
                quarantine=container.projector.quarantined,
            )
            if config.outbox
            else None
        )
        if self.outbox is not None:
            # A bootstrapped container has it: `ledger migrate` made it (checked at start), or
            # bootstrap(migrate=True) did under the migration lock. No DDL from a worker.
            self.outbox.table_ready = True
        self.stop = threading.Event()
        self._leases_stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._leases_thread: threading.Thread | None = None

    def start(self) -> None:
        if self.leases is not None:
            self._leases_thread = self._spawn(
                "partition-leases", self.leases.run, self._leases_stop, keep=False
            )
        self._spawn("stomp-consumer", self.consumer.run, self.stop)
        if self.outbox is not None:
            self._spawn("outbox", self.outbox.run, self.stop)
        log.info(
            "ingestion started",
            outbox=self.outbox is not None,
            partitioned=self.leases is not None,
            **self.config.describe(),
        )

    def _spawn(
        self, name: str, target: Any, stop: threading.Event, *, keep: bool = True
    ) -> threading.Thread:
        def supervised() -> None:
            while not stop.is_set():
                try:
                    target(stop)
                except Exception:
                    log.exception(f"{name} failed; restarting", delay=RESTART_DELAY)
                    stop.wait(RESTART_DELAY)

        thread = threading.Thread(target=supervised, name=name, daemon=True)
        thread.start()
        if keep:
            self._threads.append(thread)
        return thread

    def request_stop(self) -> None:
        """Stop consuming and publishing now; :meth:`shutdown` waits for the batch in hand."""
        self.stop.set()

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop consuming, finish and ack the batch in hand, stop publishing; all of it
        within ``timeout`` (one deadline for every worker, inside the pod's grace period)."""
        self.stop.set()
        deadline = time.monotonic() + timeout
        threads = list(self._threads)
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
            if thread.is_alive():
                log.warning("ingestion worker did not stop in time", worker=thread.name)
        self._leases_stop.set()  # after the batch in hand: then the partitions move at once
        if self._leases_thread is not None:
            self._leases_thread.join(max(deadline - time.monotonic(), 1.0))
        log.info("ingestion stopped")

    def readiness(self) -> dict[str, Any]:
        status = self.consumer.status()
        readiness: dict[str, Any] = {
            "ready": status.connected,
            "broker": status.broker,
            "flavour": status.flavour,
            "state": "subscribed" if status.connected else "disconnected",
            "lastError": status.last_error,
        }
        if self.leases is not None:
            readiness["member"] = self.leases.member_id
            readiness["partitions"] = sorted(self.leases.owned())
        return readiness
