"""camt.053 statements the tests generate: what core banking would send for an account.

``build_camt053`` writes a document of any version 02..08 with lxml, in the schema's element
order (checked against pyiso20022's generated classes in tests/unit/test_camt053.py).
``statement_for`` turns the ledger's postings of an account into such a statement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from lxml import etree


@dataclass
class Entry:
    amount: Decimal  # signed: negative is a debit
    booking_date: date
    end_to_end_id: str | None = None
    account_servicer_ref: str | None = None
    remittance: str = ""
    currency: str | None = None  # default: the statement's
    status: str = "BOOK"
    reversal: bool | None = None


@dataclass
class StatementSpec:
    account: str
    currency: str
    from_date: date
    to_date: date
    closing: Decimal
    opening: Decimal | None = None
    entries: list[Entry] = field(default_factory=list)
    statement_id: str = "STMT-1"
    message_id: str = "MSG-1"
    created_at: datetime = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    other_id: bool = False  # Acct/Id/Othr/Id instead of IBAN


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _balance(stmt: etree._Element, code: str, amount: Decimal, currency: str, day: date) -> None:
    bal = _sub(stmt, "Bal")
    _sub(_sub(_sub(bal, "Tp"), "CdOrPrtry"), "Cd", code)
    _sub(bal, "Amt", format(abs(amount), ".2f"), Ccy=currency)
    _sub(bal, "CdtDbtInd", "CRDT" if amount >= 0 else "DBIT")
    _sub(_sub(bal, "Dt"), "Dt", day.isoformat())


def build_camt053(spec: StatementSpec, version: int = 8) -> bytes:
    """A camt.053.001.<version> document with one statement."""
    if not 2 <= version <= 8:
        raise ValueError(version)
    ns = f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version:02d}"
    root = etree.Element("Document", nsmap={None: ns})
    body = _sub(root, "BkToCstmrStmt")
    header = _sub(body, "GrpHdr")
    _sub(header, "MsgId", spec.message_id)
    _sub(header, "CreDtTm", spec.created_at.isoformat())
    stmt = _sub(body, "Stmt")
    _sub(stmt, "Id", spec.statement_id)
    _sub(stmt, "CreDtTm", spec.created_at.isoformat())
    period = _sub(stmt, "FrToDt")
    _sub(period, "FrDtTm", f"{spec.from_date.isoformat()}T00:00:00+00:00")
    _sub(period, "ToDtTm", f"{spec.to_date.isoformat()}T23:59:59+00:00")
    acct = _sub(stmt, "Acct")
    ident = _sub(acct, "Id")
    if spec.other_id:
        _sub(_sub(ident, "Othr"), "Id", spec.account)
    else:
        _sub(ident, "IBAN", spec.account)
    _sub(acct, "Ccy", spec.currency)
    if spec.opening is not None:
        _balance(stmt, "OPBD", spec.opening, spec.currency, spec.from_date)
    _balance(stmt, "CLBD", spec.closing, spec.currency, spec.to_date)
    for entry in spec.entries:
        ntry = _sub(stmt, "Ntry")
        _sub(ntry, "Amt", format(abs(entry.amount), ".2f"), Ccy=entry.currency or spec.currency)
        _sub(ntry, "CdtDbtInd", "CRDT" if entry.amount >= 0 else "DBIT")
        if entry.reversal is not None:
            _sub(ntry, "RvslInd", "true" if entry.reversal else "false")
        if version >= 7:
            _sub(_sub(ntry, "Sts"), "Cd", entry.status)
        else:
            _sub(ntry, "Sts", entry.status)
        _sub(_sub(ntry, "BookgDt"), "Dt", entry.booking_date.isoformat())
        _sub(_sub(ntry, "ValDt"), "Dt", entry.booking_date.isoformat())
        if entry.account_servicer_ref:
            _sub(ntry, "AcctSvcrRef", entry.account_servicer_ref)
        code = _sub(_sub(ntry, "BkTxCd"), "Domn")
        _sub(code, "Cd", "PMNT")
        family = _sub(code, "Fmly")
        _sub(family, "Cd", "RCDT" if entry.amount >= 0 else "ICDT")
        _sub(family, "SubFmlyCd", "ESCT")
        if entry.end_to_end_id or entry.remittance:
            tx = _sub(_sub(ntry, "NtryDtls"), "TxDtls")
            if entry.end_to_end_id:
                _sub(_sub(tx, "Refs"), "EndToEndId", entry.end_to_end_id)
            if version >= 3:  # the transaction's own amount and direction became required
                _sub(
                    tx, "Amt", format(abs(entry.amount), ".2f"), Ccy=entry.currency or spec.currency
                )
                _sub(tx, "CdtDbtInd", "CRDT" if entry.amount >= 0 else "DBIT")
            if entry.remittance:
                _sub(_sub(tx, "RmtInf"), "Ustrd", entry.remittance)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
