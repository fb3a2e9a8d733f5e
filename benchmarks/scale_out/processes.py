"""The real thing an operator runs: ``ledger migrate`` and ``ledger serve --role ingestion``
processes (``python -m api.cli``) on one schema and one queue, and the broker around them.

Each process gets the settings an operator would give it (docs/configuration.md): the
database and schema, ``LEDGER_STOMP_URL``, the run's own queue, dead-letter queue and events
topic (unique names: nothing collides with the tests sharing the broker), its own port for
``/readyz`` and ``/metrics``, and whatever ``--set LEDGER_X=Y`` adds. ``LEDGER_*`` variables
of the caller's environment are not passed on, so a stray one cannot change the figures.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
from prometheus_client.parser import text_string_to_metric_families

from adapters.messaging.config import StompConfig
from adapters.messaging.connection import StompSession
from adapters.persistence import DatabaseConfig

ROOT = Path(__file__).resolve().parents[2]
LEDGER = [sys.executable, "-m", "api.cli"]


@dataclass(frozen=True)
class Destinations:
    """The broker destinations of one run (their names start with :attr:`prefix`)."""

    queue: str
    dead_letter_queue: str
    events_topic: str
    prefix: str = ""

    @classmethod
    def unique(cls, tag: str) -> Destinations:
        return cls(
            queue=f"/queue/bench.scaleout.{tag}.in",
            dead_letter_queue=f"/queue/bench.scaleout.{tag}.dlq",
            events_topic=f"/topic/bench.scaleout.{tag}.events",
            prefix=f"bench.scaleout.{tag}.",
        )


def ledger_env(
    database: DatabaseConfig,
    stomp: tuple[str, int],
    destinations: Destinations,
    extra: Mapping[str, str],
) -> dict[str, str]:
    """The environment of a ``ledger`` command on ``database`` and the run's destinations."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LEDGER_")}
    host, port = stomp
    env.update(
        LEDGER_DATA_DIR=str(database.data_dir),
        LEDGER_DATABASE_URL=str(database.url),
        LEDGER_DATABASE_SCHEMA=str(database.schema),
        LEDGER_STOMP_URL=f"stomp://guest:guest@{host}:{port}",
        LEDGER_STOMP_QUEUE=destinations.queue,
        LEDGER_STOMP_DLQ=destinations.dead_letter_queue,
        LEDGER_STOMP_EVENTS_TOPIC=destinations.events_topic,
        LEDGER_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def migrate(env: Mapping[str, str]) -> None:
    """``ledger migrate``: the only place DDL runs; ``serve`` refuses an unmigrated schema."""
    result = subprocess.run(
        [*LEDGER, "migrate"], cwd=ROOT, env=dict(env), capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise RuntimeError(f"ledger migrate failed ({result.returncode}):\n{result.stderr}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RoleProcess:
    """One ``ledger serve --role ROLE`` (ingestion unless told), its port and its log file."""

    index: int
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]
    started_at: float
    ready_at: float | None = None
    role: str = "ingestion"
    _log: IO[bytes] | None = field(default=None, repr=False)

    @classmethod
    def start(
        cls, index: int, env: Mapping[str, str], log_dir: Path, role: str = "ingestion"
    ) -> RoleProcess:
        port = free_port()
        log_path = log_dir / f"{role}-{index}.log"
        log = log_path.open("wb")
        process = subprocess.Popen(
            [*LEDGER, "serve", "--role", role],
            cwd=ROOT,
            env={**env, "LEDGER_PORT": str(port), "LEDGER_HOST": "127.0.0.1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return cls(index, port, log_path, process, time.perf_counter(), role=role, _log=log)

    def alive(self) -> bool:
        return self.process.poll() is None

    def ready(self) -> bool:
        """``/readyz`` answers 200 (an ingestion process: with the broker subscription
        confirmed)."""
        try:
            response = httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1)
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        if self.role != "ingestion":
            return True
        broker = response.json().get("checks", {}).get("broker", {})
        return bool(broker.get("state") == "subscribed")

    def metrics(self) -> dict[str, float]:
        """The ingestion counters of ``/metrics``, summed over their labels."""
        text = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text
        values: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            if not family.name.startswith(("ledger_ingestion_", "ledger_outbox_")):
                continue
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    values[sample.name] = values.get(sample.name, 0.0) + sample.value
        return values

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM (finish the batch in hand, ack, exit 0); SIGKILL after ``timeout``."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def preload(config: StompConfig, bodies: list[bytes], chunk: int = 500) -> float:
    """Send every body to ``config.queue``, each confirmed by a broker receipt; the rate."""
    session = StompSession(config).open()
    started = time.perf_counter()
    try:
        headers = {"content-type": "application/json"}
        for start in range(0, len(bodies), chunk):
            session.send_all(
                config.queue, [(body, headers) for body in bodies[start : start + chunk]]
            )
    finally:
        session.close()
    return len(bodies) / max(time.perf_counter() - started, 1e-9)


def rabbitmq_depth(destination: str) -> tuple[int, int] | None:
    """(ready, unacknowledged) of a RabbitMQ queue named by its STOMP destination, (0, 0)
    when it does not exist (RabbitMQ declares a queue on first use); None when
    ``rabbitmqctl`` is missing or refuses (another broker, no rights)."""
    tool = shutil.which("rabbitmqctl")
    if tool is None:
        return None
    name = destination.removeprefix("/queue/")
    result = subprocess.run(
        [tool, "-q", "list_queues", "name", "messages_ready", "messages_unacknowledged"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        return None
    for line in result.stdout.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[0] == name:
            return int(fields[1]), int(fields[2])
    return 0, 0


def delete_queues(prefix: str) -> None:
    """Remove the run's own queues from RabbitMQ: every queue whose name starts with
    ``prefix`` (the run's unique tag: the inbound queue, its partition queues, the dead-letter
    queue), in one ``rabbitmqctl eval`` (one ``delete_queue`` call each would take a minute)."""
    tool = shutil.which("rabbitmqctl")
    if tool is None:
        return
    if not prefix.replace(".", "").replace("-", "").isalnum():
        raise ValueError(f"not a queue name prefix: {prefix!r}")
    expression = (
        'Qs = [Q || Q <- rabbit_amqqueue:list(<<"/">>), '
        f'binary:longest_common_prefix([element(4, amqqueue:get_name(Q)), <<"{prefix}">>]) '
        f"== {len(prefix.encode())}], "
        '[rabbit_amqqueue:delete(Q, false, false, <<"benchmarks">>) || Q <- Qs], length(Qs).'
    )
    subprocess.run([tool, "-q", "eval", expression], capture_output=True, check=False, timeout=120)
