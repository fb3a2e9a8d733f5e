"""Real partitioned ingestion replicas for the fault tests (issue 14; docs/scale-out.md).

A :class:`Cluster` is a migrated PostgreSQL schema with funded accounts, a pre-loaded queue of
its own (the scale-out benchmark's workloads and role processes, :mod:`benchmarks.scale_out`),
and ``ledger serve --role ingestion`` replicas started and killed at will, with a short lease
TTL and the fencing's write trail on (``LEDGER_PARTITION_WRITE_LOG``). :meth:`Cluster.verify`
checks the end state on the event log:

* exactly once: every message's transaction received once, posted once, and a pending credit
  applied once; nothing dead-lettered, nothing left on the inbound queue;
* conservation: the trial balance is zero and every balance is what the messages imply;
* one writer per partition at any instant: each event row's ``xmin`` (its database
  transaction) is joined to the tenures that transaction proved (``partition_writes``); in
  commit order (notification ids) the tokens of a partition never go down and each token is
  one replica's.

:class:`Proxy` stands between one replica and the broker, so that its connection alone can be
dropped.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable
from contextlib import closing, suppress
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from adapters.messaging.config import StompConfig
from adapters.persistence import DatabaseConfig
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings
from benchmarks.scale_out.checks import BookedCounter, EndOfRun, conservation, exactly_once
from benchmarks.scale_out.processes import (
    Destinations,
    RoleProcess,
    delete_queues,
    ledger_env,
    migrate,
    preload,
    rabbitmq_depth,
)
from benchmarks.scale_out.workload import Workload, build, expected_balances
from benchmarks.workload import customer_ibans, open_and_fund
from domain.ledger.partitions import partition_of

STOMP = ("127.0.0.1", 61613)
LEASES = {
    "LEDGER_PARTITIONS": "16",
    "LEDGER_PARTITION_LEASE_TTL": "3",
    "LEDGER_PARTITION_HEARTBEAT_INTERVAL": "1",
    "LEDGER_PARTITION_WRITE_LOG": "on",
    "LEDGER_INGEST_BATCH_SIZE": "100",
    "LEDGER_LOG_LEVEL": "INFO",
}


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


class Proxy:
    """A TCP relay to the broker; :meth:`drop` closes every connection through it (the
    replica behind it reconnects through it again)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def drop(self) -> int:
        """Close every connection now; how many there were."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        return len(sockets) // 2

    def close(self) -> None:
        self._closed = True
        self.server.close()
        self.drop()


@dataclass
class Cluster:
    """One fault scenario's schema, queue, workload and replicas (module docstring)."""

    database: DatabaseConfig
    mix: str
    messages: int
    accounts: int = 200
    destinations: Destinations = field(init=False)
    env: dict[str, str] = field(init=False)
    workload: Workload = field(init=False)
    replicas: list[RoleProcess] = field(default_factory=list)
    killed: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        tag = f"{int(time.time())}.{id(self) % 1_000_000}"
        self.destinations = Destinations.unique(f"fault.{tag}")
        self.database.data_dir.mkdir(parents=True, exist_ok=True)
        self.env = ledger_env(self.database, STOMP, self.destinations, LEASES)
        migrate(self.env)
        with closing(bootstrap(Settings.from_env(self.env), migrate=False)) as container:
            self.customers = customer_ibans(self.accounts)
            open_and_fund(container.ledger, self.customers)
        self.workload = build(self.mix, self.customers, self.messages, f"F{tag}")
        self.counter = BookedCounter(str(self.database.url), str(self.database.schema))
        self.config = StompConfig(
            host=STOMP[0],
            port=STOMP[1],
            queue=self.destinations.queue,
            dead_letter_queue=self.destinations.dead_letter_queue,
        )

    def preload(self) -> None:
        preload(self.config, self.workload.bodies)

    def feed(self, per_second: int) -> threading.Thread:
        """Send the workload in the background at about ``per_second`` (load that keeps
        arriving while replicas come and go); join the thread to know it is all sent."""

        def send() -> None:
            chunk = max(per_second // 10, 1)
            bodies = self.workload.bodies
            for start in range(0, len(bodies), chunk):
                began = time.monotonic()
                preload(self.config, bodies[start : start + chunk])
                time.sleep(max(0.1 - (time.monotonic() - began), 0))

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        return sender

    def start(self, *, via: Proxy | None = None) -> RoleProcess:
        env = dict(self.env)
        if via is not None:
            env["LEDGER_STOMP_URL"] = f"stomp://guest:guest@127.0.0.1:{via.port}"
        replica = RoleProcess.start(len(self.replicas), env, self.database.data_dir)
        self.replicas.append(replica)
        return replica

    def _broker_check(self, replica: RoleProcess) -> dict[str, Any]:
        try:
            body = httpx.get(f"http://127.0.0.1:{replica.port}/readyz", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            return {}
        return dict(body.get("checks", {}).get("broker", {}))

    def partitions_of(self, replica: RoleProcess) -> list[int]:
        return list(self._broker_check(replica).get("partitions", []))

    def member_of(self, replica: RoleProcess) -> str:
        """The replica's lease member id (as the write trail names it)."""
        return str(self._broker_check(replica).get("member", ""))

    def decided(self) -> int:
        return self.counter.poll()

    def kill(self, replica: RoleProcess) -> None:
        """SIGKILL: no batch finished, no lease left; the others take over after the TTL."""
        replica.process.kill()
        replica.stop()  # reaps it and closes its log
        self.killed.add(replica.index)

    def wait_done(self, timeout: float = 180.0) -> None:
        """Every message decided and every pending credit applied."""
        try:
            wait_for(
                lambda: self.decided() >= self.messages and self.counter.pending_credits() == 0,
                timeout,
                f"{self.messages} payments decided and credited",
            )
        except AssertionError as error:
            state = (
                f"{self.decided()} decided, {self.counter.pending_credits()} credits pending; "
                f"queues (ready, unacked, consumers): {self.queue_depths()}"
            )
            logs = "\n".join(r.log_text()[-4000:] for r in self.replicas)
            raise AssertionError(f"{error}: {state}\n{logs}") from None

    def queue_depths(self) -> dict[str, tuple[int, ...]]:
        """Every queue of this cluster (the inbound one, its partition queues, the DLQ)."""
        listing = subprocess.run(
            ["rabbitmqctl", "-q", "list_queues", "name", "messages_ready",
             "messages_unacknowledged", "consumers"],
            capture_output=True, text=True, check=False, timeout=60,
        ).stdout  # fmt: skip
        depths: dict[str, tuple[int, ...]] = {}
        for line in listing.splitlines():
            name, *numbers = line.split("\t")
            if name.startswith(self.destinations.prefix) and numbers:
                depths[name.removeprefix(self.destinations.prefix)] = tuple(map(int, numbers))
        return depths

    def stop(self) -> list[int]:
        return [r.stop() for r in self.replicas if r.index not in self.killed]

    def verify(self) -> list[str]:
        """Stop the replicas still running, then every check of the module docstring; the
        problems found (empty: all passed)."""
        live = [r for r in self.replicas if r.index not in self.killed]
        metrics = [r.metrics() for r in live]
        codes = self.stop()
        end = EndOfRun(
            exit_codes=codes,
            tracebacks=sum(r.log_text().count("Traceback") for r in live),
            metrics=metrics,
            leftover=rabbitmq_depth(self.destinations.queue),
            dead_letter_depth=rabbitmq_depth(self.destinations.dead_letter_queue),
        )
        problems: list[str] = []
        once = exactly_once(
            str(self.database.url),
            str(self.database.schema),
            self.counter.start,
            self.workload.transaction_ids,
            end,
        )
        if not once.passed:
            problems.append(f"exactly once: {once.detail}")
        with closing(bootstrap(Settings.from_env(self.env), migrate=False)) as container:
            conserved = conservation(container, expected_balances(self.customers, self.workload))
        if not conserved.passed:
            problems.append(f"conservation: {conserved.detail}")
        problems += single_writer_problems(self.database)
        for replica in live:
            text = replica.log_text()
            at = text.find("Traceback")
            if at >= 0:
                problems.append(
                    f"replica {replica.index} logged: {text[max(at - 300, 0) : at + 2500]}"
                )
        return problems

    def writers(self) -> dict[int, set[str]]:
        """Partition -> the replicas that wrote it (from the write trail)."""
        rows = _query(
            self.database,
            'SELECT DISTINCT partition, member FROM "{schema}".partition_writes',
        )
        found: dict[int, set[str]] = {}
        for partition, member in rows:
            found.setdefault(int(partition), set()).add(str(member))
        return found

    def last_writers(self) -> dict[int, str]:
        """Partition -> the replica of its latest tenure that wrote (the write trail)."""
        rows = _query(
            self.database,
            'SELECT DISTINCT ON (partition) partition, member FROM "{schema}".partition_writes '
            "ORDER BY partition, token DESC",
        )
        return {int(partition): str(member) for partition, member in rows}

    def partition_of(self, key: str) -> int:
        return partition_of(key, int(LEASES["LEDGER_PARTITIONS"]))

    def close(self) -> None:
        for replica in self.replicas:
            if replica.alive():
                replica.process.kill()
            replica.stop()
        self.counter.close()
        delete_queues(self.destinations.prefix)


def _query(database: DatabaseConfig, statement: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(str(database.url)) as conn:
        return list(conn.execute(statement.format(schema=database.schema)).fetchall())


def single_writer_problems(database: DatabaseConfig) -> list[str]:
    """Each committed event traced to the tenures its transaction proved (``xmin`` =
    ``txid_current()`` modulo 2^32); per partition, in commit order, the tokens never go down
    and a token belongs to one replica."""
    rows = _query(
        database,
        "SELECT w.partition, w.token, w.member, min(e.notification_id) AS first "
        'FROM "{schema}".partition_writes w '
        'JOIN "{schema}".ledger_events e ON e.xmin::text::bigint = w.txid % 4294967296 '
        "GROUP BY w.txid, w.partition, w.token, w.member ORDER BY first",
    )
    problems: list[str] = []
    last: dict[int, tuple[int, str]] = {}
    owners: dict[tuple[int, int], str] = {}
    for partition, token, member, first in rows:
        key = (int(partition), int(token))
        if owners.setdefault(key, str(member)) != str(member):
            problems.append(f"partition {partition} token {token} written by two replicas")
        previous = last.get(int(partition))
        if previous is not None and int(token) < previous[0]:
            problems.append(
                f"partition {partition}: token {token} ({member}) committed at {first} after "
                f"token {previous[0]} ({previous[1]})"
            )
        last[int(partition)] = (int(token), str(member))
    if not rows:
        problems.append("no fenced write traced (the write trail is empty)")
    return problems
