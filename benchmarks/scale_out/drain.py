"""One run: N ingestion processes drain a pre-loaded queue of one mix into a fresh schema.

In order: a fresh PostgreSQL schema, ``ledger migrate``, ``--accounts`` accounts opened and
funded (in this process, through the ledger application the CLI builds), ``--messages``
payments pre-loaded on the run's own queue (each confirmed by the broker), then N
``ledger serve --role ingestion`` processes started back to back. The drain rate is the
payments decided after the first process was seen ready, over the time from then to the
moment the last one was seen booked (the event log is polled, never slept on). The rate from
the moment every process was ready is shown too: with N > 1, the first process drains alone
while the others finish starting.

At the end each process's ``/metrics`` is read (its share of the payments, batches retried),
the processes get SIGTERM, and the checks of :mod:`.checks` run.
"""

from __future__ import annotations

import argparse
import time
import uuid
from contextlib import closing
from dataclasses import dataclass

from rich.console import Console

from adapters.messaging.config import StompConfig
from adapters.persistence import DatabaseConfig
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings
from benchmarks.environment import fresh_store
from benchmarks.scale_out.checks import BookedCounter, EndOfRun, Verdict, conservation, exactly_once
from benchmarks.scale_out.processes import (
    Destinations,
    RoleProcess,
    delete_queues,
    ledger_env,
    migrate,
    preload,
    rabbitmq_depth,
)
from benchmarks.scale_out.workload import build, expected_balances
from benchmarks.workload import customer_ibans, open_and_fund

POLL_S = 0.02
"""Between two looks at the event log and the processes' readiness."""


@dataclass(frozen=True)
class Timing:
    first_ready: float
    all_ready: float
    end: float
    booked_at_first_ready: int
    booked_at_all_ready: int


@dataclass
class RunFigures:
    mix: str
    processes: int
    messages: int
    preload_rate: float
    startup_s: list[float]
    """Per process, from its start to its ``/readyz`` with the broker subscribed."""
    rate: float
    """Payments per second from the first process ready to the last payment booked."""
    rate_all_ready: float | None
    """The same from the moment every process was ready (None if they finished first)."""
    drain_s: float
    shares: list[int]
    """Payments each process booked (its own ``/metrics``)."""
    retried_batches: int
    rolled_back_rows: int
    event_rows: int
    exactly_once: Verdict
    conservation: Verdict

    @property
    def ready_spread_s(self) -> float:
        return max(self.startup_s) - min(self.startup_s) if self.startup_s else 0.0

    @property
    def passed(self) -> bool:
        return self.exactly_once.passed and self.conservation.passed


def measure(mix: str, processes: int, args: argparse.Namespace, console: Console) -> RunFigures:
    """Measure one mix with ``processes`` ingestion processes (module docstring)."""
    tag = f"{int(time.time())}.{uuid.uuid4().hex[:6]}"
    destinations = Destinations.unique(tag)
    host, _, port = args.stomp.partition(":")
    stomp = (host, int(port or 61613))
    try:
        with fresh_store("postgres") as database:
            env = ledger_env(database, stomp, destinations, dict(args.set))
            migrate(env)
            with closing(bootstrap(Settings.from_env(env), migrate=False)) as container:
                customers = customer_ibans(args.accounts)
                open_and_fund(container.ledger, customers)
                workload = build(mix, customers, args.messages, f"{mix.upper()}{processes}.{tag}")
                with closing(BookedCounter(str(database.url), str(database.schema))) as counter:
                    config = StompConfig(
                        host=stomp[0],
                        port=stomp[1],
                        queue=destinations.queue,
                        dead_letter_queue=destinations.dead_letter_queue,
                        events_topic=destinations.events_topic,
                    )
                    preload_rate = preload(config, workload.bodies)
                    console.log(
                        f"{mix}, {processes} process(es): {len(workload.bodies):,} messages "
                        f"pre-loaded at {preload_rate:,.0f}/s; starting the role processes ..."
                    )
                    drained = _run_processes(
                        processes, env, database, counter, len(workload.bodies), args, console
                    )
                    end = EndOfRun(
                        exit_codes=drained.exit_codes,
                        tracebacks=sum(log.count("Traceback") for log in drained.logs),
                        metrics=drained.metrics,
                        leftover=rabbitmq_depth(destinations.queue),
                        dead_letter_depth=rabbitmq_depth(destinations.dead_letter_queue),
                    )
                    once = exactly_once(
                        str(database.url),
                        str(database.schema),
                        counter.start,
                        workload.transaction_ids,
                        end,
                    )
                    rolled_back = counter.rolled_back_rows()
                    event_rows = counter.head() - counter.start
                conserved = conservation(container, expected_balances(customers, workload))
            if not (once.passed and conserved.passed):
                _show_logs(console, drained.processes)
    finally:
        delete_queues(destinations.prefix)
    timing = drained.timing
    booked = len(workload.bodies)
    all_span = timing.end - timing.all_ready
    figures = RunFigures(
        mix=mix,
        processes=processes,
        messages=booked,
        preload_rate=preload_rate,
        startup_s=[(p.ready_at or p.started_at) - p.started_at for p in drained.processes],
        rate=(booked - timing.booked_at_first_ready) / (timing.end - timing.first_ready),
        rate_all_ready=(booked - timing.booked_at_all_ready) / all_span
        if all_span > 0 and timing.booked_at_all_ready < booked
        else None,
        drain_s=timing.end - timing.first_ready,
        shares=[int(m.get("ledger_ingestion_booked_payments_total", 0)) for m in drained.metrics],
        retried_batches=int(end.total("ledger_ingestion_retried_batches_total")),
        rolled_back_rows=rolled_back,
        event_rows=event_rows,
        exactly_once=once,
        conservation=conserved,
    )
    console.log(
        f"{mix}, {processes} process(es): {figures.rate:,.0f}/s; "
        f"exactly once {'ok' if once.passed else 'FAILED'}, "
        f"conservation {'ok' if conserved.passed else 'FAILED'}"
    )
    return figures


