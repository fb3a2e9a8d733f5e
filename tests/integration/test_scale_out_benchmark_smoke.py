"""The scale-out benchmark keeps working (issue 14, item 1): tiny sizes, real role processes.

``--quick`` runs both mixes with 1 and 2 ``ledger serve --role ingestion`` processes on
PostgreSQL and RabbitMQ; every run must end with its exactly-once and conservation checks
passed (the command exits 1 otherwise). The figures and the PASS/FAIL of the throughput
targets are not checked: they measure the machine, not behaviour.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.postgres, pytest.mark.broker, pytest.mark.slow]


def _row(output: str, label: str) -> str:
    rows = [line for line in output.splitlines() if label in line]
    assert len(rows) == 1, f"no single row {label!r} in:\n{output}"
    return rows[0]


@pytest.mark.timeout(600)
def test_scale_out_benchmark_drains_every_run_exactly_once_and_conserved() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale_out", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=580,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    for label in ("exactly once, every run", "conservation, every run"):
        row = _row(result.stdout, label)
        assert "4/4" in row and "PASS" in row, row
    for label in ("internal: 2 processes / 1", "mixed: 2 processes / 1", "pgbench", "command"):
        assert label in result.stdout
