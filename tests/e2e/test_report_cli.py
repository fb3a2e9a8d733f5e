"""``ledger report`` end to end on both backends: the file, its sha256 printed, the same bytes
when produced again for the same T, a parameter error naming the parameter (exit 2), and the
run recorded as an event in the audit trail."""

from __future__ import annotations

import csv
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


def test_access_review_as_of_a_past_instant_is_the_same_after_more_changes(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Who held which role at T (from the identity events), then the period's changes and
    decisions; produced again after a role change, as of the same T, the same bytes."""
    assert main(["demo", "--accounts", "4", "--transactions", "20", "--seed", "5"], env) == 0
    as_of = datetime.now(UTC).isoformat()
    today = as_of[:10]
    argv = ["report", "access_review", "--as-of", as_of, "--param", f"from={today}"]
    argv += ["--param", f"to={today}", "--format", "csv"]
    assert main([*argv, "--out", str(tmp_path / "a.csv")], env) == 0
    rows = list(csv.DictReader((tmp_path / "a.csv").open(newline="")))
    held = {(r["user"], r["role"]) for r in rows if r["section"] == "holding"}
    assert {("alice", "admin"), ("bob", "admin"), ("olga", "operator")} <= held
    events = {r["event"] for r in rows if r["section"] == "change"}
    assert {"BackofficeUser.RoleGranted", "ChangeRequest.Approved"} <= events

    grant = ["users", "bootstrap", "--user", "zed", "--roles", "admin", "--force"]
    assert main(grant, env) == 0
    assert main([*argv, "--out", str(tmp_path / "b.csv")], env) == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    later = datetime.now(UTC).isoformat()
    assert main([*argv[:3], later, *argv[4:], "--out", str(tmp_path / "c.csv")], env) == 0
    assert "zed,admin" in (tmp_path / "c.csv").read_text()
    capsys.readouterr()
