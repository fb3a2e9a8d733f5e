"""Labelled payments as a feature matrix, for training and evaluation.

Features come from :class:`domain.fraud.features.FeatureState`, replayed over
the payments in time order: the very code that serves online.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from domain.fraud.features import FEATURES, FeatureState, Payment


@dataclass
class Dataset:
    """Feature matrix, labels and what is needed to report on them."""

    x: np.ndarray
    y: np.ndarray
    amounts: list[Decimal]
    typologies: list[str]
    times: list[datetime]
    source: str

    @property
    def rows(self) -> int:
        return int(self.y.shape[0])


def read_records(data: Path) -> list[dict[str, Any]]:
    path = data / "payments.jsonl" if data.is_dir() else data
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def payment_of(message: dict[str, Any]) -> Payment:
    at = datetime.fromisoformat(str(message["requestedAt"]).replace("Z", "+00:00"))
    return Payment.of(
        message["debtor"]["iban"],
        message["creditor"]["iban"],
        Decimal(message["amount"]),
        at,
        message.get("metadata") or {},
    )


def build_dataset(data: Path) -> Dataset:
    """Replay the payments in ``data`` through a fresh :class:`FeatureState`."""
    records = read_records(data)
    state = FeatureState()
    rows: list[list[float]] = []
    for index, record in enumerate(records):
        payment = payment_of(record["message"])
        values = state.features(payment)
        rows.append([values[name] for name in FEATURES])
        key = str(index)
        state.observe(payment, key)
        if record.get("rejected"):
            state.observe_rejection(key)
        else:
            state.close_payment(key)
    return Dataset(
        x=np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURES)),
        y=np.asarray([int(r["label"]) for r in records], dtype=np.int32),
        amounts=[Decimal(r["message"]["amount"]) for r in records],
        typologies=[str(r.get("typology", "")) for r in records],
        times=[
            datetime.fromisoformat(r["message"]["requestedAt"].replace("Z", "+00:00"))
            for r in records
        ],
        source=str(data),
    )


def dataset_from_log(events: Iterable[object], labels: dict[str, int], source: str) -> Dataset:
    """The ledger's own history as training data: features recomputed from the event log
    (the code that serves online), labels from the analysts' decided cases (1 confirmed
    fraud, 0 false positive); a payment no analyst looked at counts as legitimate."""
    from application.fraud.features import replay_features

    history: list[Any] = list(events)
    features = replay_features(history)
    received = {
        str(e.originator_id): e
        for e in history
        if type(e).__name__ == "Received" and str(e.originator_id) in features
    }
    ids = list(features)
    rows = [[float(Decimal(features[i][name])) for name in FEATURES] for i in ids]
    return Dataset(
        x=np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURES)),
        y=np.asarray([labels.get(i, 0) for i in ids], dtype=np.int32),
        amounts=[Decimal(received[i].amount) for i in ids],
        typologies=["analyst" if i in labels else "unreviewed" for i in ids],
        times=[received[i].timestamp for i in ids],
        source=source,
    )
