"""``python -m benchmarks.vop_matching [--quick]``: VoP name matching, accuracy and speed.

Accuracy is measured over the labelled pairs of ``tests/vop_pairs.py``: the pinned pairs
and the known misses (nicknames, spelling folds, ...), so it is not 100 % by construction.
Printed per expected outcome (MTCH, CMTC, NMTC, NOAP) and overall, with the confusion of
expected against answered outcomes.

Speed: :func:`domain.vop.match_payee` over the same pairs, repeated, in one process: checks
per second and the p50/p99 time of one check. This is the matching alone (no HTTP, no
directory, no event): the VoP service benchmark over HTTP comes with the responder.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections import Counter

from rich.console import Console
from rich.table import Table

from benchmarks.environment import machine_description
from domain.vop import DEFAULT_THRESHOLDS, Outcome, match_payee
from tests.vop_pairs import KNOWN_MISSES, PAIRS, LabelledPair

OUTCOMES = (Outcome.MATCH, Outcome.CLOSE_MATCH, Outcome.NO_MATCH, Outcome.NOT_APPLICABLE)


def answer(pair: LabelledPair) -> Outcome:
    return match_payee(pair.holder(), pair.requested, pair.requested_id).outcome


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def accuracy_table(pairs: tuple[LabelledPair, ...]) -> Table:
    confusion: Counter[tuple[Outcome, Outcome]] = Counter(
        (pair.expected, answer(pair)) for pair in pairs
    )
    table = Table(title="VoP name matching: accuracy over the labelled pairs")
    table.add_column("labelled")
    table.add_column("pairs", justify="right")
    table.add_column("right", justify="right")
    table.add_column("accuracy", justify="right")
    for outcome in OUTCOMES:
        table.add_column(f"got {outcome.value}", justify="right")
    for expected in OUTCOMES:
        total = sum(confusion[(expected, got)] for got in OUTCOMES)
        right = confusion[(expected, expected)]
        table.add_row(
            expected.value,
            str(total),
            str(right),
            f"{right / total:.1%}" if total else "-",
            *(str(confusion[(expected, got)]) for got in OUTCOMES),
        )
    right = sum(confusion[(o, o)] for o in OUTCOMES)
    table.add_row("overall", str(len(pairs)), str(right), f"{right / len(pairs):.1%}")
    return table


def speed_table(pairs: tuple[LabelledPair, ...], repeat: int) -> Table:
    prepared = [(pair.holder(), pair.requested, pair.requested_id) for pair in pairs]
    for holder, name, identifier in prepared:
        match_payee(holder, name, identifier)  # warm up
    samples: list[float] = []
    started = time.perf_counter()
    for _ in range(repeat):
        for holder, name, identifier in prepared:
            began = time.perf_counter()
            match_payee(holder, name, identifier)
            samples.append(time.perf_counter() - began)
    elapsed = time.perf_counter() - started
    table = Table(title="VoP name matching: speed (one process, one core)")
    table.add_column("measure")
    table.add_column("figure", justify="right")
    table.add_column("unit")
    table.add_column("note")
    table.add_row(
        "checks per second",
        f"{len(samples) / elapsed:,.0f}",
        "checks/s",
        f"{len(samples):,} checks: {len(pairs)} pairs x {repeat}",
    )
    table.add_row("check p50", f"{percentile(samples, 50) * 1e6:,.0f}", "us", "")
    table.add_row("check p99", f"{percentile(samples, 99) * 1e6:,.0f}", "us", "")
    return table


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m benchmarks.vop_matching", description=__doc__)
    parser.add_argument("--repeat", type=int, default=200, help="passes over the pairs, timed")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks it runs")
    args = parser.parse_args(args_list)
    repeat = 2 if args.quick else args.repeat
    console = Console(width=max(Console().width, 100))  # the accuracy table is 90 wide
    started = time.perf_counter()
    pairs = PAIRS + KNOWN_MISSES
    accuracy = accuracy_table(pairs)
    speed = speed_table(pairs, repeat)
    machine = Table(title="Machine", show_header=False)
    for key, value in machine_description():
        machine.add_row(key, value)
    machine.add_row("command", "python -m benchmarks.vop_matching " + shlex.join(args_list))
    machine.add_row(
        "thresholds",
        f"match {DEFAULT_THRESHOLDS.match:g}, close match {DEFAULT_THRESHOLDS.close_match:g}",
    )
    machine.add_row("pairs", f"{len(PAIRS)} pinned by the tests + {len(KNOWN_MISSES)} known misses")
    machine.add_row("wall time", f"{time.perf_counter() - started:.0f} s")
    console.print(machine)
    console.print(accuracy)
    console.print(speed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
