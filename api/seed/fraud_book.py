"""``ledger fraud book --data DIR``: book simulated payments through the real ledger.

Opens the simulated customers' accounts (``customers.csv``; existing ones are kept) and
books ``payments.jsonl`` in time order through the same use case as REST and the message
queue: every payment is screened by the rules and, when one is promoted, the model, from
online features. Counts, per typology, how many payments were posted, held for review (a
fraud case each) or rejected, and why (a screening decline is not a lack of funds).

A bad record (not JSON, a missing field, an invalid amount, a key reused for another
payment) is reported with its line and ``externalId`` and skipped: the run goes on, and
the report counts the bad records.

The online features' windows run on the ledger's recording time, not on the client's
``requestedAt``; so the ledger's clock is set to each payment's simulated time while it is
booked (one payment per commit), and the accounts are opened at the first payment's time.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.fraud.records import external_id_in
from api.runtime.bootstrap import Container
from application.errors import AlreadyExists, ApplicationError
from application.ledger.commands import OpenAccount, PaymentInstruction, SubmissionResult
from domain.causation import Causation, caused_by
from domain.errors import RejectionReason
from domain.iban import Iban

SIMULATOR = Causation(actor="service:simulator", correlation_id="fraud-book", channel="CLI")

SCREENING_DECLINED = RejectionReason.SCREENING_DECLINED.value
INSUFFICIENT_FUNDS = RejectionReason.INSUFFICIENT_FUNDS.value
OTHER_REJECTION = "REJECTED_OTHER"
COLUMNS = ("POSTED", "HELD", SCREENING_DECLINED, INSUFFICIENT_FUNDS, OTHER_REJECTION)
"""The status table's columns: a rejection is split by its reason."""


@dataclass(frozen=True)
class BadRecord:
    """A line of ``payments.jsonl`` that could not be booked, and why."""

    line: int
    external_id: str | None
    problem: str

    def __str__(self) -> str:
        shown = self.external_id if self.external_id is not None else "unknown"
        return f"line {self.line} (externalId {shown}): {self.problem}"


@dataclass(frozen=True)
class Entry:
    """A well-formed record: its line, typology, instruction and simulated time."""

    line: int
    typology: str
    instruction: PaymentInstruction
    at: datetime


@dataclass
class BookingReport:
    """What a run booked: per typology, payments per status column; the bad records."""

    columns: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    bad: list[BadRecord] = field(default_factory=list)

    @property
    def booked(self) -> int:
        return sum(sum(counts.values()) for counts in self.columns.values())

    def statuses(self) -> dict[str, Counter[str]]:
        """Per typology, payments per ledger status (POSTED, HELD, REJECTED)."""
        merged: dict[str, Counter[str]] = {}
        for typology, counts in self.columns.items():
            merged[typology] = Counter()
            for column, count in counts.items():
                rejected = column in COLUMNS[2:]
                merged[typology]["REJECTED" if rejected else column] += count
        return merged


def column_of(result: SubmissionResult) -> str:
    """The status table's column of a result: the status, a rejection by its reason."""
    if result.status != "REJECTED":
        return result.status
    if result.reason in (SCREENING_DECLINED, INSUFFICIENT_FUNDS):
        return str(result.reason)
    return OTHER_REJECTION


def book(container: Container, data: Path, limit: int | None = None) -> dict[str, Counter[str]]:
    """Book the simulated data set in ``data``; returns status counts per typology."""
    return book_data(container, data, limit).statuses()


