"""``ledger fraud simulate | train | evaluate`` end to end on small data of two seeds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from adapters.fraud.artifacts import ArtifactError, ArtifactStore, model_version
from adapters.fraud.simulation import TYPOLOGIES
from api.cli.main import main

pytestmark = pytest.mark.usefixtures("restore_logging")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fraud")
    env = {"LEDGER_DATA_DIR": str(root / "var")}
    for seed in (11, 12):
        argv = [
            "fraud",
            "simulate",
            "--seed",
            str(seed),
            "--out",
            str(root / f"s{seed}"),
            "--customers",
            "240",
            "--days",
            "14",
        ]
        assert main(argv, env) == 0
    assert main(["fraud", "train", "--data", str(root / "s11")], env) == 0
    configured = {**env, "LEDGER_FRAUD_REVIEW_SCORE": "0.4", "LEDGER_FRAUD_DECLINE_SCORE": "0.8"}
    evaluate = ["fraud", "evaluate", "--data", str(root / "s12"), "--model", "newest"]
    assert main(evaluate, configured) == 0
    return {"root": root, "models": root / "var" / "models", "eval": root / "s12" / "evaluation"}


def test_simulation_is_labelled_with_every_typology_and_deterministic(trained, tmp_path):
    summary = json.loads((trained["root"] / "s11" / "summary.json").read_text())
    assert set(summary["typologies"]) == {"legit", *TYPOLOGIES}
    assert 0 < summary["fraudulent"] < summary["payments"] / 5
    argv = [
        "fraud",
        "simulate",
        "--seed",
        "11",
        "--out",
        str(tmp_path / "again"),
        "--customers",
        "240",
        "--days",
        "14",
    ]
    assert main(argv, {"LEDGER_DATA_DIR": str(tmp_path)}) == 0
    first = (trained["root"] / "s11" / "payments.jsonl").read_bytes()
    assert (tmp_path / "again" / "payments.jsonl").read_bytes() == first


def test_train_stores_a_versioned_artifact(trained):
    store = ArtifactStore(trained["models"])
    (meta,) = store.metas()
    artifact = store.load(meta["version"])
    assert artifact.version == model_version(artifact.model_text)
    assert meta["features"] and meta["data"]["rows"] > 0 and meta["data"]["from"]
    assert "validation_last_fifth" in meta["metrics"]


def test_an_altered_artifact_is_refused(trained, tmp_path):
    store = ArtifactStore(trained["models"])
    version = store.metas()[0]["version"]
    copy = tmp_path / version
    shutil.copytree(trained["models"] / version, copy)
    (copy / "model.txt").write_text(store.load(version).model_text.replace("tree", "tre", 1))
    with pytest.raises(ArtifactError):
        ArtifactStore(tmp_path).load(version)


def test_evaluation_on_another_seed_beats_the_rules_baseline(trained):
    report = json.loads((trained["eval"] / "evaluation.json").read_text())
    assert report["model"]["roc_auc"] >= 0.95
    assert report["model"]["recall_at_1pct_fpr"] > report["rules_baseline"]["recall_at_1pct_fpr"]
    assert report["thresholds"] == {"review": 0.4, "decline": 0.8}
    assert "model score >= 0.4 (REVIEW or DECLINE)" in report["confusion"]
    assert report["recall_by_typology"]
    for name in ("roc.png", "pr.png"):
        assert (trained["eval"] / name).read_bytes()[:4] == b"\x89PNG"


def test_models_promote_and_rollback_from_the_command_line(trained, capsys):
    env = {"LEDGER_DATA_DIR": str(trained["root"] / "var")}
    version = ArtifactStore(trained["models"]).metas()[0]["version"]
    capsys.readouterr()
    assert main(["fraud", "models"], env) == 0
    listing = capsys.readouterr().out
    assert version[:12] in listing and "registered" in listing and "promoted: none" in listing
    assert main(["fraud", "promote", version[:10], "--reason", "evaluated"], env) == 0
    assert main(["fraud", "models"], env) == 0
    assert f"promoted: {version}" in capsys.readouterr().out
    assert main(["fraud", "rollback", "--reason", "too many reviews"], env) == 0
    assert main(["fraud", "rollback", "--reason", "nothing to roll back"], env) == 1
    assert "nothing to roll back" in capsys.readouterr().err
