"""Every date and date-time the camt.053 reader uses is checked: text that is not a date, or
a year outside the accepted range, is a :class:`StatementError` naming the element, never an
``OverflowError`` (``0001-01-01T00:00:00+01:00`` once blocked the statement inbox)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from lxml import etree

from adapters.statements import read_camt053
from adapters.statements.dates import EARLIEST_YEAR, LATEST_YEAR
from domain.reconciliation.statement import StatementError
from tests.camt053_support import Entry, StatementSpec, build_camt053

DAY = date(2026, 11, 23)
NS = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"}


def _document() -> bytes:
    return build_camt053(
        StatementSpec(
            account="DE89370400440532013000",
            currency="EUR",
            from_date=DAY,
            to_date=DAY,
            opening=Decimal("0.00"),
            closing=Decimal("25.50"),
            entries=[Entry(Decimal("25.50"), DAY, "E2E-1")],
        )
    )


def _with(path: str, text: str, *, tag: str | None = None) -> bytes:
    """The generated document with the element at ``path`` (XPath) holding ``text`` (and,
    with ``tag``, renamed: ``Dt`` to ``DtTm``)."""
    root = etree.fromstring(_document())
    [element] = root.xpath(path, namespaces=NS)
    element.text = text
    if tag is not None:
        element.tag = f"{{{NS['c']}}}{tag}"
    return bytes(etree.tostring(root))


DATE_TIMES = {
    "GrpHdr/CreDtTm": "/c:Document/c:BkToCstmrStmt/c:GrpHdr/c:CreDtTm",
    "Stmt[1]/CreDtTm": "//c:Stmt/c:CreDtTm",
    "Stmt[1]/FrToDt/FrDtTm": "//c:FrToDt/c:FrDtTm",
    "Stmt[1]/FrToDt/ToDtTm": "//c:FrToDt/c:ToDtTm",
}
DATES = {
    "Stmt[1]/Bal[1]/Dt/Dt": "//c:Bal[1]/c:Dt/c:Dt",
    "Stmt[1]/Bal[2]/Dt/Dt": "//c:Bal[2]/c:Dt/c:Dt",
    "Stmt[1]/Ntry[1]/BookgDt/Dt": "//c:Ntry/c:BookgDt/c:Dt",
    "Stmt[1]/Ntry[1]/ValDt/Dt": "//c:Ntry/c:ValDt/c:Dt",
}
BAD_DATE_TIMES = [
    "0001-01-01T00:00:00+01:00",  # overflows converted to UTC
    "9999-12-31T23:59:59-01:00",  # overflows converted to UTC
    "0001-01-01T00:00:00Z",
    f"{EARLIEST_YEAR - 1}-12-31T23:59:59Z",
    f"{LATEST_YEAR + 1}-01-01T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "yesterday",
]
BAD_DATES = ["0001-01-01", "9999-12-31", f"{EARLIEST_YEAR - 1}-12-31", f"{LATEST_YEAR + 1}-01-01"]


def test_the_generated_document_reads() -> None:
    [statement] = read_camt053(_document())
    assert statement.created_at == datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize("raw", BAD_DATE_TIMES)
@pytest.mark.parametrize("element", sorted(DATE_TIMES))
def test_every_date_time_out_of_range_or_malformed_is_refused_naming_it(
    element: str, raw: str
) -> None:
    with pytest.raises(StatementError) as refused:
        read_camt053(_with(DATE_TIMES[element], raw))
    assert element in refused.value.reason
    assert repr(raw) in refused.value.reason


@pytest.mark.parametrize("raw", BAD_DATES)
@pytest.mark.parametrize("element", sorted(DATES))
def test_every_date_out_of_range_is_refused_naming_it(element: str, raw: str) -> None:
    with pytest.raises(StatementError) as refused:
        read_camt053(_with(DATES[element], raw))
    assert element in refused.value.reason
    assert repr(raw) in refused.value.reason


@pytest.mark.parametrize(
    ("path", "element"),
    [
        ("//c:Bal[2]/c:Dt/c:Dt", "Stmt[1]/Bal[2]/Dt/DtTm"),
        ("//c:Ntry/c:BookgDt/c:Dt", "Stmt[1]/Ntry[1]/BookgDt/DtTm"),
        ("//c:Ntry/c:ValDt/c:Dt", "Stmt[1]/Ntry[1]/ValDt/DtTm"),
    ],
)
@pytest.mark.parametrize("raw", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_dates_given_as_date_times_are_checked_too(path: str, element: str, raw: str) -> None:
    with pytest.raises(StatementError) as refused:
        read_camt053(_with(path, raw, tag="DtTm"))
    assert element in refused.value.reason


def test_the_edges_of_the_accepted_range_are_read() -> None:
    early = _with("//c:Stmt/c:CreDtTm", f"{EARLIEST_YEAR}-01-01T00:00:00+14:00")
    assert read_camt053(early)[0].created_at == datetime(EARLIEST_YEAR - 1, 12, 31, 10, tzinfo=UTC)
    late = _with("//c:Stmt/c:CreDtTm", f"{LATEST_YEAR}-12-31T23:59:59-12:00")
    after = datetime(LATEST_YEAR + 1, 1, 1, 11, 59, 59, tzinfo=UTC)
    assert read_camt053(late)[0].created_at == after