def book_data(
    container: Container,
    data: Path,
    limit: int | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    on_bad: Callable[[BadRecord], None] | None = None,
) -> BookingReport:
    """Book ``data`` record by record; ``progress(done, total)`` after each record and
    ``on_bad`` for each bad record (skipped)."""
    entries = read_entries(data, limit)
    ledger = container.ledger
    real_clock = ledger.clock
    first = next((entry for entry in entries if isinstance(entry, Entry)), None)
    if first is not None:
        start = first.at - timedelta(seconds=1)
        ledger.clock = lambda: start
    report = BookingReport()
    try:
        open_customers(container, data)
        with caused_by(SIMULATOR):
            for done, entry in enumerate(entries, start=1):
                bad = entry if isinstance(entry, BadRecord) else _book_one(container, entry, report)
                if bad is not None:
                    report.bad.append(bad)
                    if on_bad is not None:
                        on_bad(bad)
                if progress is not None:
                    progress(done, len(entries))
    finally:
        ledger.clock = real_clock
    return report


def _book_one(container: Container, entry: Entry, report: BookingReport) -> BadRecord | None:
    ledger = container.ledger
    ledger.clock = lambda: entry.at
    try:
        (result,) = ledger.submit_payments([entry.instruction])
    except ApplicationError as error:  # e.g. an externalId reused for another payment
        return BadRecord(entry.line, entry.instruction.external_id, str(error))
    report.columns[entry.typology][column_of(result)] += 1
    return None


def read_entries(data: Path, limit: int | None = None) -> list[Entry | BadRecord]:
    """The records of ``payments.jsonl`` in file order, each parsed into an :class:`Entry`
    or, when it cannot be booked, a :class:`BadRecord`; at most ``limit`` records."""
    entries: list[Entry | BadRecord] = []
    with (data / "payments.jsonl").open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            entries.append(parse_entry(number, line))
            if limit is not None and len(entries) >= limit:
                break
    return entries


def parse_entry(number: int, line: str) -> Entry | BadRecord:
    """One line of ``payments.jsonl``: the ingestion ``message`` and its ``typology``."""
    try:
        record = json.loads(line)
    except ValueError as error:
        return BadRecord(number, external_id_in(line), f"not JSON: {error}")
    if not isinstance(record, dict):
        return BadRecord(number, None, "record: must be a JSON object")
    message = record.get("message")
    if not isinstance(message, dict):
        return BadRecord(number, None, "message: required object")
    raw_id = message.get("externalId")
    external_id = raw_id if isinstance(raw_id, str) else None
    typology = record.get("typology", "unlabelled")
    if not isinstance(typology, str):
        return BadRecord(number, external_id, "typology: must be a string")
    try:
        instruction = PaymentInstruction.from_message(message)
    except ApplicationError as error:
        problems = getattr(error, "problems", [str(error)])
        return BadRecord(number, external_id, "; ".join(problems))
    if instruction.requested_at is None:
        return BadRecord(number, external_id, "requestedAt: required (the simulated time)")
    return Entry(number, typology, instruction, instruction.requested_at)


def _requested_at(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(record["message"]["requestedAt"]).replace("Z", "+00:00"))


def open_customers(container: Container, data: Path) -> None:
    """Open the accounts of ``customers.csv`` (those that exist already are kept)."""
    with (
        caused_by(SIMULATOR),
        (data / "customers.csv").open(encoding="utf-8", newline="") as handle,
    ):
        ledger = container.ledger
        clock = ledger.clock
        for row in csv.DictReader(handle):
            # opened when customers.csv says (the account-age features were trained so)
            if row.get("opened_at"):
                opened = datetime.fromisoformat(row["opened_at"].replace("Z", "+00:00"))
                ledger.clock = lambda opened=opened: opened  # type: ignore[misc]
            with suppress(AlreadyExists):
                container.ledger.open_account(
                    OpenAccount(
                        Iban(row["iban"]),
                        row["holder_name"],
                        row["currency"],
                        Decimal(row["overdraft_limit"] or "0"),
                    )
                )
        ledger.clock = clock


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
    """Book well-formed payments, ``batch`` per commit (the benchmark's path); returns
    status counts per typology. With ``simulated_time`` each commit is recorded at the
    simulated time of its last payment (so with ``batch=1`` the features see the simulated
    timeline)."""
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
