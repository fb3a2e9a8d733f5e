"""The reports benchmark command keeps working (tiny sizes; the figures are not checked)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_reports_benchmark_command_prints_its_table() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.reports", "--quick", "--backend", "sqlite"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for row in ("journal (30 days)", "daily_balances (30 days)", "rows/CPU-s", "command"):
        assert row in result.stdout
