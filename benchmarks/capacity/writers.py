"""Writers: processes that insert payment-shaped batches through the timed recorder.

Each writer is a process of its own (no GIL shared with the others, as ingestion replicas
are), with a one-connection recorder (one PostgreSQL backend). It builds its batches before
the clock starts, waits for the others at a barrier, then inserts for ``seconds`` and
reports what it did: payments, every batch's :class:`~.recorder.BatchTiming`, its own CPU
and its backend's CPU (``/proc``: same host). Writers of a run share one table
(``shared``: one lock) or have one each in their own schema (``separate``: a lock each, as
per-partition event tables would).
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass, field
from multiprocessing.synchronize import Barrier
from pathlib import Path

from benchmarks.capacity.payments import Template, batch
from benchmarks.capacity.recorder import BatchTiming, timed_recorder
from benchmarks.profiling import CLOCK_TICKS, process_cpu_s

PREBUILT_BATCHES = 40
"""Batches built before the clock starts; later ones are built as the writer goes."""
WARM_UP_BATCHES = 2


@dataclass(frozen=True)
class WriterSpec:
    url: str
    schema: str
    payments_per_batch: int
    rows_per_payment: float
    seconds: float
    variant: str = "production"
    """Which insert path (:data:`~.recorder.RECORDERS`)."""


@dataclass
class WriterResult:
    payments: int = 0
    elapsed_s: float = 0.0
    cpu_s: float = 0.0
    """The writer process's CPU (encoding the batches, psycopg, the driver)."""
    backend_cpu_s: float = 0.0
    """Its PostgreSQL backend's CPU (the INSERTs, index updates, COMMIT)."""
    idle_s: float = 0.0
    """Idle CPU seconds of the whole machine over the run (all cores, ``/proc/stat``)."""
    timings: list[BatchTiming] = field(default_factory=list)


def machine_idle_s() -> float:
    """Idle + iowait CPU seconds of all cores since boot (``/proc/stat``)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return 0.0
    return (int(fields[4]) + int(fields[5])) / CLOCK_TICKS


def _write(spec: WriterSpec, templates: list[Template], barrier: Barrier, out: object) -> None:
    """One writer process (module docstring); its :class:`WriterResult` goes to ``out``."""
    recorder = timed_recorder(spec.url, spec.schema, variant=spec.variant)
    pid = recorder.backend_pid()
    prebuilt = [
        batch(templates, spec.payments_per_batch, spec.rows_per_payment)
        for _ in range(PREBUILT_BATCHES)
    ]
    for _ in range(WARM_UP_BATCHES):  # connection, prepared statements, caches: not measured
        recorder.insert_events(batch(templates, spec.payments_per_batch, spec.rows_per_payment))
    recorder.timings.clear()
    barrier.wait()
    result = WriterResult()
    cpu, backend, idle = time.process_time(), process_cpu_s(pid), machine_idle_s()
    started = time.perf_counter()
    n = 0
    while time.perf_counter() - started < spec.seconds:
        events = (
            prebuilt[n]
            if n < PREBUILT_BATCHES
            else batch(templates, spec.payments_per_batch, spec.rows_per_payment)
        )
        result.timings.append(recorder.timed_insert(events))
        result.payments += spec.payments_per_batch
        n += 1
    result.elapsed_s = time.perf_counter() - started
    result.cpu_s = time.process_time() - cpu
    result.backend_cpu_s = process_cpu_s(pid) - backend
    result.idle_s = machine_idle_s() - idle
    recorder.datastore.close()
    out.put(result)  # type: ignore[attr-defined]


def free_cores(results: list[WriterResult]) -> float:
    """Cores the writers could use: their CPU and their backends', plus what stayed idle
    (the first writer's view of the machine), over the run's wall time. Less than the
    machine's cores when others are busy on it."""
    elapsed = max(r.elapsed_s for r in results)
    used = sum(r.cpu_s + r.backend_cpu_s for r in results)
    return (used + results[0].idle_s) / elapsed


def run_writers(specs: list[WriterSpec], templates: list[Template]) -> list[WriterResult]:
    """Run one process per spec, all started together at a barrier; their results."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(specs))
    out = context.Queue()
    processes = [
        context.Process(target=_write, args=(spec, templates, barrier, out), daemon=True)
        for spec in specs
    ]
    for process in processes:
        process.start()
    results = [out.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(30)
        if process.exitcode != 0:
            raise RuntimeError(f"a writer process exited with {process.exitcode}")
    return results
