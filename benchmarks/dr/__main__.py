"""``python -m benchmarks.dr [--payments N] [--kill-at F] [--replication sync|async]
[--processes N] [--accounts N] [--stomp HOST:PORT]`` (run by ``scripts/dr-drill.sh``).

1. The cluster is brought up (``scripts/ha-cluster.sh up``: a lost node of a previous drill
   rejoins as the standby) and set to synchronous or asynchronous replication.
2. A fresh schema on the cluster's ``ledger`` database is migrated (``ledger migrate``) and
   ``--accounts`` customers are funded; ``--payments`` payments (the ``mixed`` workload of
   the scale-out benchmark) are put on a queue of their own.
3. ``--processes`` ingestion processes start on the read-write URL naming both nodes; once
   ``--kill-at`` of the payments are decided, the replication lag is read from the primary
   and the primary node is SIGKILLed (``ha-cluster.sh kill-primary``: keeper, postgres and
   every backend at once). pg_auto_failover promotes the standby.
4. RTO: from the kill to the first payment decided on the new primary (the log watched
   every 0.1 s through the read-write URL). Once the queue is drained: RPO (payments whose
   message was acknowledged but which the new primary does not have), exactly-once (every
   other payment received and posted once, nothing dead-lettered, every process exits 0 on
   SIGTERM) and conservation (trial balance zero; every balance what the booked messages
   imply).

Exit code 1 when a check fails, the RPO is not 0 with synchronous replication, or the RTO is
not under ``--rto-target`` seconds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from rich.console import Console
from rich.table import Table

from adapters.messaging.config import StompConfig
from adapters.persistence import DatabaseConfig, ensure_schema
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings
from benchmarks.dr.cluster import LogWatcher, Replication, cluster, replication
from benchmarks.scale_out.checks import EndOfRun, Verdict, conservation, exactly_once
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


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.dr",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--payments", type=int, default=20_000)
    parser.add_argument("--kill-at", type=float, default=0.3, help="fraction decided (0.3)")
    parser.add_argument("--replication", choices=("sync", "async"), default="sync")
    parser.add_argument("--processes", type=int, default=1, help="ingestion processes")
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--stomp", default="127.0.0.1:61613", help="host:port of the broker")
    parser.add_argument("--rto-target", type=float, default=60.0, help="seconds")
    parser.add_argument("--timeout", type=float, default=600.0, help="for the whole load")
    return parser.parse_args(argv)


@dataclass
class Drill:
    payments: int
    replication: Replication
    killed_at_decided: int
    failover_s: float
    """The kill to the new primary accepting a read-write session."""
    rto_s: float
    rpo_payments: int
    exactly_once: Verdict
    conservation: Verdict
    new_primary: str


def run(args: argparse.Namespace, console: Console) -> Drill:
    console.log(cluster("up", timeout=600) or "cluster up")
    cluster(args.replication)
    url = cluster("url")
    tag = f"{int(time.time())}{uuid.uuid4().hex[:6]}"
    destinations = Destinations.unique(f"dr{tag}")
    host, _, port = args.stomp.partition(":")
    data_dir = Path(tempfile.mkdtemp(prefix="ledger-dr-"))
    database = DatabaseConfig(data_dir=data_dir, url=url, schema=f"dr_{tag}")
    ensure_schema(database)
    env = ledger_env(database, (host, int(port or 61613)), destinations, {})
    processes: list[RoleProcess] = []
    try:
        migrate(env)
        customers = customer_ibans(args.accounts)
        with closing(bootstrap(Settings.from_env(env), migrate=False)) as container:
            open_and_fund(container.ledger, customers)
        workload = build("mixed", customers, args.payments, f"DR{tag}")
        config = StompConfig(
            host=host,
            port=int(port or 61613),
            queue=destinations.queue,
            dead_letter_queue=destinations.dead_letter_queue,
            events_topic=destinations.events_topic,
        )
        rate = preload(config, workload.bodies)
        console.log(f"{args.payments:,} payments on {destinations.queue} ({rate:,.0f}/s)")
        watcher = LogWatcher(url, str(database.schema))
        baseline = watcher.wait_for(0, 60)
        funded_head = watcher.position  # the funding's events end here
        processes = [RoleProcess.start(i, env, data_dir) for i in range(args.processes)]
        kill_at = baseline + int(args.payments * args.kill_at)
        watcher.wait_for(kill_at, args.timeout)
        lag = replication(url)
        decided_before = watcher.decided - baseline
        killed = cluster("kill-primary")
        killed_at = time.monotonic()
        console.log(
            f"killed the primary (port {killed}) at {decided_before:,} decided; "
            f"replication {lag.mode}, lag {lag.lag_bytes} bytes / {lag.replay_lag_s:.3f} s"
        )
        failover_s, rto_s = _recovery(watcher, killed_at, args.timeout)
        console.log(
            f"new primary on port {watcher.port}: read-write after {failover_s:.1f} s, "
            f"first payment booked after {rto_s:.1f} s"
        )
        _drain(watcher, destinations, args.payments, args.timeout, processes)
        metrics = [process.metrics() for process in processes]
        codes = [process.stop() for process in processes]
        end = EndOfRun(
            exit_codes=codes,
            tracebacks=sum(p.log_text().count("Traceback") for p in processes),
            metrics=metrics,
            leftover=rabbitmq_depth(destinations.queue),
            dead_letter_depth=rabbitmq_depth(destinations.dead_letter_queue),
        )
        present = _present(url, str(database.schema), workload)
        lost = workload.transaction_ids - present
        once = exactly_once(url, str(database.schema), funded_head, present, end)
        kept = _subset(workload, present)
        with closing(bootstrap(Settings.from_env(env), migrate=False)) as container:
            conserved = conservation(container, expected_balances(customers, kept))
        return Drill(
            payments=args.payments,
            replication=lag,
            killed_at_decided=decided_before,
            failover_s=failover_s,
            rto_s=rto_s,
            rpo_payments=len(lost),
            exactly_once=once,
            conservation=conserved,
            new_primary=str(watcher.port),
        )
    finally:
        for process in processes:
            process.stop()
        delete_queues(destinations.prefix)
        shutil.rmtree(data_dir, ignore_errors=True)


def _recovery(watcher: LogWatcher, killed_at: float, timeout: float) -> tuple[float, float]:
    """(seconds to a read-write session on the new primary, seconds to its first payment)."""
    deadline = killed_at + timeout
    watcher.close()
    watcher.conn = None
    first: int | None = None
    failover_s = 0.0
    while time.monotonic() < deadline:
        seen = watcher.sample()
        now = time.monotonic()
        if seen is not None and first is None and watcher.failovers:
            first, failover_s = seen, now - killed_at
        elif seen is not None and first is not None and seen > first:
            return failover_s, now - killed_at
        time.sleep(0.1)
    raise TimeoutError(f"no payment booked on a new primary within {timeout:.0f} s")


def _drain(
    watcher: LogWatcher,
    destinations: Destinations,
    total: int,
    timeout: float,
    processes: list[RoleProcess],
) -> None:
    """Until every payment is decided, or the queue is empty and nothing moved for 5 s (the
    payments a failover lost were acknowledged: nothing will bring them back)."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        for process in processes:
            if not process.alive():
                raise RuntimeError(f"ingestion exited:\n{process.log_text()[-3000:]}")
        seen = watcher.sample()
        if seen is not None and seen >= total:
            return
        if seen != last:
            last, since = seen or last, time.monotonic()
        elif time.monotonic() - since > 5 and not sum(rabbitmq_depth(destinations.queue) or (1,)):
            return
        time.sleep(0.2)
    raise TimeoutError(f"the queue was not drained within {timeout:.0f} s")


