"""``ledger fraud monitor | thresholds | shadow | compare`` end to end on a small booked data set.

The drift test of issue #16: the same simulated payments are booked through two ledgers with
the same promoted model, the second with every payment twelve hours later (a population
whose hours moved, nothing else). ``ledger fraud monitor`` flags ``hour`` as drifting in the
second and not in the first, and every other feature reads as it did in the first.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from adapters.fraud.artifacts import ArtifactStore
from api.cli.main import main
from tests.fraud_support import trained_models  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("restore_logging")

SINCE = ["--since", "2000-01-01T00:00:00"]
DAYS = 2
"""Booked: the simulation's first two days; monitored: the default window, the last 24 h
(the second day, whose hours span the whole day as the training data's do)."""


def first_days(data: Path, days: int) -> int:
    """How many payments the first ``days`` calendar days of ``data`` hold."""
    dates: list[str] = []
    for line in (data / "payments.jsonl").read_text().splitlines():
        dates.append(json.loads(line)["message"]["requestedAt"][:10])
    firsts = sorted(set(dates))[:days]
    return sum(1 for date in dates if date in firsts)


def shifted_copy(data: Path, out: Path, hours: int) -> Path:
    """``data`` with every payment ``hours`` later (same customers, amounts, gaps)."""
    out.mkdir(parents=True)
    shutil.copy(data / "customers.csv", out / "customers.csv")
    lines = []
    for line in (data / "payments.jsonl").read_text().splitlines():
        record = json.loads(line)
        message = record["message"]
        at = datetime.fromisoformat(message["requestedAt"].replace("Z", "+00:00"))
        message["requestedAt"] = (at + timedelta(hours=hours)).isoformat()
        lines.append(json.dumps(record))
    (out / "payments.jsonl").write_text("\n".join(lines) + "\n")
    return out


def booked(models: Path, data: Path, root: Path, limit: int) -> dict[str, str]:
    """A ledger in ``root`` with the session's model promoted and ``data`` booked."""
    env = {"LEDGER_DATA_DIR": str(root)}
    shutil.copytree(models, root / "models")
    version = str(ArtifactStore(root / "models").metas()[0]["version"])
    # training is deterministic: the session's data and rounds give the same version,
    # now registered in this ledger
    trained = str(models.parent / "data")
    assert main(["fraud", "train", "--data", trained, "--rounds", "60"], env) == 0
    assert main(["fraud", "promote", version[:12], "--reason", "champion"], env) == 0
    assert main(["fraud", "book", "--data", str(data), "--limit", str(limit)], env) == 0
    return env


def monitor(env: dict[str, str], out: Path) -> dict:
    assert main(["fraud", "monitor", "--out", str(out)], env) == 0
    return json.loads((out / "monitor.json").read_text())


@pytest.fixture(scope="module")
def runs(trained_models: Path, tmp_path_factory) -> dict:  # noqa: F811
    root = tmp_path_factory.mktemp("monitor")
    data = trained_models.parent / "data"
    later = shifted_copy(data, root / "later-data", hours=12)
    limit = first_days(data, DAYS)
    return {
        "base": booked(trained_models, data, root / "base", limit),
        "later": booked(trained_models, later, root / "later", limit),
        "root": root,
        "data": data,
        "promoted": str(ArtifactStore(trained_models).metas()[0]["version"]),
    }


def test_monitor_flags_exactly_the_feature_whose_population_moved(runs, capsys):
    base = monitor(runs["base"], runs["root"] / "report-base")
    later = monitor(runs["later"], runs["root"] / "report-later")
    assert base["rows"] == later["rows"] > 150
    assert "hour" not in base["drifting"] and "hour" in later["drifting"]
    levels = {f["feature"]: f for f in base["features"]}
    for feature in later["features"]:
        if feature["feature"] != "hour":
            assert feature["level"] == levels[feature["feature"]]["level"], feature
    assert set(later["drifting"]) - set(base["drifting"]) == {"hour"}
    assert later["features"][0]["per_channel"]["SIMULATOR"]  # per channel as well
    for plot in ("features.png", "score.png"):
        assert (runs["root"] / "report-later" / plot).read_bytes()[:4] == b"\x89PNG"
    out = capsys.readouterr().out
    assert "drifting" in out and "hour" in out


def test_thresholds_for_a_capacity_and_a_shadow_challenger_compared(runs, capsys):
    env = runs["base"]
    capsys.readouterr()
    assert main(["fraud", "thresholds", "--cases-per-day", "3", *SINCE], env) == 0
    out = capsys.readouterr().out
    assert "capacity 3/day" in out and "score-based (review score)" in out
    assert main(["fraud", "thresholds"], env) == 2  # no capacity given or configured
    data = str(runs["data"])
    assert main(["fraud", "train", "--data", data, "--rounds", "6"], env) == 0
    store = ArtifactStore(Path(env["LEDGER_DATA_DIR"]) / "models")
    (challenger,) = {str(m["version"]) for m in store.metas()} - {runs["promoted"]}
    assert main(["fraud", "shadow", challenger[:12], "--reason", "try it"], env) == 0
    assert main(["fraud", "models"], env) == 0
    assert f"challenger (shadow): {challenger}" in capsys.readouterr().out
    assert main(["fraud", "compare", *SINCE], env) == 0
    assert "no screening was scored by a challenger" in capsys.readouterr().out
    assert main(["fraud", "shadow", "--stop", "--reason", "done"], env) == 0
    assert main(["fraud", "shadow", "--stop", "--reason", "again"], env) == 1
