"""The authentication benchmark keeps working (tiny sizes; the figures are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_auth_benchmark_prints_its_table() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.auth", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for row in ("verify ES256 token", "verify RS256 token", "p99 ms", "command"):
        assert row in result.stdout
