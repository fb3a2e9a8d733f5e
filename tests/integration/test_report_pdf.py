"""Report PDFs rendered by poppler (pdftoppm) and read back (pdftotext): a title page naming
the report, as-of and parameters, numbered table pages, and totals that match the rows."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from adapters.persistence import DatabaseConfig
from adapters.reports.files import write_report
from application.reports.catalogue import request
from projections.reports.queries import ReportQueries
from tests.integration.test_projection_support import (
    START,
    Ledger,
    SteppingClock,
    iban,
    make_ledger,
)
from tests.integration.test_reports import activity


@pytest.fixture
def ledger(sqlite_database: DatabaseConfig) -> Iterator[Ledger]:
    ledger = make_ledger(sqlite_database, SteppingClock(step=timedelta(hours=5)))
    try:
        yield ledger
    finally:
        ledger.close()


def pages_of(pdf: Path, tmp_path: Path) -> list[str]:
    """Each page's text (pdftotext), after checking every page renders (pdftoppm) to a
    landscape image with ink on it."""
    prefix = tmp_path / pdf.stem
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(prefix)], check=True)
    images = sorted(tmp_path.glob(f"{pdf.stem}-*.png"))
    assert len(images) >= 2  # a title page and at least one page of rows
    for path in images:
        with Image.open(path) as image:
            gray = image.convert("L")
            assert gray.width > gray.height  # landscape A4
            dark = sum(gray.histogram()[:128])
            assert dark > 50, path.name  # something is drawn on it
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = text.split("\f")
    assert len([p for p in pages if p.strip()]) == len(images)
    return pages


def test_trial_balance_and_statement_pdfs_show_title_pages_numbers_and_totals(
    ledger: Ledger, tmp_path: Path
) -> None:
    activity(ledger, "a", 1)
    ledger.projector.catch_up()
    now = ledger.clock.now
    queries = ReportQueries(ledger.engine)

    balance = request("trial_balance", {}, now, now)
    write_report(balance, queries.stream(balance), "pdf", tmp_path / "tb.pdf")
    pages = pages_of(tmp_path / "tb.pdf", tmp_path)
    assert "Trial balance" in pages[0] and f"as recorded at: {now.isoformat()}" in pages[0]
    assert "page 2" in pages[1] and "TOTAL" in pages[1]
    totals = pages[-2] if not pages[-1].strip() else pages[-1]
    rows = [r for _, r in queries.stream(balance)]
    debits = sum((r[4] for r in rows if r[1] == "line" and r[0] == "EUR"), Decimal(0))
    assert "Totals" in totals and f"EUR: debits {debits}" in totals
    assert f"rows: {len(rows)}" in totals

    params = {"account": iban(1), "from": START.date().isoformat(), "to": now.date().isoformat()}
    statement = request("customer_statement", params, now, now)
    write_report(statement, queries.stream(statement), "pdf", tmp_path / "st.pdf")
    pages = pages_of(tmp_path / "st.pdf", tmp_path)
    assert "Customer account statement" in pages[0] and iban(1) in pages[0]
    assert "OPBD" in pages[1] and "CLBD" in pages[1]
    entries = [r for _, r in queries.stream(statement) if r[0] == "entry"]
    net = sum((r[7] for r in entries), Decimal(0))
    closing = next(r[8] for _, r in queries.stream(statement) if r[0] == "CLBD")
    assert net == closing  # opened in the period: the entries make the closing balance
    text = "\n".join(pages)
    assert f"EUR: amount {net}" in text and f"rows: {len(entries) + 2}" in text
