"""What an evaluation scores: outgoing payments only, in time order, after a warm history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.fraud.evaluation_data import (
    DatasetError,
    OutOfOrder,
    evaluation_set,
    read_checked,
)
from domain.fraud.features import FEATURES
from tests.builders import iban

START = datetime(2026, 9, 1, 8, tzinfo=UTC)
ALICE, BOB, SHOP = iban("DE"), iban("FR"), iban("NL")
OUTSIDER = iban("GB")


def record(
    n: int, debtor: str = ALICE, creditor: str = SHOP, minutes: int | None = None, **extra: object
) -> dict[str, object]:
    at = START + timedelta(minutes=n if minutes is None else minutes)
    return {
        "message": {
            "externalId": f"T-{n}",
            "channel": "SIMULATOR",
            "debtor": {"iban": debtor, "name": "D"},
            "creditor": {"iban": creditor, "name": "C"},
            "amount": "25.00",
            "currency": "EUR",
            "requestedAt": at.isoformat().replace("+00:00", "Z"),
        },
        "label": 0,
        "typology": "legit",
        **extra,
    }


def write(folder: Path, records: list[dict[str, object]], customers: list[str] | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r) for r in records]
    (folder / "payments.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if customers is not None:
        rows = ["iban,holder_name,currency,overdraft_limit"] + [f"{c},X,EUR,0" for c in customers]
        (folder / "customers.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 500), min_size=2, max_size=12))
def test_the_first_record_dated_before_the_one_above_is_named(tmp_path_factory, minutes):
    records = [record(i, minutes=m) for i, m in enumerate(minutes)]
    data = write(tmp_path_factory.mktemp("order"), records, [ALICE])
    descents = [i for i in range(1, len(minutes)) if minutes[i] < minutes[i - 1]]
    if not descents:
        assert len(read_checked(data)) == len(records)
        return
    with pytest.raises(OutOfOrder) as raised:
        read_checked(data)
    first = descents[0]
    assert (raised.value.line, raised.value.external_id) == (first + 1, f"T-{first}")
    assert f"line {first + 1} (externalId T-{first})" in str(raised.value)


def test_a_record_without_a_label_or_with_a_bad_amount_is_named(tmp_path):
    bad_amount = record(1)
    bad_amount["message"]["amount"] = "twelve"  # type: ignore[index]
    data = write(tmp_path / "a", [record(0), bad_amount], [ALICE])
    with pytest.raises(DatasetError, match=r"line 2 \(externalId T-1\): amount"):
        read_checked(data)
    unlabelled = record(1)
    del unlabelled["label"]
    data = write(tmp_path / "b", [record(0), unlabelled], [ALICE])
    with pytest.raises(DatasetError, match=r"line 2 \(externalId T-1\): label"):
        read_checked(data)


def test_only_outgoing_payments_are_scored_and_incoming_ones_still_feed_the_features(tmp_path):
    records = [
        record(0, debtor=OUTSIDER, creditor=ALICE),  # a credit from another bank
        record(1, debtor=BOB, creditor=ALICE, direction="incoming"),  # marked incoming
        record(2, debtor=ALICE, creditor=SHOP),
        record(3, debtor=BOB, creditor=ALICE, direction="outgoing"),
    ]
    chosen = evaluation_set(write(tmp_path / "d", records, [ALICE, BOB]))
    assert chosen.incoming_skipped == 2
    assert chosen.dataset.rows == 2
    assert chosen.ours_from == "customers.csv"
    row = dict(zip(FEATURES, chosen.dataset.x[1], strict=True))
    assert row["first_to_creditor"] == 0  # BOB paid ALICE before, in the incoming record
    without_csv = tmp_path / "e"
    write(without_csv, records, None)
    plain = evaluation_set(without_csv)
    assert (plain.incoming_skipped, plain.ours_from) == (1, "direction field")


def test_a_warm_history_is_replayed_first_and_not_scored(tmp_path):
    warm = write(tmp_path / "warm", [record(i, creditor=SHOP) for i in range(5)], [ALICE])
    data = write(tmp_path / "data", [record(10 + i, creditor=SHOP) for i in range(3)], [ALICE])
    cold = evaluation_set(data)
    warmed = evaluation_set(data, warm)
    assert (warmed.dataset.rows, warmed.warm_payments) == (3, 5)
    first = FEATURES.index("first_to_creditor")
    assert cold.dataset.x[0][first] == 1 and warmed.dataset.x[0][first] == 0


def test_a_warm_history_that_ends_after_the_data_begins_is_refused(tmp_path):
    warm = write(tmp_path / "warm", [record(i) for i in range(20, 25)], [ALICE])
    data = write(tmp_path / "data", [record(i) for i in range(3)], [ALICE])
    with pytest.raises(OutOfOrder, match=r"line 1 \(externalId T-0\).*warm history"):
        evaluation_set(data, warm)


def test_an_unknown_direction_is_refused(tmp_path):
    data = write(tmp_path / "d", [record(0, direction="sideways")], [ALICE])
    with pytest.raises(DatasetError, match="direction"):
        read_checked(data)


def test_an_evaluation_without_both_classes_among_outgoing_payments_is_refused(tmp_path):
    from adapters.fraud.artifacts import Artifact
    from adapters.fraud.evaluation import evaluate

    fraud_incoming = record(1, debtor=OUTSIDER, creditor=ALICE, label=1)
    data = write(tmp_path / "d", [record(0), fraud_incoming], [ALICE])
    with pytest.raises(ValueError, match="both fraud and legitimate"):
        evaluate(data, Artifact("v", "", {}), tmp_path / "out", review=0.5, decline=0.9)
    assert not (tmp_path / "out").exists()
