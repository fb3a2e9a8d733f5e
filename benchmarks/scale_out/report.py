"""The tables: one row per run, then the targets of issue 14 with PASS/FAIL.

The targets are shown, not asserted (the command fails only on a failed check): today's
design is expected to miss the scale-out ratio, and the table says by how much.
"""

from __future__ import annotations

from rich.table import Table

from benchmarks.pgbench import PgbenchResult
from benchmarks.scale_out.drain import RunFigures

SINGLE_FLOOR = 1_250.0
"""Payments/s one process must keep (issue 14: "not slower than today" on this machine)."""
SCALE_TARGET = 1.4
"""Two processes over one, per mix (issue 14: ~1.5x is a 2-core machine's ceiling)."""


def _verdict(ok: bool) -> str:
    return "[green]PASS[/green]" if ok else "[red]FAIL[/red]"


def render_runs(runs: list[RunFigures]) -> Table:
    table = Table(
        title="Scale-out: ingestion processes draining a pre-loaded queue into PostgreSQL"
    )
    columns = (
        ("mix", "left"),
        ("processes", "right"),
        ("messages", "right"),
        ("drained /s", "right"),
        ("/s once all ready", "right"),
        ("start → ready s", "right"),
        ("booked per process", "right"),
        ("retried batches", "right"),
        ("rolled-back event rows", "right"),
        ("exactly once", "left"),
        ("conservation", "left"),
    )
    for name, justify in columns:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for run in runs:
        table.add_row(
            run.mix,
            str(run.processes),
            f"{run.messages:,}",
            f"{run.rate:,.0f}",
            f"{run.rate_all_ready:,.0f}" if run.rate_all_ready is not None else "-",
            " / ".join(f"{s:.1f}" for s in run.startup_s),
            " / ".join(f"{n:,}" for n in run.shares),
            f"{run.retried_batches:,}",
            f"{run.rolled_back_rows:,} of {run.event_rows + run.rolled_back_rows:,}",
            _verdict(run.exactly_once.passed),
            _verdict(run.conservation.passed),
        )
    return table


def render_checks(runs: list[RunFigures]) -> Table:
    """What each run's checks found (the reason, when one failed)."""
    table = Table(title="End-of-run checks")
    for name in ("run", "exactly once", "conservation"):
        table.add_column(name)
    for run in runs:
        table.add_row(
            f"{run.mix} x{run.processes}",
            f"{_verdict(run.exactly_once.passed)} {run.exactly_once.detail}",
            f"{_verdict(run.conservation.passed)} {run.conservation.detail}",
        )
    return table


def render_targets(runs: list[RunFigures], pgbench: list[PgbenchResult]) -> Table:
    table = Table(title="Issue 14 targets (shown, not asserted)")
    for name, justify in (
        ("measure", "left"),
        ("figure", "right"),
        ("target", "left"),
        ("", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    by_key = {(run.mix, run.processes): run for run in runs}
    for mix in dict.fromkeys(run.mix for run in runs):
        single = by_key.get((mix, 1))
        if single is not None:
            table.add_row(
                f"{mix}: 1 process",
                f"{single.rate:,.0f}/s",
                f">= {SINGLE_FLOOR:,.0f}/s",
                _verdict(single.rate >= SINGLE_FLOOR),
            )
        for (other_mix, n), run in sorted(by_key.items()):
            if other_mix != mix or n == 1 or single is None:
                continue
            ratio = run.rate / single.rate
            target = SCALE_TARGET if n == 2 else None
            table.add_row(
                f"{mix}: {n} processes / 1",
                f"{ratio:.2f}x ({run.rate:,.0f}/s)",
                f">= {target}x" if target else "(no target)",
                _verdict(ratio >= target) if target else "",
            )
    table.add_row(
        "exactly once, every run",
        f"{sum(r.exactly_once.passed for r in runs)}/{len(runs)}",
        "all",
        _verdict(all(r.exactly_once.passed for r in runs)),
    )
    table.add_row(
        "conservation, every run",
        f"{sum(r.conservation.passed for r in runs)}/{len(runs)}",
        "all (trial balance 0)",
        _verdict(all(r.conservation.passed for r in runs)),
    )
    for result in pgbench:
        table.add_row(
            f"pgbench tpcb-like, {result.clients} client(s)",
            f"{result.tps:,.0f} TPS",
            f"latency avg {result.latency_ms:.2f} ms",
            "",
        )
    return table
