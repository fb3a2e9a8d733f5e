"""What must hold at the end of every run, however fast it was.

* **Exactly once**: every message sent is one transaction (its ``uuid5`` id) with exactly one
  ``Transaction.Received`` and one ``Transaction.Posted`` in the event log, no other
  transaction appeared, nothing was dead-lettered (counted by the processes' own metrics
  and, on RabbitMQ, on the dead-letter queue itself), the inbound queue is empty, and every
  process stopped cleanly (exit 0 on SIGTERM, no traceback in its log).
* **Conservation**: after the projector has caught up, the trial balance sums to zero per
  currency with debits equal to credits, and every account holds exactly its funding plus
  what the messages moved (computed from the messages, not from the ledger).

The event log is read with plain SQL on the run's schema: the counts are the store's own,
not the application's view of it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

import psycopg

from api.runtime.bootstrap import Container

TRANSACTION = "domain.ledger.transactions:Transaction."
DECIDED = ("Posted", "Held", "Rejected")
"""The outcomes that end a payment's booking (HELD waits for a person, but is decided here)."""


class BookedCounter:
    """Payments decided since ``start`` (a notification id), counted incrementally.

    Notification ids are given in commit order under the recorder's table lock (the
    projections rely on it), so rows above the last id seen are all the new ones: each poll
    reads only what was committed since the previous one.
    """

    def __init__(self, url: str, schema: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.table = f'"{schema}".ledger_events'
        self.credits_table = f'"{schema}".transit_credits'
        self.position = self.head()
        self.start = self.position
        self.decided = 0

    def head(self) -> int:
        row = self.conn.execute(f"SELECT max(notification_id) FROM {self.table}").fetchone()
        return int(row[0] or 0) if row else 0

    def poll(self) -> int:
        row = self.conn.execute(
            f"SELECT count(*) FILTER (WHERE topic = ANY(%s)), max(notification_id) "
            f"FROM {self.table} WHERE notification_id > %s",
            ([TRANSACTION + outcome for outcome in DECIDED], self.position),
        ).fetchone()
        if row and row[1] is not None:
            self.decided += int(row[0])
            self.position = int(row[1])
        return self.decided

    def pending_credits(self) -> int:
        """Credits of two-step postings not applied yet (partitioned ingestion)."""
        row = self.conn.execute(f"SELECT count(*) FROM {self.credits_table}").fetchone()
        return int(row[0]) if row else 0

    def rolled_back_rows(self) -> int:
        """Notification ids skipped since ``start``: rows inserted by transactions that then
        rolled back (a conflicting batch), as the id sequence never gives a value twice."""
        row = self.conn.execute(
            f"SELECT count(*), coalesce(max(notification_id), %s) FROM {self.table} "
            f"WHERE notification_id > %s",
            (self.start, self.start),
        ).fetchone()
        assert row is not None
        return int(row[1]) - self.start - int(row[0])

    def close(self) -> None:
        self.conn.close()


@dataclass
class Verdict:
    """One check: passed or not, and what was found."""

    passed: bool
    detail: str


@dataclass
class EndOfRun:
    """What the processes and the broker reported when the run ended."""

    exit_codes: list[int]
    tracebacks: int
    metrics: list[dict[str, float]]
    leftover: tuple[int, int] | None
    """(ready, unacknowledged) left on the inbound queue; None when the broker can't say."""
    dead_letter_depth: tuple[int, int] | None
    problems: list[str] = field(default_factory=list)

    def total(self, name: str) -> float:
        return sum(values.get(name, 0.0) for values in self.metrics)


def exactly_once(url: str, schema: str, since: int, expected: set[UUID], end: EndOfRun) -> Verdict:
    """Every expected transaction received and posted once, nothing else, nothing lost."""
    counts: dict[str, Counter[UUID]] = {}
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f'SELECT topic, originator_id FROM "{schema}".ledger_events '
            "WHERE notification_id > %s AND topic LIKE %s",
            (since, TRANSACTION + "%"),
        ).fetchall()
    for topic, originator in rows:
        counts.setdefault(topic.removeprefix(TRANSACTION), Counter())[originator] += 1
    received = counts.get("Received", Counter())
    posted = counts.get("Posted", Counter())
    problems = list(end.problems)
    missing = expected - set(received)
    unexpected = set(received) - expected
    applied = counts.get("CreditApplied", Counter())
    twice = sum(1 for counter in (received, posted, applied) for n in counter.values() if n > 1)
    if missing:
        problems.append(f"{len(missing):,} never booked")
    if unexpected:
        problems.append(f"{len(unexpected):,} unexpected transactions")
    if twice:
        problems.append(f"{twice:,} recorded twice")
    not_posted = expected - set(posted)
    if not_posted:
        held = len(counts.get("Held", {}))
        rejected = len(counts.get("Rejected", {}))
        problems.append(f"{len(not_posted):,} not posted (held {held}, rejected {rejected})")
    dead = int(end.total("ledger_ingestion_dead_lettered_messages_total"))
    if dead:
        problems.append(f"{dead:,} dead-lettered (metrics)")
    if end.dead_letter_depth and sum(end.dead_letter_depth):
        problems.append(f"{sum(end.dead_letter_depth):,} on the dead-letter queue")
    if end.leftover and sum(end.leftover):
        problems.append(f"{sum(end.leftover):,} left on the inbound queue")
    if any(code != 0 for code in end.exit_codes):
        problems.append(f"exit codes {end.exit_codes}")
    if end.tracebacks:
        problems.append(f"{end.tracebacks} tracebacks in the logs")
    duplicates = int(end.total("ledger_ingestion_duplicate_payments_total"))
    found = (
        f"{len(posted):,}/{len(expected):,} posted once, "
        f"{dead} dead-lettered, {duplicates} duplicates answered"
    )
    return Verdict(not problems, "; ".join([found, *problems]))


SETTLE_TO_ZERO = ("in-transit:", "suspense:")
"""Internal accounts that must be back at zero once every payment and credit is booked."""


def conservation(container: Container, expected: dict[str, Decimal]) -> Verdict:
    """Catch the projector up, then: the trial balance sums to zero per currency, debits
    equal credits, and each account's balance is the one the messages imply."""
    container.projector.catch_up()
    report = container.queries.trial_balance()
    problems: list[str] = []
    for totals in report.totals:
        if totals.balance_sum != 0 or totals.debits != totals.credits:
            problems.append(
                f"{totals.currency}: sum {totals.balance_sum}, "
                f"debits {totals.debits} vs credits {totals.credits}"
            )
    balances = {line.account_key: line.balance for line in report.lines}
    transit = {key: Decimal(0) for key in balances if key.startswith(SETTLE_TO_ZERO)}
    expected = {**transit, **expected}  # nothing left in transit, nothing in suspense
    wrong = [key for key, value in expected.items() if balances.get(key) != value]
    extra = set(balances) - set(expected)
    if wrong:
        worst = max(abs(balances.get(key, Decimal(0)) - expected[key]) for key in wrong)
        problems.append(f"{len(wrong)} balances differ from the messages (worst by {worst})")
    if extra:
        problems.append(f"{len(extra)} unexpected accounts")
    sums = ", ".join(f"{t.currency} {t.balance_sum}" for t in report.totals) or "no accounts"
    found = f"trial balance {sums}; {len(expected) - len(wrong):,}/{len(expected):,} balances exact"
    return Verdict(not problems, "; ".join([found, *problems]))
