"""The data an evaluation scores: outgoing payments in time order, after optional history.

The bank acts only on its own customers' outgoing payments: an incoming credit from another
bank is never held or declined (``ModelScreening`` scores it but applies no outcome), so an
evaluation that counted incoming credits would measure decisions nobody takes. A payment is
incoming when its record says ``"direction": "incoming"`` or, when the data set has a
``customers.csv``, when its debtor is not one of those customers. Incoming payments still
feed the online features (a mule's fan-in is made of them), exactly as the ledger's log does.

Windows and novelty features assume time order: a data set whose ``requestedAt`` goes back
is refused with :class:`OutOfOrder`, naming the first such record. ``warm`` replays an
earlier data set's payments into the feature state first, not scored, so that the
evaluation starts with the customers' history rather than with every payee new.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np

from adapters.fraud.dataset import Dataset, payment_of
from adapters.fraud.records import external_id_in
from domain.fraud.features import FEATURES, FeatureState

DIRECTIONS = ("incoming", "outgoing")


class DatasetError(ValueError):
    """A data set the evaluation cannot use; names the file, line and ``externalId``."""

    def __init__(self, path: Path, line: int, external_id: str | None, problem: str) -> None:
        shown = external_id if external_id is not None else "unknown"
        super().__init__(f"{path}: line {line} (externalId {shown}): {problem}")
        self.path = path
        self.line = line
        self.external_id = external_id


class OutOfOrder(DatasetError):
    """A record dated before the one above it: the data set is not in time order."""


@dataclass(frozen=True)
class Record:
    """A checked line of ``payments.jsonl``."""

    line: int
    external_id: str
    at: datetime
    raw: dict[str, Any]


@dataclass(frozen=True)
class EvaluationSet:
    """The outgoing payments to score, and what was left out of the scoring."""

    dataset: Dataset
    incoming_skipped: int
    warm_payments: int
    warm_source: str | None
    ours_from: str
    """How outgoing was told from incoming: ``customers.csv`` or the ``direction`` field."""


def payments_file(data: Path) -> Path:
    return data / "payments.jsonl" if data.is_dir() else data


def read_checked(data: Path, after: datetime | None = None) -> list[Record]:
    """The records of ``data`` checked for the fields scoring needs and for time order
    (each at or after the one before it, the first at or after ``after``)."""
    path = payments_file(data)
    records: list[Record] = []
    previous = after
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            record = _checked(path, number, line)
            if previous is not None and record.at < previous:
                before = (
                    "the last payment of the warm history" if not records else "the record above"
                )
                raise OutOfOrder(
                    path,
                    number,
                    record.external_id,
                    f"requestedAt {record.at.isoformat()} is before {before} "
                    f"({previous.isoformat()}): the data set is not in time order",
                )
            previous = record.at
            records.append(record)
    return records


def _checked(path: Path, number: int, line: str) -> Record:
    try:
        raw = json.loads(line)
    except ValueError as error:
        raise DatasetError(path, number, external_id_in(line), f"not JSON: {error}") from None
    message = raw.get("message") if isinstance(raw, dict) else None
    if not isinstance(message, dict):
        raise DatasetError(path, number, None, "message: required object")
    external_id = message.get("externalId")
    shown = external_id if isinstance(external_id, str) else None

    def fail(problem: str) -> DatasetError:
        return DatasetError(path, number, shown, problem)

    for party in ("debtor", "creditor"):
        value = message.get(party)
        if not isinstance(value, dict) or not isinstance(value.get("iban"), str):
            raise fail(f"{party}.iban: required string")
    try:
        amount = Decimal(str(message.get("amount")))
    except InvalidOperation:
        raise fail("amount: not a decimal") from None
    if not amount.is_finite() or amount <= 0:
        raise fail("amount: must be a positive decimal")
    try:
        at = datetime.fromisoformat(str(message.get("requestedAt")).replace("Z", "+00:00"))
    except ValueError:
        raise fail("requestedAt: required ISO 8601 timestamp") from None
    if at.tzinfo is None:
        raise fail("requestedAt: needs a time zone")
    if raw.get("label") not in (0, 1):
        raise fail("label: required, 0 or 1")
    direction = raw.get("direction")
    if direction is not None and direction not in DIRECTIONS:
        raise fail(f"direction: must be one of {', '.join(DIRECTIONS)}")
    return Record(number, shown or "", at, raw)


def our_accounts(data: Path) -> frozenset[str] | None:
    """The IBANs of the data set's customers (``customers.csv``), or None without one."""
    folder = data if data.is_dir() else data.parent
    path = folder / "customers.csv"
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", newline="") as handle:
        return frozenset(row["iban"].replace(" ", "").upper() for row in csv.DictReader(handle))


def is_incoming(record: Record, ours: frozenset[str] | None) -> bool:
    if record.raw.get("direction") == "incoming":
        return True
    if ours is None:
        return False
    debtor = str(record.raw["message"]["debtor"]["iban"]).replace(" ", "").upper()
    return debtor not in ours


def evaluation_set(data: Path, warm: Path | None = None) -> EvaluationSet:
    """Replay ``warm`` (not scored), then ``data``; the outgoing payments of ``data`` with
    the features they had online."""
    state = FeatureState()
    history: list[Record] = read_checked(warm) if warm is not None else []
    for index, record in enumerate(history):
        _step(state, record, f"w{index}")
    after = history[-1].at if history else None
    records = read_checked(data, after)
    ours = our_accounts(data)
    rows: list[list[float]] = []
    scored: list[Record] = []
    for index, record in enumerate(records):
        values = _step(state, record, str(index))
        if not is_incoming(record, ours):
            rows.append([values[name] for name in FEATURES])
            scored.append(record)
    dataset = Dataset(
        x=np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURES)),
        y=np.asarray([int(r.raw["label"]) for r in scored], dtype=np.int32),
        amounts=[Decimal(str(r.raw["message"]["amount"])) for r in scored],
        typologies=[str(r.raw.get("typology", "")) for r in scored],
        times=[r.at for r in scored],
        source=str(data),
    )
    return EvaluationSet(
        dataset=dataset,
        incoming_skipped=len(records) - len(scored),
        warm_payments=len(history),
        warm_source=str(warm) if warm is not None else None,
        ours_from="customers.csv" if ours is not None else "direction field",
    )


def _step(state: FeatureState, record: Record, key: str) -> dict[str, float]:
    """One payment through the online feature code: its features, then folded into the
    state (as ``adapters.fraud.dataset.build_dataset`` and the ledger's log do)."""
    payment = payment_of(record.raw["message"])
    values = state.features(payment)
    state.observe(payment, key)
    if record.raw.get("rejected"):
        state.observe_rejection(key)
    else:
        state.close_payment(key)
    return values
