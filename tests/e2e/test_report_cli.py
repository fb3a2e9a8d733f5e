"""``ledger report`` end to end on both backends: the file, its sha256 printed, the same bytes
when produced again for the same T, a parameter error naming the parameter (exit 2), and the
run recorded as an event in the audit trail."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.cli.main import main
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings

pytestmark = pytest.mark.usefixtures("restore_logging")


def test_report_file_hash_rerun_and_audit_event(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--accounts", "6", "--transactions", "60", "--seed", "3"], env) == 0
    as_of = datetime.now(UTC).isoformat()
    today = as_of[:10]
    capsys.readouterr()
    digests = []
    for n, fmt in enumerate(("xlsx", "xlsx", "csv")):
        out = tmp_path / f"j{n}.{fmt}"
        argv = ["report", "journal", "--as-of", as_of, "--format", fmt, "--out", str(out)]
        argv += ["--param", f"from={today}", "--param", f"to={today}"]
        assert main(argv, env) == 0
        printed = capsys.readouterr().out
        digest = re.search(r"sha256 ([0-9a-f]{64})", printed)
        assert (
            digest is not None and digest.group(1) == hashlib.sha256(out.read_bytes()).hexdigest()
        )
        digests.append(digest.group(1))
    assert digests[0] == digests[1] != digests[2]
    assert (tmp_path / "j2.csv").read_text().count("\n") > 10

    bad = ["report", "journal", "--as-of", as_of, "--out", str(tmp_path / "x.csv")]
    assert main([*bad, "--param", "from=2026-13-01", "--param", f"to={today}"], env) == 2
    assert "from: not an ISO 8601 date" in capsys.readouterr().err
    assert main([*bad, "--param", f"from={today}"], env) == 2
    assert "to: is required" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()

    container = bootstrap(Settings.from_env(env))
    try:
        container.projector.catch_up()
        page = container.queries.audit_trail(first=500, contexts={"reports"})
        runs = [view for _, view in page.edges]
    finally:
        container.close()
    assert [run.event_type for run in runs] == ["ReportRun.Produced"] * 3
    assert [run.payload["content_hash"] for run in runs] == digests
    assert runs[0].payload["report"] == "journal"
    assert runs[0].payload["params"] == f"from={today};to={today}"
    assert runs[0].actor.startswith("user:") and runs[0].channel == "CLI"
