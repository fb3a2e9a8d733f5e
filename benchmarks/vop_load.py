"""The client side of ``python -m benchmarks.vop_http``: VoP requests over keep-alive HTTP/1.1.

The load generator shares the machine's cores with the processes it measures, so it is kept
cheap: one asyncio loop (uvloop when installed), ``connections`` plain TCP connections spread
evenly over the processes, each sending one request after the other (keep-alive, no
pipelining) built from pre-encoded bodies: only the request id (a fresh UUID, so every
request is a new check) and the timestamp are formatted per request, and the answer is read
by its ``Content-Length`` without parsing the JSON (the status line decides: 200 is an
answer, anything else an error). Latency is from writing the request to the end of the body.

Requests answered during the warm-up are not measured but counted as answered checks (every
answered check must have its event, whatever the window); the ``vopCheckId`` of every answer is
kept (found in the body by a regular expression, still without parsing it) to be compared with
the event store.

By default the load is **closed-loop**: a connection sends its next request when the answer to
the last one arrived, so the rate measured is the processes' saturation throughput, and the
latency the latency at that saturation (not at a fixed offered rate). With ``rate`` it is
**open-loop**: the requests are due at that rate in all (each connection its share, evenly
spaced), and a request's latency runs from when it was due, not from when it was sent, so
waiting behind a slow answer counts (no coordinated omission); connections must be enough to
carry the rate.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

TICKS = 100
CHECK_ID = re.compile(rb'"vopCheckId"\s*:\s*"([0-9a-fA-F-]{36})"')


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far (Linux)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Window:
    """What one load window measured."""

    latencies_ms: list[float] = field(default_factory=list)
    """Of the requests answered inside the measured window."""
    checks_measured: int = 0
    checks_answered: int = 0
    """Every check answered with 200, warm-up included (each must have its event)."""
    check_ids: list[bytes] = field(default_factory=list)
    """The ``vopCheckId`` of every check answered, warm-up included."""
    errors: int = 0
    first_error: str | None = None
    seconds: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0

    def error(self, what: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = what[:300]

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def check_rate(self) -> float:
        return self.checks_measured / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Requests:
    """How to make the requests of one kind: its path, its bodies, checks per request."""

    path: str
    bodies: Sequence[bytes]
    checks: int
    token: str

    def maker(self) -> Callable[[int], bytes]:
        return _Maker(self)


class _Maker:
    """Request ``n``: the ``n``-th body (cycling), a fresh request id, the current time."""

    def __init__(self, requests: Requests) -> None:
        self.head = (
            f"POST {requests.path} HTTP/1.1\r\nHost: bench\r\n"
            f"Authorization: Bearer {requests.token}\r\nContent-Type: application/json\r\n"
        ).encode()
        self.bodies = [
            (body, f"Content-Length: {len(body)}\r\n".encode()) for body in requests.bodies
        ]
        self.stamped_at = 0.0
        self.stamp = b""

    def __call__(self, n: int) -> bytes:
        now = time.time()
        if now - self.stamped_at > 0.5:  # the timestamp header changes twice a second
            at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            self.stamped_at, self.stamp = now, f"X-Request-Timestamp: {at}\r\n".encode()
        body, length = self.bodies[n % len(self.bodies)]
        rid = f"X-Request-ID: {uuid.uuid4()}\r\n\r\n".encode()
        return b"".join((self.head, length, self.stamp, rid, body))


async def _connection(
    host: str,
    port: int,
    make: Callable[[int], bytes],
    start: int,
    checks: int,
    measuring: asyncio.Event,
    done: asyncio.Event,
    window: Window,
    schedule: tuple[float, float] | None = None,
) -> None:
    """``schedule``: ``(first, interval)``, the perf_counter time the first request is due and
    the seconds between two (open loop); None: each request as soon as the last is answered."""
    reader, writer = await asyncio.open_connection(host, port)
    n = start
    sent = 0
    try:
        while not done.is_set():
            request = make(n)
            n += 1
            began = time.perf_counter()
            if schedule is not None:
                due = schedule[0] + sent * schedule[1]
                sent += 1
                if due > began:
                    await asyncio.sleep(due - began)
                    if done.is_set():
                        break
                began = due  # the latency counts from when it was due
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            lower = head.lower()
            at = lower.find(b"content-length:")
            length = int(lower[at + 15 : lower.find(b"\r\n", at)]) if at >= 0 else 0
            body = await reader.readexactly(length) if length else b""
            elapsed = (time.perf_counter() - began) * 1000
            status = int(head[9:12])
            if status != 200:
                window.error(f"{status} {body[:300]!r}")
                continue
            window.checks_answered += checks
            window.check_ids.extend(CHECK_ID.findall(body))
            if measuring.is_set() and not done.is_set():
                window.latencies_ms.append(elapsed)
                window.checks_measured += checks
    finally:
        writer.close()


async def _drive(
    ports: Sequence[int],
    pids: Sequence[int],
    requests: Requests,
    connections: int,
    warmup: float,
    seconds: float,
    rate: float | None,
) -> Window:
    window = Window()
    measuring, done = asyncio.Event(), asyncio.Event()
    make = requests.maker()
    spacing = max(1, len(requests.bodies) // max(1, connections))
    first = time.perf_counter() + 0.05
    interval = connections / rate if rate else 0.0
    tasks = [
        asyncio.create_task(
            _connection(
                "127.0.0.1",
                ports[i % len(ports)],
                make,
                i * spacing,
                requests.checks,
                measuring,
                done,
                window,
                (first + i * interval / connections, interval) if rate else None,
            )
        )
        for i in range(connections)
    ]
    await asyncio.sleep(warmup)
    client_before = time.process_time()
    servers_before = sum(cpu_seconds(pid) for pid in pids)
    started = time.perf_counter()
    measuring.set()
    await asyncio.sleep(seconds)
    done.set()
    window.seconds = time.perf_counter() - started
    window.client_cpu = (time.process_time() - client_before) / window.seconds
    window.server_cpu = (sum(cpu_seconds(pid) for pid in pids) - servers_before) / window.seconds
    for outcome in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(outcome, BaseException):
            window.error(f"connection failed: {outcome!r}")
    return window


def drive(
    ports: Sequence[int],
    pids: Sequence[int],
    requests: Requests,
    *,
    connections: int,
    warmup: float,
    seconds: float,
    rate: float | None = None,
) -> Window:
    """Load the processes listening on ``ports`` for ``warmup`` then ``seconds``; closed loop,
    or open loop at ``rate`` requests/s in all."""
    work = _drive(ports, pids, requests, connections, warmup, seconds, rate)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.run(work)
    return uvloop.run(work)
