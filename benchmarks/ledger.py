"""The ledger's own figures on one backend: booking, catch-up and as-of latency."""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass
from datetime import datetime

from rich.console import Console

from adapters.persistence import DatabaseConfig, event_store_env, read_model_engine
from application.ledger.app import LedgerApplication
from benchmarks.environment import fresh_store
from benchmarks.workload import EXTERNAL, customer_ibans, open_and_fund, payment, transfers
from projections.queries import LedgerQueries
from projections.runner.projector import Projector
from projections.runner.sources import EventSource


@dataclass(frozen=True)
class BackendFigures:
    backend: str
    single_count: int
    single_rate: float
    batched_count: int
    batch_size: int
    batched_rate: float
    catch_up_events: int
    catch_up_rate: float
    asof_postings: int
    asof_p50_ms: float
    asof_p99_ms: float


def measure_backend(backend: str, args: argparse.Namespace, console: Console) -> BackendFigures:
    with fresh_store(backend) as config:
        app = LedgerApplication(env=event_store_env(config, "ledger"))
        ibans = customer_ibans(args.accounts)
        open_and_fund(app, ibans)

        single = list(transfers(ibans, args.single, "SINGLE", seed=1))
        started = time.perf_counter()
        for item in single:
            app.submit_payment(item)
        single_rate = len(single) / (time.perf_counter() - started)
        console.log(f"{backend}: one per commit {single_rate:,.0f}/s")

        batched = list(transfers(ibans, args.batched, "BATCH", seed=2))
        started = time.perf_counter()
        for start in range(0, len(batched), args.batch_size):
            app.submit_payments(batched[start : start + args.batch_size])
        batched_rate = len(batched) / (time.perf_counter() - started)
        console.log(f"{backend}: batched {batched_rate:,.0f}/s")

        events, catch_up_rate = _catch_up(config, app)
        console.log(f"{backend}: catch-up {catch_up_rate:,.0f} events/s")

        p50, p99 = _asof_latency(config, app, args, console)
        return BackendFigures(
            backend=backend,
            single_count=len(single),
            single_rate=single_rate,
            batched_count=len(batched),
            batch_size=args.batch_size,
            batched_rate=batched_rate,
            catch_up_events=events,
            catch_up_rate=catch_up_rate,
            asof_postings=args.asof_postings,
            asof_p50_ms=p50,
            asof_p99_ms=p99,
        )


def _projector(config: DatabaseConfig, app: LedgerApplication) -> Projector:
    projector = Projector(read_model_engine(config), [EventSource(app)])
    projector.create_tables()
    return projector


def _catch_up(config: DatabaseConfig, app: LedgerApplication) -> tuple[int, float]:
    projector = _projector(config, app)
    started = time.perf_counter()
    events = projector.catch_up()
    return events, events / (time.perf_counter() - started)


def _asof_latency(
    config: DatabaseConfig, app: LedgerApplication, args: argparse.Namespace, console: Console
) -> tuple[float, float]:
    """Book ``asof_postings`` incoming payments to one account, then time as-of reads."""
    target = customer_ibans(args.accounts + 1)[-1]
    open_and_fund(app, [target], amount="1.00", prefix="ASOF-FUND")
    for start in range(0, args.asof_postings, args.batch_size):
        count = min(args.batch_size, args.asof_postings - start)
        app.submit_payments(
            [payment(f"ASOF-{start + i}", EXTERNAL, target, "1.00") for i in range(count)]
        )
    projector = _projector(config, app)
    projector.catch_up()
    engine = read_model_engine(config)
    queries = LedgerQueries(engine)
    first = queries.account(target.value, as_of=None)
    if first is None:
        raise RuntimeError("as-of target account missing from the read model")
    instants = _recorded_instants(queries, target.value)
    console.log(f"{len(instants):,} distinct recorded instants on the as-of account")
    rng = random.Random(3)
    samples = []
    for _ in range(args.asof_queries):
        instant = rng.choice(instants)
        started = time.perf_counter()
        view = queries.account(target.value, as_of=instant)
        samples.append((time.perf_counter() - started) * 1000)
        if view is None:
            raise RuntimeError(f"no state as of {instant}")
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return statistics.median(samples), p99


def _recorded_instants(queries: LedgerQueries, key: str) -> list[datetime]:
    """Every recorded-at time of the account's postings (walks the postings pages)."""
    instants: set[datetime] = set()
    after: str | None = None
    while True:
        page = queries.postings(key, first=500, after=after)
        instants.update(posting.recorded_at for _, posting in page.edges)
        if not page.has_next_page:
            return sorted(instants)
        after = page.end_cursor
