"""The api scale-out benchmark keeps working: tiny sizes, real ``ledger serve --role api``
processes on PostgreSQL.

``--quick`` seeds a schema, starts one and then two api processes and sends them the read mix
(REST and GraphQL with a person's token); the command exits 1 when any request failed or a
process did not become ready. The figures are not checked: they measure the machine, not
behaviour.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.mark.timeout(600)
def test_api_scale_benchmark_answers_every_request_on_one_and_two_processes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.api_scale", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=580,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    rows = [line for line in result.stdout.splitlines() if "│" in line]
    runs = [row.split("│")[2].strip() for row in rows if row.count("│") == 12]
    assert runs == ["1", "2"], result.stdout
    assert "ratio to 1 process" in result.stdout
    assert "command" in result.stdout and "python -m benchmarks.api_scale --quick" in result.stdout
