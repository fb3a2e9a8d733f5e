"""``ledger fraud evaluate`` (promoted model, time order, outgoing only, --warm) and
``ledger fraud book`` (bad records skipped, rejections split by reason), on small data."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from adapters.fraud.artifacts import ArtifactStore
from api.cli.main import main
from tests.builders import iban

pytestmark = pytest.mark.usefixtures("restore_logging")

SMALL = ["--customers", "40", "--days", "5"]


def simulate(seed: int, out: Path, env: dict[str, str]) -> Path:
    assert main(["fraud", "simulate", "--seed", str(seed), "--out", str(out), *SMALL], env) == 0
    return out


def lines_of(data: Path) -> list[str]:
    return (data / "payments.jsonl").read_text(encoding="utf-8").splitlines()


def derived(source: Path, target: Path, lines: list[str]) -> Path:
    """A data set with ``lines`` as its payments and ``source``'s customers."""
    target.mkdir(parents=True)
    shutil.copy(source / "customers.csv", target / "customers.csv")
    (target / "payments.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Two models (A older, B newest), A promoted; and a data set to evaluate on."""
    root = tmp_path_factory.mktemp("fraud-eval")
    env = {"LEDGER_DATA_DIR": str(root / "var")}
    for seed, name in ((31, "a"), (32, "b")):
        data = simulate(seed, root / name, env)
        assert main(["fraud", "train", "--data", str(data), "--rounds", "30"], env) == 0
    older, newest = (str(m["version"]) for m in ArtifactStore(root / "var" / "models").metas())
    evaluated = simulate(33, root / "eval", env)
    # nothing promoted yet: no silent fallback to the newest artifact
    assert main(["fraud", "evaluate", "--data", str(evaluated)], env) == 2
    assert main(["fraud", "promote", older[:12], "--reason", "test"], env) == 0
    return {"root": root, "env": env, "older": older, "newest": newest, "eval": evaluated}


def evaluate(models, data: Path, *extra: str) -> tuple[int, dict]:
    out = data.parent / f"{data.name}-report"
    argv = ["fraud", "evaluate", "--data", str(data), "--out", str(out), *extra]
    code = main(argv, models["env"])
    report = out / "evaluation.json"
    return code, json.loads(report.read_text()) if report.exists() else {}


def test_without_a_promoted_model_evaluate_refuses(tmp_path, capsys):
    data = simulate(35, tmp_path / "d", {"LEDGER_DATA_DIR": str(tmp_path / "var")})
    capsys.readouterr()
    assert main(["fraud", "evaluate", "--data", str(data)], {"LEDGER_DATA_DIR": str(tmp_path)}) == 2
    assert "no model is promoted" in capsys.readouterr().err


def test_evaluate_uses_the_promoted_model_unless_one_is_named(models, capsys):
    assert models["older"] != models["newest"]
    code, report = evaluate(models, models["eval"], "--review", "0.3", "--decline", "0.7")
    assert code == 0 and report["model_version"] == models["older"]
    assert f"model {models['older']} (promoted)" in capsys.readouterr().out
    code, report = evaluate(models, models["eval"], "--model", models["newest"][:10])
    assert code == 0 and report["model_version"] == models["newest"]
    code, report = evaluate(models, models["eval"], "--model", "newest")
    assert code == 0 and report["model_version"] == models["newest"]


def test_operating_points_are_those_of_the_thresholds(models):
    code, report = evaluate(models, models["eval"], "--review", "0.3", "--decline", "0.7")
    assert code == 0
    points = report["operating_points"]
    assert (points["review"]["threshold"], points["decline"]["threshold"]) == (0.3, 0.7)
    c = report["confusion"]["model score >= 0.3 (REVIEW or DECLINE)"]
    assert points["review"]["fpr"] == round(c["fp"] / (c["fp"] + c["tn"]), 6)
    assert points["review"]["recall"] == round(c["tp"] / (c["tp"] + c["fn"]), 6)
    assert points["decline"]["recall"] <= points["review"]["recall"]
    for name in ("roc", "pr"):
        assert Path(report["plots"][name]).read_bytes()[:4] == b"\x89PNG"


def test_a_data_set_out_of_time_order_is_refused_naming_the_record(models, capsys):
    lines = lines_of(models["eval"])
    ids = [json.loads(line)["message"]["externalId"] for line in lines]
    lines[4], lines[5] = lines[5], lines[4]  # distinct times (sorted, microseconds)
    data = derived(models["eval"], models["root"] / "unordered", lines)
    capsys.readouterr()
    code, report = evaluate(models, data)
    assert code == 1 and report == {}
    err = capsys.readouterr().err
    assert "OutOfOrder" in err and f"line 6 (externalId {ids[4]})" in err


def test_incoming_payments_are_not_scored_and_are_counted(models, capsys):
    records = [json.loads(line) for line in lines_of(models["eval"])]
    for index, record in enumerate(records):
        if index % 7 == 0:
            record["direction"] = "incoming"
        elif index % 7 == 3:  # from another bank: the debtor is not one of our customers
            record["message"]["debtor"]["iban"] = iban("GB")
    # the simulator's own credits from other banks are incoming too
    incoming = sum(
        1 for i, r in enumerate(records) if i % 7 in (0, 3) or r["direction"] == "incoming"
    )
    data = derived(models["eval"], models["root"] / "incoming", [json.dumps(r) for r in records])
    capsys.readouterr()
    code, report = evaluate(models, data)
    assert code == 0
    assert report["evaluated_on"]["incoming_skipped"] == incoming
    assert report["evaluated_on"]["rows"] == len(records) - incoming
    assert f"{incoming} incoming skipped" in capsys.readouterr().out


def test_warm_replays_earlier_history_without_scoring_it(models, capsys):
    lines = lines_of(models["eval"])
    half = len(lines) // 2
    warm = derived(models["eval"], models["root"] / "history", lines[:half])
    data = derived(models["eval"], models["root"] / "later", lines[half:])
    capsys.readouterr()
    code, report = evaluate(models, data, "--warm", str(warm))
    assert code == 0
    assert report["evaluated_on"]["warm"] == {"source": str(warm), "payments": half}
    later = [json.loads(line) for line in lines[half:]]
    outgoing = sum(1 for r in later if r.get("direction", "outgoing") == "outgoing")
    assert report["evaluated_on"]["rows"] == outgoing
    assert f"warmed with {half} payments" in capsys.readouterr().out
    # the other way round, the history would come after the data: refused
    code, _ = evaluate(models, warm, "--warm", str(data))
    assert code == 1
    assert "warm history" in capsys.readouterr().err


def test_book_skips_bad_records_and_splits_rejections_by_reason(env, tmp_path, capsys):
    source = simulate(34, tmp_path / "sim", env)
    records = [json.loads(line) for line in lines_of(source)[:80]]
    lines = [json.dumps(r) for r in records]
    bad_amount = json.loads(lines[9])
    bad_amount["message"]["amount"] = "12.3.4"
    lines[9] = json.dumps(bad_amount)
    lines[19] = lines[19][:80]  # cut off mid-record: not JSON
    bad_ids = [records[9]["message"]["externalId"], records[19]["message"]["externalId"]]
    good = [r for i, r in enumerate(records) if i not in (9, 19)]
    # one customer without overdraft (accounts open empty) and one payee on the blocklist
    poor = good[0]["message"]["debtor"]["iban"]
    blocked = next(
        r["message"]["creditor"]["iban"]
        for r in good
        if r["message"]["debtor"]["iban"] != poor
        and all(
            o["message"]["debtor"]["iban"] != poor
            for o in good
            if o["message"]["creditor"]["iban"] == r["message"]["creditor"]["iban"]
        )
    )
    declined = sum(
        1
        for r in good
        if blocked in (r["message"]["creditor"]["iban"], r["message"]["debtor"]["iban"])
    )
    data = derived(source, tmp_path / "book", lines)
    with (data / "customers.csv").open(encoding="utf-8", newline="") as handle:
        customers = list(csv.DictReader(handle))
    for row in customers:
        if row["iban"] == poor:
            row["overdraft_limit"] = "0"
    with (data / "customers.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(customers[0]))
        writer.writeheader()
        writer.writerows(customers)
    capsys.readouterr()
    code = main(["fraud", "book", "--data", str(data)], {**env, "LEDGER_FRAUD_BLOCKLIST": blocked})
    out = capsys.readouterr().out
    assert code == 1  # the run went on, and says it met bad records
    assert f"line 10 (externalId {bad_ids[0]}): amount" in out
    assert f"line 20 (externalId {bad_ids[1]}): not JSON" in out
    assert f"{len(good)} payments booked" in out and "bad records: 2" in out
    header = next(line for line in out.splitlines() if line.startswith("typology"))
    columns = header.split()[1:]
    assert columns[:5] == [
        "POSTED",
        "HELD",
        "SCREENING_DECLINED",
        "INSUFFICIENT_FUNDS",
        "REJECTED_OTHER",
    ]
    rows = {
        line.split()[0]: dict(zip(columns, map(int, line.split()[1:]), strict=True))
        for line in out.splitlines()[out.splitlines().index(header) + 1 :]
        if line and not line.startswith("bad records")
    }
    totals = {c: sum(row[c] for row in rows.values()) for c in columns}
    assert sum(totals.values()) == len(good)
    assert totals["SCREENING_DECLINED"] == declined > 0
    assert totals["INSUFFICIENT_FUNDS"] >= 1
