"""The capacity benchmark keeps working (issue 14, item 2): ``--quick`` on PostgreSQL.

It books real payments through the ledger application, times the event table's lock per
batch with one writer, runs 1 and 2 writer processes on one table and on a table each, and
prints the model's plan. The test checks every table is there with its rows and that the
measured figures are positive; it asserts no timing threshold (figures measure the machine).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

NUMBER = re.compile(r"-?[\d,]+(?:\.\d+)?")


def _cells(output: str, first: str) -> list[list[str]]:
    """The cells of every table row whose first cell is ``first``."""
    rows = []
    for line in output.splitlines():
        if "│" not in line:
            continue
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if cells and cells[0] == first:
            rows.append(cells)
    return rows


def _number(cell: str) -> float:
    match = NUMBER.search(cell)
    assert match, f"no number in {cell!r}"
    return float(match.group().replace(",", ""))


@pytest.mark.timeout(600)
def test_capacity_benchmark_quick_prints_every_table_with_positive_figures() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.capacity", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=580,
        check=False,
        env={**os.environ, "COLUMNS": "250"},
    )
    output = result.stdout
    assert result.returncode == 0, output[-4000:] + result.stderr[-4000:]
    for title in (
        "Machine",
        "What a payment costs the store",
        "One writer alone: the table lock per batch",
        "One writer alone: WAL and CPU per payment",
        "N writers, batches of 200",
        "The model applied to the targets",
        "Saturation: one table, one DB writer",
    ):
        assert title in output, title
    assert "load average" in output and "python -m benchmarks.capacity --quick" in output

    for label in ("rows in ledger_events", "event state (JSON) bytes", "table + index bytes"):
        (row,) = _cells(output, label)
        assert _number(row[1]) > 0, row

    for size in ("50", "200"):
        lock, costs = _cells(output, size)[:2]
        # hold mean, hold p95, encoding, payments/s, both ceilings
        for index in (3, 4, 6, 8, 9, 10):
            assert _number(lock[index]) > 0, (index, lock)
        # WAL of the INSERT, writer CPU
        assert _number(costs[1]) > 0 and _number(costs[4]) > 0, costs

    (arrays,) = _cells(output, "200, typed arrays")  # the proposed insert path, timed alike
    assert _number(arrays[3]) > 0 and _number(arrays[8]) > 0, arrays

    for writers in ("1", "2"):
        runs = _cells(output, writers)
        assert {row[1] for row in runs} == {"one table", "a table each"}, runs
        for row in runs:
            assert _number(row[3]) > 0 and _number(row[4]) > 0, row  # measured, model

    for target in ("10,000", "100,000"):
        (row,) = _cells(output, target)
        assert all(_number(cell) > 0 for cell in row[1:7]), row
