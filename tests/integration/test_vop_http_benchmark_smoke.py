"""The VoP-over-HTTP benchmark keeps working: tiny sizes, one ``ledger serve --role vop``
process, real HTTP, every check's event counted (the figures are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_vop_http_benchmark_prints_its_tables() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.vop_http", "--quick", "--processes", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    for text in (
        "command",
        "checks/s",
        "p99 ms",
        "single",
        "bulk",
        "every check's event written",
        "compared with the events' originator ids: equal",
        "cache hits/misses",
        "target (issue #15",
        "closed loop",
    ):
        assert text in result.stdout, text
    # The verdict on the target is printed, never the exit code (tiny sizes miss it anyway).
    assert "PASS" in result.stdout or "FAIL" in result.stdout
    # Every lookup counted, and the preloaded cache answered most of them from memory.
    assert "hits" in result.stdout and "from memory" in result.stdout
