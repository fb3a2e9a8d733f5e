"""Labelled payments as a feature matrix, for training and evaluation.

Features come from :class:`domain.fraud.features.FeatureState`, replayed over
the payments in time order: the very code that serves online.

A simulated record may carry, beside the ingestion ``message``: ``payeeCheck`` (the VoP
outcome the payer saw before paying: MTCH, CMTC, NMTC, NOAP; absent = no check), and
``customers.csv`` an ``opened_at`` column (ISO time the account was opened: the payee and
debtor account ages). Without them those features take their "none/unknown" values.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
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
    features: tuple[str, ...] = FEATURES
    """The names of the columns of ``x``."""

    @property
    def rows(self) -> int:
        return int(self.y.shape[0])

    def columns(self, names: Sequence[str]) -> np.ndarray:
        """``x`` with the columns ``names`` in that order (a model's own feature list, for
        scoring with a model trained on fewer features)."""
        index = [self.features.index(name) for name in names]
        return self.x[:, index]


def read_records(data: Path) -> list[dict[str, Any]]:
    path = data / "payments.jsonl" if data.is_dir() else data
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def payment_of(message: dict[str, Any], payee_check: str = "") -> Payment:
    return Payment.of(
        message["debtor"]["iban"],
        message["creditor"]["iban"],
        Decimal(message["amount"]),
        _time(str(message["requestedAt"])),
        message.get("metadata") or {},
        channel=str(message.get("channel") or ""),
        payee_check=payee_check,
    )


def read_openings(data: Path) -> dict[str, float]:
    """IBAN -> opening time of the accounts in ``customers.csv`` that say when (``opened_at``)."""
    path = data / "customers.csv" if data.is_dir() else data.parent / "customers.csv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            row["iban"]: _time(row["opened_at"]).timestamp()
            for row in csv.DictReader(handle)
            if row.get("opened_at")
        }


def build_dataset(data: Path) -> Dataset:
    """Replay the payments in ``data`` through a fresh :class:`FeatureState`."""
    records = read_records(data)
    state = FeatureState()
    for key, opened_at in read_openings(data).items():
        state.observe_account(key, opened_at)
    rows: list[list[float]] = []
    for index, record in enumerate(records):
        payment = payment_of(record["message"], str(record.get("payeeCheck") or ""))
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

    history: list[Any] = list(events)  # with the Screened events (replay_topics)
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
