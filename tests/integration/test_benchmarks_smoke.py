"""The benchmark command keeps working (tiny sizes; the figures themselves are not checked)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_command_prints_its_table() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--backend", "sqlite"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for row in ("booking, batched", "projection catch-up", "account(asOf) p99", "command"):
        assert row in result.stdout


@pytest.mark.postgres
@pytest.mark.broker
def test_ingestion_benchmark_command_prints_its_table() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.ingestion", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for row in ("burst", "paced", "booked+acked /s", "p99 ms", "command"):
        assert row in result.stdout


@pytest.mark.postgres
def test_two_writers_benchmark_command_prints_its_table() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.two_writers", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for row in ("payments/s", "conflicts/batch", "balances sum to the funding", "command"):
        assert row in result.stdout
