"""The backup and point-in-time restore drill of issue #19 (``scripts/restore-drill.sh``),
slow: a PostgreSQL instance of its own archives its WAL to a local directory, a base backup
is taken, chain heads are exported, an anchored event is tampered with (and the stored chain
recomputed over it); restored to the instant before the incident, ``ledger audit verify
--anchor`` passes; restored past it, it fails naming the anchored link.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPO = Path(__file__).resolve().parents[2]


def test_a_point_in_time_restore_verifies_before_the_incident_and_not_after() -> None:
    drill = subprocess.run(
        [str(REPO / "scripts" / "restore-drill.sh"), "--port", "6575", "--payments", "30"],
        capture_output=True,
        text=True,
        timeout=280,
    )
    output = drill.stdout + drill.stderr
    assert drill.returncode == 0, output
    assert "RESTORE DRILL PASSED" in output, output
    assert "anchor #" in output and "confirmed" in output, output  # the good restore
    assert "BROKEN at #" in output and "(anchor)" in output, output  # the tampered one
