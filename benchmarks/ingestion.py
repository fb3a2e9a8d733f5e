"""``python -m benchmarks.ingestion``: end-to-end ingestion over STOMP on PostgreSQL.

A producer process (a channel) sends JSON payments to the real broker; the consumer
books them in batches on PostgreSQL and acks after commit. Two runs of
``--messages`` payments each (internal transfers between funded accounts):

* burst: everything sent as fast as the producer can; payments per second from the
  first send to the last booked and acked;
* paced: sent at pgbench's single-client tpcb-like rate (measured first, same
  PostgreSQL, same run); latency from send to booked-and-acked, p50 and p99.

The latency of the burst run is also shown: there, it measures how long messages
wait in the queue behind the backlog, not the pipeline's own delay.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shlex
import statistics
import sys
import threading
import time
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from rich.console import Console
from rich.table import Table

from adapters.messaging.config import StompConfig
from adapters.messaging.connection import Delivery, StompSession
from adapters.messaging.consumer import IngestionConsumer
from adapters.messaging.metrics import IngestionMetrics
from adapters.persistence import event_store_env
from application.ledger.app import LedgerApplication
from benchmarks.__main__ import render_machine
from benchmarks.environment import fresh_store
from benchmarks.pgbench import PgbenchResult, run_pgbench
from benchmarks.workload import customer_ibans, open_and_fund, transfers


@dataclass(frozen=True)
class RunFigures:
    name: str
    messages: int
    sent_rate: float
    booked_rate: float
    p50_ms: float
    p99_ms: float


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingestion", description=__doc__)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batch-wait-ms", type=int, default=2)
    parser.add_argument("--stomp", default="127.0.0.1:61613", help="host:port of the broker")
    parser.add_argument("--pgbench-seconds", type=int, default=30)
    parser.add_argument("--rate", type=float, default=0.0, help="paced rate (0: pgbench's)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks it runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.messages, args.accounts, args.pgbench_seconds = 500, 20, 2
    return args


def produce(config: StompConfig, bodies: list[bytes], rate: float) -> None:
    """Send ``bodies`` (in a separate process) at ``rate`` per second, or flat out at 0."""
    session = StompSession(config).open()
    started = time.perf_counter()
    for n, body in enumerate(bodies):
        if rate > 0:
            due = started + n / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        headers = {"content-type": "application/json", "x-sent-at": f"{time.time():.6f}"}
        session.send(config.queue, body, headers, confirm=n % 200 == 199)
    session.send(config.queue + ".end", b"{}", {}, confirm=True)
    session.close()


def _bodies(ibans: list, count: int, prefix: str) -> list[bytes]:  # type: ignore[type-arg]
    bodies = []
    for item in transfers(ibans, count, prefix, seed=hash(prefix) & 0xFFFF):
        bodies.append(
            json.dumps(
                {
                    "externalId": item.external_id,
                    "channel": "BENCH",
                    "debtor": {"iban": item.debtor.iban.value, "name": item.debtor.name},
                    "creditor": {"iban": item.creditor.iban.value, "name": item.creditor.name},
                    "amount": format(item.amount.amount, "f"),
                    "currency": item.amount.currency,
                    "reference": item.reference,
                }
            ).encode()
        )
    return bodies


def run_once(
    name: str, app: LedgerApplication, config: StompConfig, bodies: list[bytes], rate: float
) -> RunFigures:
    latencies: list[float] = []
    done = threading.Event()
    first_sent: list[float] = []
    last_sent = [0.0]
    last_acked = [0.0]

    def acknowledged(delivery: Delivery, acked_at: float) -> None:
        sent = float(delivery.headers["x-sent-at"])
        if not first_sent or sent < first_sent[0]:
            first_sent[:] = [sent]
        last_sent[0] = max(last_sent[0], sent)
        latencies.append(acked_at - sent)
        last_acked[0] = acked_at
        if len(latencies) >= len(bodies):
            done.set()

    consumer = IngestionConsumer(
        config,
        app,
        IngestionMetrics(CollectorRegistry()),
        database_probe=app.recorder.max_notification_id,
        on_acknowledged=acknowledged,
    )
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    consumer.subscribed.wait(30)
    sender = multiprocessing.get_context("spawn").Process(
        target=produce, args=(config, bodies, rate)
    )
    sender.start()
    sender.join()
    if not done.wait(600):
        raise RuntimeError(f"{name}: only {len(latencies)} of {len(bodies)} booked")
    stop.set()
    thread.join(30)
    ordered = sorted(latencies)
    return RunFigures(
        name=name,
        messages=len(bodies),
        sent_rate=(len(bodies) - 1) / (last_sent[0] - first_sent[0]),
        booked_rate=len(bodies) / (last_acked[0] - first_sent[0]),
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=ordered[int(len(ordered) * 0.99) - 1] * 1000,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    console = Console()
    command = "python -m benchmarks.ingestion " + shlex.join(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    host, _, port = args.stomp.partition(":")
    pgbench: list[PgbenchResult] = []
    for clients in (1, 4):
        console.log(f"pgbench tpcb-like, {clients} client(s), {args.pgbench_seconds} s ...")
        result = run_pgbench(clients, args.pgbench_seconds)
        if result is not None:
            pgbench.append(result)
    runs: list[RunFigures] = []
    with fresh_store("postgres") as database:
        app = LedgerApplication(env=event_store_env(database, "ledger"))
        try:
            ibans = customer_ibans(args.accounts)
            open_and_fund(app, ibans)
            tag = f"{int(time.time())}"
            for name, rate in (
                ("burst", 0.0),
                ("paced", args.rate or (pgbench[0].tps if pgbench else 500.0)),
            ):
                config = StompConfig(
                    host=host,
                    port=int(port or 61613),
                    queue=f"/queue/bench.{tag}.{name}",
                    dead_letter_queue=f"/queue/bench.{tag}.{name}.dlq",
                    batch_size=args.batch_size,
                    batch_wait_ms=args.batch_wait_ms,
                    prefetch=2 * args.batch_size,
                )
                bodies = _bodies(ibans, args.messages, f"{name.upper()}{tag}")
                console.log(f"{name}: {len(bodies):,} messages at {rate or 'full'} /s ...")
                figures = run_once(name, app, config, bodies, rate)
                console.log(f"{name}: booked {figures.booked_rate:,.0f}/s")
                runs.append(figures)
        finally:
            app.close()
    console.print(render_machine(command, time.perf_counter() - started))
    console.print(render(runs, pgbench))
    return 0


def render(runs: list[RunFigures], pgbench: list[PgbenchResult]) -> Table:
    table = Table(title="Ingestion over STOMP (RabbitMQ) into PostgreSQL, end to end")
    for column in ("run", "messages", "sent /s", "booked+acked /s", "p50 ms", "p99 ms", "note"):
        table.add_column(column, justify="left" if column in {"run", "note"} else "right")
    for run in runs:
        note = (
            "latency includes the queue backlog"
            if run.name == "burst"
            else "paced at pgbench 1-client rate; target p99 < 250 ms"
        )
        table.add_row(
            run.name,
            f"{run.messages:,}",
            f"{run.sent_rate:,.0f}",
            f"{run.booked_rate:,.0f}",
            f"{run.p50_ms:.1f}",
            f"{run.p99_ms:.1f}",
            note,
        )
    burst = next((r for r in runs if r.name == "burst"), None)
    for result in pgbench:
        table.add_row(
            f"pgbench {result.clients} client",
            "",
            "",
            f"{result.tps:,.0f} TPS",
            "",
            "",
            f"burst / pgbench = {burst.booked_rate / result.tps:.2f}x (target >= 1.0x)"
            if burst
            else "",
        )
    return table


if __name__ == "__main__":
    raise SystemExit(main())
