"""The customer statement as camt.053.001.08 (BankToCustomerStatement), written element by
element with lxml's incremental writer (no whole document in memory), in the schema's order,
so that the reconciliation's reader (:mod:`adapters.statements.camt053`) and the ISO 20022
schema classes read it back.

Deterministic: the message and statement ids derive from the account, period and as-of
instant; ``CreDtTm`` is the as-of instant (not the time of writing). An entry's
``AcctSvcrRef`` is the ledger transaction id (32 hex digits: Max35Text), its ``EndToEndId``
the payment's external id when it fits Max35Text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from lxml import etree

from application.reports.catalogue import ReportRequest

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
MAX35 = 35


class StatementUnavailable(ValueError):
    """The account had no state as of T (not opened yet): there is no statement to write."""


def _el(xf: Any, tag: str, text: str, **attrs: str) -> None:
    element = etree.Element(tag, attrs)
    element.text = text
    xf.write(element)


def _balance(xf: Any, code: str, amount: Decimal, currency: str, day: date) -> None:
    bal = etree.Element("Bal")
    tp = etree.SubElement(etree.SubElement(bal, "Tp"), "CdOrPrtry")
    etree.SubElement(tp, "Cd").text = code
    etree.SubElement(bal, "Amt", Ccy=currency).text = format(abs(amount), "f")
    etree.SubElement(bal, "CdtDbtInd").text = "CRDT" if amount >= 0 else "DBIT"
    etree.SubElement(etree.SubElement(bal, "Dt"), "Dt").text = day.isoformat()
    xf.write(bal)


def _entry(xf: Any, values: tuple[Any, ...]) -> None:
    _, _, _, currency, booked, _, tx, amount, _, external_id, reference = values
    ntry = etree.Element("Ntry")
    etree.SubElement(ntry, "Amt", Ccy=currency).text = format(abs(amount), "f")
    direction = "CRDT" if amount >= 0 else "DBIT"
    etree.SubElement(ntry, "CdtDbtInd").text = direction
    etree.SubElement(etree.SubElement(ntry, "Sts"), "Cd").text = "BOOK"
    etree.SubElement(etree.SubElement(ntry, "BookgDt"), "Dt").text = booked.isoformat()
    etree.SubElement(etree.SubElement(ntry, "ValDt"), "Dt").text = booked.isoformat()
    etree.SubElement(ntry, "AcctSvcrRef").text = UUID(str(tx)).hex
    domain = etree.SubElement(etree.SubElement(ntry, "BkTxCd"), "Domn")
    etree.SubElement(domain, "Cd").text = "PMNT"
    family = etree.SubElement(domain, "Fmly")
    etree.SubElement(family, "Cd").text = "RCDT" if amount >= 0 else "ICDT"
    etree.SubElement(family, "SubFmlyCd").text = "OTHR"
    tx_details = etree.SubElement(etree.SubElement(ntry, "NtryDtls"), "TxDtls")
    refs = etree.SubElement(tx_details, "Refs")
    end_to_end = external_id if external_id and len(external_id) <= MAX35 else "NOTPROVIDED"
    etree.SubElement(refs, "EndToEndId").text = end_to_end
    etree.SubElement(tx_details, "Amt", Ccy=currency).text = format(abs(amount), "f")
    etree.SubElement(tx_details, "CdtDbtInd").text = direction
    if reference:
        etree.SubElement(etree.SubElement(tx_details, "RmtInf"), "Ustrd").text = reference[:140]
    xf.write(ntry)


def write_camt053(request: ReportRequest, rows: Iterable[tuple[Any, ...]], out: Path) -> int:
    """The statement's rows (OPBD, CLBD, then entries) as one camt.053.001.08 document; the
    number of rows written."""
    iterator = iter(rows)
    opening, closing = next(iterator, None), next(iterator, None)
    if opening is None or closing is None:
        raise StatementUnavailable(
            f"account: {request.params['account']} had no state as of {request.as_of.isoformat()}"
        )
    account, holder, currency = opening[1], opening[2], opening[3]
    first: date = request.params["from"]
    last: date = request.params["to"]
    created = request.as_of.isoformat()
    identity = f"{account}|{first}|{last}|{created}"
    ident = "STMT-" + hashlib.sha256(identity.encode()).hexdigest()[:24]
    period_end = min(
        datetime.combine(last + timedelta(days=1), datetime.min.time(), request.as_of.tzinfo)
        - timedelta(seconds=1),
        request.as_of,
    )
    count = 2
    with etree.xmlfile(str(out), encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element("Document", nsmap={None: NAMESPACE}), xf.element("BkToCstmrStmt"):
            with xf.element("GrpHdr"):
                _el(xf, "MsgId", ident)
                _el(xf, "CreDtTm", created)
            with xf.element("Stmt"):
                _el(xf, "Id", ident)
                _el(xf, "CreDtTm", created)
                with xf.element("FrToDt"):
                    _el(xf, "FrDtTm", f"{first.isoformat()}T00:00:00+00:00")
                    _el(xf, "ToDtTm", period_end.replace(microsecond=0).isoformat())
                acct = etree.Element("Acct")
                ident_el = etree.SubElement(acct, "Id")
                if ":" in account:
                    etree.SubElement(etree.SubElement(ident_el, "Othr"), "Id").text = account
                else:
                    etree.SubElement(ident_el, "IBAN").text = account
                etree.SubElement(acct, "Ccy").text = currency
                etree.SubElement(etree.SubElement(acct, "Ownr"), "Nm").text = holder[:140]
                xf.write(acct)
                _balance(xf, "OPBD", opening[8], currency, opening[4])
                _balance(xf, "CLBD", closing[8], currency, closing[4])
                for values in iterator:
                    _entry(xf, values)
                    count += 1
    return count