@dataclass(frozen=True)
class Drained:
    """The role processes of one run, stopped, with what they reported."""

    processes: list[RoleProcess]
    timing: Timing
    metrics: list[dict[str, float]]
    exit_codes: list[int]
    logs: list[str]


def _run_processes(
    count: int,
    env: dict[str, str],
    database: DatabaseConfig,
    counter: BookedCounter,
    total: int,
    args: argparse.Namespace,
    console: Console,
) -> Drained:
    """Start ``count`` processes back to back, measure the drain, read their metrics, stop
    them with SIGTERM (their logs are shown when the drain fails)."""
    processes = [RoleProcess.start(i, env, database.data_dir) for i in range(count)]
    try:
        timing = _drain(processes, counter, total, args)
        metrics = [process.metrics() for process in processes]
    except BaseException:
        _show_logs(console, processes)
        raise
    finally:
        codes = [process.stop() for process in processes]
    return Drained(processes, timing, metrics, codes, [p.log_text() for p in processes])


def _drain(
    processes: list[RoleProcess], counter: BookedCounter, total: int, args: argparse.Namespace
) -> Timing:
    """Poll readiness and the event log until ``total`` payments are decided and every
    process has been seen ready."""
    first_ready: float | None = None
    all_ready: float | None = None
    end: float | None = None
    at_first = at_all = 0
    last_count, last_progress = -1, time.perf_counter()
    while True:
        for process in processes:
            if not process.alive():
                raise RuntimeError(
                    f"ingestion process {process.index} exited with "
                    f"{process.process.returncode}:\n{process.log_text()[-3000:]}"
                )
            if process.ready_at is None and process.ready():
                process.ready_at = time.perf_counter()
        count = counter.poll()
        now = time.perf_counter()
        ready = [p.ready_at for p in processes if p.ready_at is not None]
        if first_ready is None and ready:
            first_ready, at_first = min(ready), count
        if all_ready is None and len(ready) == len(processes):
            all_ready, at_all = max(ready), count
        if end is None and count >= total and counter.pending_credits() == 0:
            end = now  # every payment decided, every credit of a two-step posting applied
        if end is not None and first_ready is not None and all_ready is not None:
            return Timing(first_ready, all_ready, end, at_first, at_all)
        if count != last_count:
            last_count, last_progress = count, now
        elif now - last_progress > args.stall_seconds:
            raise RuntimeError(
                f"no payment booked for {args.stall_seconds} s ({count:,} of {total:,} decided)"
            )
        time.sleep(POLL_S)


def _show_logs(console: Console, processes: list[RoleProcess]) -> None:
    for process in processes:
        console.rule(f"ingestion process {process.index}: last lines of its log")
        console.print(process.log_text()[-3000:], markup=False, highlight=False)
