"""The fraud simulator: deterministic per seed and profile, profiles that differ, records that
say their direction, kind and typology."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from adapters.fraud.simulation import PROFILES, TYPOLOGIES, profile, simulate

pytestmark = pytest.mark.unit

SMALL = {"customers": 100, "days": 10}


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "payments.jsonl").read_text().splitlines()]


def customers(out: Path) -> list[dict[str, str]]:
    with (out / "customers.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_same_seed_and_profile_give_the_same_data_set(tmp_path: Path) -> None:
    simulate(4, tmp_path / "a", **SMALL)
    simulate(4, tmp_path / "b", **SMALL)
    simulate(5, tmp_path / "c", **SMALL)
    for name in ("payments.jsonl", "customers.csv", "summary.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "payments.jsonl").read_bytes() != (
        tmp_path / "c" / "payments.jsonl"
    ).read_bytes()


def test_profiles_differ_in_countries_segments_amounts_and_time(tmp_path: Path) -> None:
    default = simulate(4, tmp_path / "default", **SMALL, profile=PROFILES["default"])
    alt = simulate(4, tmp_path / "alt", **SMALL, profile=profile("alt"))
    assert (default["profile"], alt["profile"]) == ("default", "alt")
    assert default["from"][:7] != alt["from"][:7]
    homes = {name: Counter(c["iban"][:2] for c in customers(tmp_path / name)) for name in PROFILES}
    assert set(homes["default"]) <= set(PROFILES["default"].home_countries)
    assert set(homes["alt"]) <= set(PROFILES["alt"].home_countries)
    assert not set(homes["default"]) & set(homes["alt"])
    shares = {
        name: summary["segments"]["business"] / summary["customers"]
        for name, summary in (("default", default), ("alt", alt))
    }
    assert shares["alt"] > shares["default"]
    with pytest.raises(ValueError, match="unknown 'nope'"):
        profile("nope")


def test_records_carry_label_typology_direction_and_kind(tmp_path: Path) -> None:
    summary = simulate(6, tmp_path, customers=90, days=28)  # payroll and salaries: month end
    rows = records(tmp_path)
    ours = {c["iban"] for c in customers(tmp_path)}
    assert set(summary["typologies"]) == {"legit", *TYPOLOGIES}
    times = [datetime.fromisoformat(r["message"]["requestedAt"]) for r in rows]
    assert times == sorted(times)
    for row in rows:
        debtor, creditor = row["message"]["debtor"]["iban"], row["message"]["creditor"]["iban"]
        assert row["direction"] == ("outgoing" if debtor in ours else "incoming")
        if row["direction"] == "incoming":
            assert creditor in ours
        assert (row["label"] == 1) == (row["typology"] != "legit") == (row["kind"] == "fraud")
        assert row.get("payeeCheck", "MTCH") in {"MTCH", "CMTC", "NMTC", "NOAP"}
    kinds = Counter(r["kind"] for r in rows)
    for kind in ("standing_order", "payroll", "bulk", "salary", "everyday"):
        assert kinds[kind] > 0, kind
    incoming_fraud = [r for r in rows if r["direction"] == "incoming" and r["label"] == 1]
    assert {r["typology"] for r in incoming_fraud} == {"mule_chain"}
    standing = [r for r in rows if r["kind"] == "standing_order"]
    assert all(r["message"]["metadata"] == {} and "payeeCheck" not in r for r in standing)
