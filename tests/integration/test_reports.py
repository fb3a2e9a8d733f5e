"""Reports as of T (docs/reports.md): every report of the catalogue, produced as of a past
instant before and after more activity, is byte-identical (CSV and XLSX, SQLite and
PostgreSQL); keyset pages give exactly the streamed rows; the trial balance's totals are zero."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pyiso20022.camt import camt_053_001_08
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.config import ParserConfig

from adapters.persistence import DatabaseConfig
from adapters.reports.files import UnknownFormat, write_report
from adapters.statements.camt053 import read_camt053
from application.reports.catalogue import REPORTS, ReportRequest, request
from domain.reconciliation.matching import match_statement
from projections.ledger.period_reader import LedgerPeriodReader
from projections.reports.queries import ReportQueries
from tests.integration.test_projection_support import (
    START,
    Ledger,
    SteppingClock,
    iban,
    make_ledger,
)

STRICT = ParserConfig(
    fail_on_unknown_properties=True,
    fail_on_unknown_attributes=True,
    fail_on_converter_warnings=True,
)

PARAMS: dict[str, dict[str, str]] = {
    "trial_balance": {},
    "daily_balances": {"from": "2026-03-02", "to": "2026-03-05"},
    "journal": {"from": "2026-03-01", "to": "2026-03-31"},
    "large_value": {"from": "2026-03-01", "to": "2026-03-31", "thresholds": "EUR=100"},
    "customer_statement": {"account": iban(1), "from": "2026-03-02", "to": "2026-03-05"},
}
"""Every report over the ledger's read models (access_review reads the identity context's
events: tests/e2e/test_report_cli.py)."""


@pytest.fixture
def ledger(database: DatabaseConfig) -> Iterator[Ledger]:
    ledger = make_ledger(database, SteppingClock(step=timedelta(hours=5)))
    try:
        yield ledger
    finally:
        ledger.close()


def activity(ledger: Ledger, tag: str, first: int) -> None:
    """Accounts, payments in two currencies, a held payment released, a reversal, a freeze."""
    a, b = ledger.open(first, overdraft="100"), ledger.open(first + 1)
    c = ledger.open(first + 2, currency="USD")
    ledger.pay(f"{tag}0", iban(first, "FR"), a, "3000.00")
    ledger.pay(f"{tag}1", a, b, "25.00")
    held = ledger.pay(f"{tag}2", a, b, "1500.00").transaction_id
    ledger.pay(f"{tag}3", iban(first + 1, "FR"), c, "250.00", currency="USD")
    ledger.app.release_held(UUID(held))
    reversed_ = ledger.pay(f"{tag}4", b, a, "5.00").transaction_id
    ledger.app.reverse(UUID(reversed_), "duplicate")
    ledger.app.freeze_account(b, "check")


def produce(ledger: Ledger, wanted: ReportRequest, out: Path) -> dict[str, tuple[int, str]]:
    queries = ReportQueries(ledger.engine)
    result = {}
    for fmt in wanted.spec.formats:
        path = out / f"{wanted.spec.name}.{fmt}"
        result[fmt] = write_report(wanted, queries.stream(wanted), fmt, path)
        result[fmt + "-bytes"] = (0, path.read_bytes().hex())
    return result


def test_every_report_as_of_a_past_instant_is_byte_identical_after_more_activity(
    ledger: Ledger, tmp_path: Path
) -> None:
    activity(ledger, "a", 1)
    ledger.projector.catch_up()
    as_of = ledger.clock.now + timedelta(minutes=1)
    now = as_of + timedelta(days=30)
    assert set(PARAMS) == set(REPORTS) - {"access_review"}
    requests = {name: request(name, PARAMS[name], as_of, now) for name in PARAMS}
    before = {n: produce(ledger, r, tmp_path / "before" / "x") for n, r in requests.items()}
    for name, files in before.items():
        assert files["csv"][0] > 0, name  # every report has rows as of T

    activity(ledger, "b", 10)  # more accounts and postings, on later days
    ledger.app.unfreeze_account(iban(2), "ok")
    ledger.pay("a9", iban(1), iban(2), "7.00")
    ledger.projector.catch_up()
    after = {n: produce(ledger, r, tmp_path / "after" / "x") for n, r in requests.items()}
    assert after == before

    later = request("journal", PARAMS["journal"], ledger.clock.now, ledger.clock.now)
    rows, _ = write_report(
        later, ReportQueries(ledger.engine).stream(later), "csv", tmp_path / "l.csv"
    )
    assert rows > before["journal"]["csv"][0]  # the later activity is there for a later T


@pytest.fixture(autouse=True)
def _dirs(tmp_path: Path) -> None:
    for sub in ("before/x", "after/x"):
        (tmp_path / sub).mkdir(parents=True)


def table(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_trial_balance_totals_are_zero_and_lines_match_the_ledger(
    ledger: Ledger, tmp_path: Path
) -> None:
    activity(ledger, "a", 1)
    ledger.projector.catch_up()
    wanted = request("trial_balance", {}, ledger.clock.now, ledger.clock.now)
    write_report(wanted, ReportQueries(ledger.engine).stream(wanted), "csv", tmp_path / "tb.csv")
    rows = table(tmp_path / "tb.csv")
    totals = [r for r in rows if r["row"] == "TOTAL"]
    assert [t["currency"] for t in totals] == ["EUR", "USD"]
    for total in totals:
        assert total["check"] == "balanced" and Decimal(total["balance"]) == 0
        lines = [r for r in rows if r["row"] == "line" and r["currency"] == total["currency"]]
        assert sum(Decimal(r["debits"]) for r in lines) == Decimal(total["debits"])
    live = ledger.queries.trial_balance()
    assert [(r["account"], Decimal(r["balance"])) for r in rows if r["row"] == "line"] == [
        (line.account_key, line.balance) for line in live.lines
    ]


@pytest.mark.parametrize("name", sorted(PARAMS))
@pytest.mark.parametrize("size", [1, 4])
def test_keyset_pages_give_exactly_the_streamed_rows(ledger: Ledger, name: str, size: int) -> None:
    activity(ledger, "a", 1)
    activity(ledger, "b", 10)
    ledger.projector.catch_up()
    wanted = request(name, PARAMS[name], ledger.clock.now, ledger.clock.now)
    queries = ReportQueries(ledger.engine)
    streamed = [values for _, values in queries.stream(wanted)]
    paged: list[Any] = []
    cursor = None
    while True:
        page = queries.page(wanted, first=size, after=cursor)
        paged.extend(values for _, values in page.edges)
        if not page.has_next_page:
            break
        cursor = page.end_cursor
    assert paged == streamed and len(streamed) > 2


def test_a_cursor_of_another_report_is_refused(ledger: Ledger) -> None:
    activity(ledger, "a", 1)
    ledger.projector.catch_up()
    now = ledger.clock.now
    queries = ReportQueries(ledger.engine)
    page = queries.page(request("journal", PARAMS["journal"], now, now), first=1)
    with pytest.raises(ValueError, match="invalid cursor"):
        queries.page(request("trial_balance", {}, now, now), first=1, after=page.end_cursor)


def test_the_customer_statement_is_a_camt053_the_reconciliation_and_the_schema_read(
    ledger: Ledger, tmp_path: Path
) -> None:
    activity(ledger, "a", 1)
    activity(ledger, "b", 10)
    ledger.pay("c1", iban(10), iban(1), "40.00")
    ledger.projector.catch_up()
    now = ledger.clock.now
    first, last = START.date(), now.date()
    params = {"account": iban(1), "from": first.isoformat(), "to": last.isoformat()}
    wanted = request("customer_statement", params, now, now)
    out = tmp_path / "statement.xml"
    write_report(wanted, ReportQueries(ledger.engine).stream(wanted), "camt053", out)
    body = out.read_bytes()
    XmlParser(config=STRICT).from_bytes(body, camt_053_001_08.Document)  # schema classes
    (statement,) = read_camt053(body)  # the reconciliation's own reader
    assert (statement.account, statement.currency) == (iban(1), "EUR")
    assert (statement.from_date, statement.to_date) == (first, last)
    assert statement.opening_balance == 0
    live = ledger.queries.account(iban(1))
    assert live is not None and statement.closing_balance == live.balance != 0
    total = sum((e.signed_amount for e in statement.entries), Decimal(0))
    assert statement.opening_balance + total == statement.closing_balance
    postings = ledger.queries.postings(iban(1), first=500).edges
    assert len(statement.entries) == len(postings) > 3
    assert {e.end_to_end_id for e in statement.entries} >= {"a0", "a1", "c1"}

    # the ledger's side of the same period matches it entry for entry (the reconciliation)
    side = LedgerPeriodReader(ledger.engine).account_period(iban(1), first, last)
    assert side is not None
    result = match_statement(statement, side)
    assert not result.findings, result.findings

    later = request("customer_statement", {**params, "to": first.isoformat()}, now, now)
    write_report(later, ReportQueries(ledger.engine).stream(later), "camt053", out)
    with pytest.raises(UnknownFormat):
        write_report(request("journal", PARAMS["journal"], now, now), iter(()), "camt053", out)
