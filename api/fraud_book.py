"""``ledger fraud book --data DIR``: book simulated payments through the real ledger.

Opens the simulated customers' accounts (``customers.csv``; existing ones are kept) and
books ``payments.jsonl`` in time order, in batches, through the same use case as REST
and the message queue: every payment is screened by the rules and, when one is promoted,
the model, from online features. Prints, per typology, how many payments were posted,
held for review (a fraud case each) or rejected.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from contextlib import suppress
from decimal import Decimal
from pathlib import Path
from typing import Any

from api.bootstrap import Container
from application.commands import OpenAccount, PaymentInstruction
from application.errors import AlreadyExists
from domain.causation import Causation, caused_by
from domain.iban import Iban

BATCH = 200
SIMULATOR = Causation(actor="service:simulator", correlation_id="fraud-book", channel="CLI")


def book(container: Container, data: Path, limit: int | None = None) -> dict[str, Counter[str]]:
    """Book the simulated data set in ``data``; returns status counts per typology."""
    open_customers(container, data)
    return book_payments(container, data, limit)


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


def book_payments(
    container: Container, data: Path, limit: int | None = None
) -> dict[str, Counter[str]]:
    """Book ``payments.jsonl`` in batches; returns status counts per typology."""
    records: list[dict[str, Any]] = []
    with (data / "payments.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                records.append(json.loads(line))
            if limit is not None and len(records) >= limit:
                break
    outcome: dict[str, Counter[str]] = defaultdict(Counter)
    with caused_by(SIMULATOR):
        for start in range(0, len(records), BATCH):
            chunk = records[start : start + BATCH]
            results = container.ledger.submit_payments(
                [PaymentInstruction.from_message(r["message"]) for r in chunk]
            )
            for record, result in zip(chunk, results, strict=True):
                outcome[str(record["typology"])][result.status] += 1
    return dict(outcome)
