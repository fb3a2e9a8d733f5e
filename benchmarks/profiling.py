"""``python -m benchmarks.profiling --out FILE -- serve --role ingestion``: a role process
(``python -m api.cli ARGS``) with a sampling profiler inside, switched by signals.

Why a sampler of our own: py-spy is not installed (and nothing may be installed here), and
cProfile only sees the thread that enabled it, while a role process does its work in
worker threads (the STOMP consumer, the outbox) and slows every Python call it traces. This
sampler reads every thread's stack with :func:`sys._current_frames` every ``--interval-ms``
from a thread of its own: it counts where each thread *is* (CPU or waiting on a socket),
costs nothing between samples and changes no code path of the process.

Each sample is weighted by the wall time since the previous one. The sampler needs the GIL
to look: while a thread waits in C (a socket read) it looks every interval, while a thread
runs Python it looks only when the interpreter hands the GIL over (every 5 ms by default).
Counting samples would over-weight waiting five times; weighting by the time between looks
gives each place the wall time it stood for.

The driver (:mod:`benchmarks.profile_ingestion`) sends ``SIGUSR1`` when the measured window
starts (the process ready, the queue full) and ``SIGUSR2`` when it ends; on ``SIGUSR2`` the
samples and each thread's CPU time over the window (``/proc/self/task/TID/stat``) are written
to ``--out`` as JSON, read by :func:`load`. Only this benchmark uses it: nothing in the
product imports it.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import signal
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROJECT_PACKAGES = ("adapters/", "application/", "api/", "domain/", "projections/")


def frame_key(frame: FrameType) -> str:
    """``path:first_line(function)``, the path relative to the project or site-packages."""
    code = frame.f_code
    path = code.co_filename
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif path.startswith(str(ROOT)):
        path = path[len(str(ROOT)) + 1 :]
    else:
        path = path.rsplit("/lib/python", 1)[-1]
    return f"{path}:{code.co_firstlineno}({code.co_name})"


def thread_cpu_s(native_id: int) -> float:
    """User + system CPU seconds of one thread of this process (Linux)."""
    try:
        fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process of this host (a PostgreSQL backend too; 0 when
    ``/proc`` does not have it, e.g. a database on another host)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass
class ThreadSamples:
    """What the sampler saw of one thread: per function, the wall seconds spent in it
    (``own``) and under it (``cumulative``); ``seconds`` in all, ``samples`` taken."""

    name: str
    samples: int = 0
    seconds: float = 0.0
    own: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    cumulative: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    origin: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Per line of the project's own code (the innermost project frame, ``key@line``): the
    wall time spent at it or in the libraries it called, to tell which call is costly."""
    cpu_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "samples": self.samples,
            "seconds": self.seconds,
            "cpu_s": self.cpu_s,
            "own": dict(self.own),
            "cumulative": dict(self.cumulative),
            "origin": dict(self.origin),
        }


class Sampler:
    """Samples every thread but its own between :meth:`start` and :meth:`stop`."""

    def __init__(self, out: Path, interval_s: float) -> None:
        self.out = out
        self.interval_s = interval_s
        self.active = threading.Event()
        self.threads: dict[int, ThreadSamples] = {}
        self.cpu_at_start: dict[int, float] = {}
        self.started_at = 0.0
        self.lock = threading.Lock()

    def start(self) -> None:
        with self.lock:
            self.threads.clear()
            self.cpu_at_start = {
                t.native_id: thread_cpu_s(t.native_id)
                for t in threading.enumerate()
                if t.native_id is not None
            }
            self.started_at = time.perf_counter()
            self.active.set()

    def stop(self) -> None:
        with self.lock:
            self.active.clear()
            elapsed = time.perf_counter() - self.started_at
            natives = {t.ident: t.native_id for t in threading.enumerate()}
            for ident, samples in self.threads.items():
                native = natives.get(ident)
                if native is not None:
                    samples.cpu_s = thread_cpu_s(native) - self.cpu_at_start.get(native, 0.0)
            report = {
                "elapsed_s": elapsed,
                "interval_s": self.interval_s,
                "threads": [samples.to_json() for samples in self.threads.values()],
            }
        self.out.write_text(json.dumps(report))

    def run(self) -> None:
        me = threading.get_ident()
        last = time.perf_counter()
        while True:
            time.sleep(self.interval_s)
            if not self.active.is_set():
                last = time.perf_counter()
                continue
            names = {t.ident: t.name for t in threading.enumerate()}
            with self.lock:
                if not self.active.is_set():
                    continue
                now = time.perf_counter()
                weight, last = now - max(last, self.started_at), now
                for ident, frame in sys._current_frames().items():
                    if ident == me:
                        continue
                    samples = self.threads.setdefault(
                        ident, ThreadSamples(names.get(ident, str(ident)))
                    )
                    samples.samples += 1
                    samples.seconds += weight
                    samples.own[frame_key(frame)] += weight
                    seen: set[str] = set()
                    origin: str | None = None
                    walker: FrameType | None = frame
                    while walker is not None:
                        key = frame_key(walker)
                        seen.add(key)
                        if origin is None and key.startswith(PROJECT_PACKAGES):
                            origin = f"{key}@{walker.f_lineno}"
                        walker = walker.f_back
                    samples.origin[origin or "(no project frame)"] += weight
                    for key in seen:
                        samples.cumulative[key] += weight


def load(path: Path) -> dict[str, Any]:
    """The JSON a sampler wrote (``elapsed_s``, ``interval_s``, ``threads``)."""
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profiling", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="JSON written on SIGUSR2")
    parser.add_argument("--interval-ms", type=float, default=1.0)
    parser.add_argument("args", nargs=argparse.REMAINDER, help="-- then the ledger arguments")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    ledger_args = args.args[1:] if args.args[:1] == ["--"] else args.args
    sampler = Sampler(args.out, args.interval_ms / 1000)
    threading.Thread(target=sampler.run, name="sampler", daemon=True).start()
    signal.signal(signal.SIGUSR1, lambda *_: sampler.start())
    signal.signal(signal.SIGUSR2, lambda *_: sampler.stop())
    sys.argv = ["ledger", *ledger_args]
    runpy.run_module("api.cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
