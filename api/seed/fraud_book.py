"""``ledger fraud book --data DIR``: book simulated payments through the real ledger.

Opens the simulated customers' accounts (``customers.csv``; existing ones are kept) and
books ``payments.jsonl`` in time order, in batches, through the same use case as REST
and the message queue: every payment is screened by the rules and, when one is promoted,
the model, from online features. Prints, per typology, how many payments were posted,
held for review (a fraud case each) or rejected.

The online features' windows run on the ledger's recording time, not on the client's
``requestedAt``; so the ledger's clock is set to each payment's simulated time while it is
booked (one payment per commit), and the accounts are opened at the first payment's time.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from contextlib import suppress
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from api.runtime.bootstrap import Container
from application.errors import AlreadyExists
from application.ledger.commands import OpenAccount, PaymentInstruction
from domain.causation import Causation, caused_by
from domain.iban import Iban

SIMULATOR = Causation(actor="service:simulator", correlation_id="fraud-book", channel="CLI")


def book(container: Container, data: Path, limit: int | None = None) -> dict[str, Counter[str]]:
    """Book the simulated data set in ``data``; returns status counts per typology."""
    records = read_payments(data, limit)
    ledger = container.ledger
    real_clock = ledger.clock
    if records:
        start = _requested_at(records[0]) - timedelta(seconds=1)
        ledger.clock = lambda: start
    try:
        open_customers(container, data)
        return book_payments(container, records)
    finally:
        ledger.clock = real_clock


def _requested_at(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(record["message"]["requestedAt"]).replace("Z", "+00:00"))


def open_customers(container: Container, data: Path) -> None:
    """Open the accounts of ``customers.csv`` (those that exist already are kept)."""
    with (
        caused_by(SIMULATOR),
        (data / "customers.csv").open(encoding="utf-8", newline="") as handle,
    ):
        for row in csv.DictReader(handle):
            with suppress(AlreadyExists):
                container.ledger.open_account(
                    OpenAccount(
                        Iban(row["iban"]),
                        row["holder_name"],
                        row["currency"],
                        Decimal(row["overdraft_limit"] or "0"),
                    )
                )


def read_payments(data: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The records of ``payments.jsonl`` (in time order, as the simulator writes them)."""
    records: list[dict[str, Any]] = []
    with (data / "payments.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                records.append(json.loads(line))
            if limit is not None and len(records) >= limit:
                break
    return records


def book_payments(
    container: Container,
    records: list[dict[str, Any]],
    *,
    batch: int = 1,
    simulated_time: bool = True,
) -> dict[str, Counter[str]]:
    """Book the payments, ``batch`` per commit; returns status counts per typology. With
    ``simulated_time`` each commit is recorded at the simulated time of its last payment
    (so with ``batch=1`` the features see the simulated timeline)."""
    ledger = container.ledger
    outcome: dict[str, Counter[str]] = defaultdict(Counter)
    with caused_by(SIMULATOR):
        for start in range(0, len(records), batch):
            chunk = records[start : start + batch]
            if simulated_time:
                at = _requested_at(chunk[-1])
                ledger.clock = lambda at=at: at  # type: ignore[misc]
            results = ledger.submit_payments(
                [PaymentInstruction.from_message(r["message"]) for r in chunk]
            )
            for record, result in zip(chunk, results, strict=True):
                outcome[str(record["typology"])][result.status] += 1
    return dict(outcome)
