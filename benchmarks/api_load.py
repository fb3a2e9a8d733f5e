"""The client side of ``python -m benchmarks.api_scale``: a read mix against API processes.

One asyncio loop in the benchmark's process drives ``clients`` concurrent tasks; task ``i``
talks to process ``i mod n`` over its own keep-alive connection (httpx), so the same total
load is spread evenly over one or over two processes. Every task sends, one after the other,
``GET /v1/accounts/{iban}`` and a GraphQL query (the account's balance and its ten newest
transactions) for a random seeded account, with a person's bearer token. Requests answered
during the warm-up are not counted; afterwards each one's latency, from send to the end of
the body, is kept. An answer other than 200 (or a GraphQL ``errors`` member) is an error.

The client is kept cheap (one thread, no TLS, small bodies), but on a small machine it still
takes CPU from the processes it measures: its own CPU time is measured and shown, and so is
that of the API processes (``/proc/<pid>/stat``).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

GRAPHQL = """query($id: String!, $filter: TransactionFilter) {
  account(id: $id) { balance { amount } }
  transactions(filter: $filter, first: 10) { edges { node { id status amount { amount } } } }
}"""
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Samples:
    """Latencies (ms) of the requests answered in the measured window, by kind."""

    rest: list[float] = field(default_factory=list)
    graphql: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None

    @property
    def count(self) -> int:
        return len(self.rest) + len(self.graphql)

    def error(self, what: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = what[:300]


@dataclass(frozen=True)
class LoadFigures:
    samples: Samples
    seconds: float
    client_cpu: float
    """Cores the load generator used on average over the window."""
    server_cpu: float
    """Cores the API processes used together on average over the window."""

    @property
    def rate(self) -> float:
        return self.samples.count / self.seconds


async def _task(
    client: httpx.AsyncClient,
    accounts: list[str],
    seed: int,
    measuring: asyncio.Event,
    done: asyncio.Event,
    samples: Samples,
) -> None:
    rng = random.Random(seed)
    rest_next = seed % 2 == 0
    while not done.is_set():
        account = rng.choice(accounts)
        started = time.perf_counter()
        if rest_next:
            response = await client.get(f"/v1/accounts/{account}")
            ok = response.status_code == 200
        else:
            variables = {"id": account, "filter": {"account": account}}
            response = await client.post(
                "/graphql", json={"query": GRAPHQL, "variables": variables}
            )
            ok = response.status_code == 200 and "errors" not in response.json()
        elapsed = (time.perf_counter() - started) * 1000
        if measuring.is_set() and not done.is_set():
            if not ok:
                samples.error(f"{response.status_code} {response.text}")
            elif rest_next:
                samples.rest.append(elapsed)
            else:
                samples.graphql.append(elapsed)
        rest_next = not rest_next


async def _drive(
    urls: list[str],
    pids: list[int],
    token: str,
    accounts: list[str],
    clients: int,
    warmup: float,
    seconds: float,
) -> LoadFigures:
    headers = {"authorization": f"Bearer {token}"}
    per_process = -(-clients // len(urls))
    limits = httpx.Limits(max_connections=per_process, max_keepalive_connections=per_process)
    pools = [
        httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) for url in urls
    ]
    samples = Samples()
    measuring, done = asyncio.Event(), asyncio.Event()
    try:
        tasks = [
            asyncio.create_task(_task(pools[i % len(pools)], accounts, i, measuring, done, samples))
            for i in range(clients)
        ]
        await asyncio.sleep(warmup)  # the load runs: warm-up, then the measured window
        client_before = time.process_time()
        servers_before = sum(cpu_seconds(pid) for pid in pids)
        started = time.perf_counter()
        measuring.set()
        await asyncio.sleep(seconds)
        done.set()
        window = time.perf_counter() - started
        client_cpu = time.process_time() - client_before
        server_cpu = sum(cpu_seconds(pid) for pid in pids) - servers_before
        await asyncio.gather(*tasks)
    finally:
        for pool in pools:
            await pool.aclose()
    return LoadFigures(samples, window, client_cpu / window, server_cpu / window)


def drive(
    urls: list[str],
    pids: list[int],
    token: str,
    accounts: list[str],
    *,
    clients: int,
    warmup: float,
    seconds: float,
) -> LoadFigures:
    """Run the read mix against ``urls`` (module docstring) and measure it."""
    return asyncio.run(_drive(urls, pids, token, accounts, clients, warmup, seconds))
