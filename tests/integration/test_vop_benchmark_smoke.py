"""The VoP matching benchmark keeps working (tiny sizes; the figures are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_vop_matching_benchmark_prints_its_tables() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.vop_matching", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for row in ("overall", "accuracy", "checks per second", "command", "thresholds"):
        assert row in result.stdout
