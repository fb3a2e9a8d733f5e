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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
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
    labelling: dict[str, Any] = field(default_factory=dict)
    """How the rows were labelled (``dataset_from_log``: label sources and the unreviewed
    payments' treatment); recorded in the artifact's meta."""

    @property
    def rows(self) -> int:
        return int(self.y.shape[0])

    def in_time_order(self) -> Dataset:
        """The rows sorted by time (stable: rows at the same instant keep their order)."""
        order = sorted(range(self.rows), key=lambda i: self.times[i])
        if order == list(range(self.rows)):
            return self
        return replace(
            self,
            x=self.x[order],
            y=self.y[order],
            amounts=[self.amounts[i] for i in order],
            typologies=[self.typologies[i] for i in order],
            times=[self.times[i] for i in order],
        )

    def time_split(self, train_fraction: float = 0.8) -> tuple[int, datetime | None]:
        """Where the validation starts in a dataset :meth:`in_time_order`: the first row at or
        after the instant that leaves ``train_fraction`` of the rows before it, and that
        instant. Rows of one instant stay on one side, so the validation is the last period
        and no payment of it is older than a training payment."""
        if self.rows < 2:
            return self.rows, None
        cut = min(max(int(self.rows * train_fraction), 1), self.rows - 1)
        split_at = self.times[cut]
        first = cut
        while first > 0 and self.times[first - 1] == split_at:
            first -= 1
        return (first or cut), split_at  # one instant throughout: split by rows

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


UNREVIEWED_TREATMENTS = ("legit", "drop")
"""``legit``: a payment nobody labelled counts as legitimate (most are; a fraud not yet
claimed is then a wrong label); ``drop``: it is left out (only labelled payments train, a
sample chosen by screening and by customers)."""


def dataset_from_log(
    events: Iterable[object],
    labels: Mapping[str, int],
    source: str,
    *,
    label_sources: Mapping[str, str] | None = None,
    unreviewed: str = "legit",
) -> Dataset:
    """The ledger's own history as training data: features recomputed from the event log
    (the code that serves online), labels from ``labels`` (1 fraud, 0 not: the analysts'
    verdicts and the customers' claims, see :func:`domain.fraud.claims.merge_labels`), each
    row's typology the label's source (``label_sources``, default ``labelled``).

    A payment without a label is *unreviewed*: ``unreviewed="legit"`` labels it legitimate,
    ``"drop"`` leaves it out (:data:`UNREVIEWED_TREATMENTS`). Either way
    :attr:`Dataset.labelling` counts the rows per label source and says what was done, so the
    artifact and the command's output never hide it."""
    from application.fraud.features import replay_features

    if unreviewed not in UNREVIEWED_TREATMENTS:
        raise ValueError(f"unreviewed: must be one of {', '.join(UNREVIEWED_TREATMENTS)}")
    history: list[Any] = list(events)  # with the Screened events (replay_topics)
    features = replay_features(history)
    received = {
        str(e.originator_id): e
        for e in history
        if type(e).__name__ == "Received" and str(e.originator_id) in features
    }
    sources = label_sources or {}
    all_ids = list(features)
    ids = [i for i in all_ids if i in labels] if unreviewed == "drop" else all_ids
    kinds = [sources.get(i, "labelled") if i in labels else "unreviewed" for i in ids]
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    unlabelled = sum(1 for i in all_ids if i not in labels)
    rows = [[float(Decimal(features[i][name])) for name in FEATURES] for i in ids]
    return Dataset(
        x=np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURES)),
        y=np.asarray([labels.get(i, 0) for i in ids], dtype=np.int32),
        amounts=[Decimal(received[i].amount) for i in ids],
        typologies=kinds,
        times=[received[i].timestamp for i in ids],
        source=source,
        labelling={
            "payments": len(all_ids),
            "labelled": len(all_ids) - unlabelled,
            "unreviewed": unlabelled,
            "unreviewed_treated_as": "legitimate" if unreviewed == "legit" else "dropped",
            "rows_by_label_source": dict(sorted(counts.items())),
        },
    )
