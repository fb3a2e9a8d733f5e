"""The ingestion role's workers: the STOMP consumer and the outbox publisher, as threads.

Built from a bootstrapped container and the process's metrics registry; started and
stopped by the ASGI app's lifespan, so ``ledger serve --role ingestion`` (an app with
only the operations routes) and the all-in-one process run them the same way.
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
from api.runtime.bootstrap import Container
from api.runtime.logs import get_logger

log = get_logger("api.runtime.ingestion")

RESTART_DELAY = 2.0


class IngestionWorkers:
    def __init__(
        self, container: Container, config: StompConfig, registry: CollectorRegistry
    ) -> None:
        self.container = container
        self.config = config
        self.metrics = IngestionMetrics(registry)
        self.consumer = IngestionConsumer(
            config,
            container.ledger,
            self.metrics,
            database_probe=container.ledger.recorder.max_notification_id,
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
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._spawn("stomp-consumer", self.consumer.run)
        if self.outbox is not None:
            self._spawn("outbox", self.outbox.run)
        log.info("ingestion started", outbox=self.outbox is not None, **self.config.describe())

    def _spawn(self, name: str, target: Any) -> None:
        def supervised() -> None:
            while not self.stop.is_set():
                try:
                    target(self.stop)
                except Exception:
                    log.exception(f"{name} failed; restarting", delay=RESTART_DELAY)
                    self.stop.wait(RESTART_DELAY)

        thread = threading.Thread(target=supervised, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def request_stop(self) -> None:
        """Stop consuming and publishing now; :meth:`shutdown` waits for the batch in hand."""
        self.stop.set()

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop consuming, finish and ack the batch in hand, stop publishing; all of it
        within ``timeout`` (one deadline for every worker, inside the pod's grace period)."""
        self.stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
            if thread.is_alive():
                log.warning("ingestion worker did not stop in time", worker=thread.name)
        log.info("ingestion stopped")

    def readiness(self) -> dict[str, Any]:
        status = self.consumer.status()
        return {
            "ready": status.connected,
            "broker": status.broker,
            "flavour": status.flavour,
            "state": "subscribed" if status.connected else "disconnected",
            "lastError": status.last_error,
        }
