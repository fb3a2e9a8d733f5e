"""``ledger fraud simulate --profile`` and ``ledger fraud holdout`` end to end on small data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli.main import main

pytestmark = [pytest.mark.usefixtures("restore_logging"), pytest.mark.slow]


def test_holdout_trains_without_each_typology_and_scores_another_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"LEDGER_DATA_DIR": str(tmp_path / "var"), "LEDGER_FRAUD_REVIEW_SCORE": "0.4"}
    for seed, name in ((21, "default"), (22, "default"), (23, "alt")):
        argv = ["fraud", "simulate", "--seed", str(seed), "--out", str(tmp_path / f"s{seed}")]
        argv += ["--customers", "150", "--days", "10", "--profile", name]
        assert main(argv, env) == 0
    capsys.readouterr()
    argv = ["fraud", "holdout", "--train", str(tmp_path / "s21"), "--eval", str(tmp_path / "s22")]
    argv += ["--other", str(tmp_path / "s23"), "--out", str(tmp_path / "report"), "--rounds", "60"]
    argv += ["--typology", "invoice_redirection", "--typology", "card_testing"]
    assert main(argv, env) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "report" / "holdout.json").read_text())
    names = [run["run"] for run in report["runs"]]
    assert names == [
        "without invoice_redirection",
        "without card_testing",
        "all typologies",
        "profile default -> alt",
    ]
    assert report["review"] == 0.4
    for run in report["runs"]:
        assert run["fraud"] > 0 and run["legit"] > 0
        assert 0.0 <= run["roc_auc"] <= 1.0 and 0.0 <= run["recall_at_1pct_fpr"] <= 1.0
        assert f"| {run['run']} |" in out
    held = report["legit_held_at_review"]
    assert set(held) == {"default", "alt"}
    assert held["default"]["recurring"]["payments"] > 0
    assert (tmp_path / "report" / "holdout.md").read_text() in out

    argv = ["fraud", "holdout", "--train", str(tmp_path / "s21"), "--eval", str(tmp_path / "s22")]
    assert main([*argv, "--typology", "no_such_thing"], env) == 1
    assert "unknown no_such_thing" in capsys.readouterr().out