def _present(url: str, schema: str, workload: Workload) -> set[UUID]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f'SELECT DISTINCT originator_id FROM "{schema}".ledger_events WHERE topic = %s',
            ("domain.ledger.transactions:Transaction.Received",),
        ).fetchall()
    return {row[0] for row in rows} & workload.transaction_ids


def _subset(workload: Workload, present: set[UUID]) -> Workload:
    """The workload of the payments the database has (all of them unless a failover lost
    some): what the balances must show."""
    from domain.ledger.transactions import Transaction

    kept = Workload(workload.mix)
    for body in workload.bodies:
        message = json.loads(body)
        if Transaction.create_id(message["channel"], message["externalId"]) not in present:
            continue
        kind = message["reference"].removeprefix("scale-out ")
        kept.add(
            message["externalId"],
            message["debtor"]["iban"],
            message["creditor"]["iban"],
            Decimal(message["amount"]),
            kind,
        )
    return kept


def render(drill: Drill, args: argparse.Namespace) -> Table:
    table = Table(title="database failover drill (pg_auto_failover, SIGKILL of the primary)")
    for column in ("measure", "value"):
        table.add_column(column)
    lag = drill.replication
    rows = [
        ("payments (STOMP, mixed)", f"{drill.payments:,}, {args.processes} ingestion process(es)"),
        (
            "replication at the kill",
            f"{args.replication} ({lag.mode}), lag {lag.lag_bytes} B, "
            f"replay {lag.replay_lag_s:.3f} s",
        ),
        ("decided before the kill", f"{drill.killed_at_decided:,}"),
        ("new primary read-write after", f"{drill.failover_s:.1f} s (port {drill.new_primary})"),
        (
            "RTO (kill -> first payment booked)",
            f"{drill.rto_s:.1f} s (target < {args.rto_target:.0f} s)",
        ),
        ("RPO (acknowledged payments lost)", f"{drill.rpo_payments}"),
        (
            "exactly once",
            ("ok: " if drill.exactly_once.passed else "FAILED: ") + drill.exactly_once.detail,
        ),
        (
            "conservation",
            ("ok: " if drill.conservation.passed else "FAILED: ") + drill.conservation.detail,
        ),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    console = Console(width=140)
    console.print(
        f"command: python -m benchmarks.dr {' '.join(sys.argv[1:] if argv is None else argv)}"
    )
    drill = run(args, console)
    console.print(render(drill, args))
    failed = [
        name
        for name, bad in (
            ("exactly once", not drill.exactly_once.passed),
            ("conservation", not drill.conservation.passed),
            (
                "RPO not 0 with synchronous replication",
                args.replication == "sync" and drill.rpo_payments,
            ),
            ("RTO over target", drill.rto_s >= args.rto_target),
        )
        if bad
    ]
    if failed:
        console.print(f"DRILL FAILED: {', '.join(failed)}")
        return 1
    console.print(f"DRILL PASSED: RTO {drill.rto_s:.1f} s, RPO {drill.rpo_payments} payments")
    return 0


if __name__ == "__main__":
    sys.exit(main())
