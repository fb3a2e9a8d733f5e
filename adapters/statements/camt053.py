"""camt.053 (BankToCustomerStatement) reader, versions 001.02 to 001.08.

:func:`read_camt053` turns a document into :class:`~domain.reconciliation.statement.Statement`
values, one per ``Stmt``, or raises :class:`StatementError` with the reason. Element names are
read without their namespace, so every version reads the same way (the element names this
reader uses did not change between 02 and 08; where they did, e.g. ``Sts`` becoming
``Sts/Cd`` in 08, both forms are read). Only booked entries (``Sts`` BOOK) are kept.

Hostile input is refused, not parsed: no DTD, no entity expansion, no network access, no huge
trees, at most :data:`MAX_BYTES`. Identifiers longer than ISO 20022 allows
(:data:`MAX_LENGTHS`) are refused, naming the field, and so is every date read that is not
within :mod:`adapters.statements.dates`' years. lxml errors never leave this module.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from lxml import etree

from adapters.statements.dates import read_date, read_date_time
from domain.errors import InvalidIban, InvalidMoney
from domain.iban import normalise_iban
from domain.money import check_currency, parse_amount
from domain.reconciliation.statement import (
    NOT_PROVIDED,
    Direction,
    Statement,
    StatementEntry,
    StatementError,
)

MAX_BYTES = 50 * 1024 * 1024
"""Largest statement accepted (a busy account's day fits many times over)."""

_NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:(camt\.053\.001\.(\d{2}))$")
SUPPORTED_VERSIONS = tuple(f"camt.053.001.{n:02d}" for n in range(2, 9))
OPENING_CODES = ("OPBD", "PRCD")
"""Opening booked balance; some banks send the previous closing booked balance instead."""
MAX_LENGTHS = {
    "MsgId": 35,
    "Stmt/Id": 35,
    "Othr/Id": 34,
    "NtryRef": 35,
    "AcctSvcrRef": 35,
    "EndToEndId": 35,
    "InstrId": 35,
    "TxId": 35,
    "PmtInfId": 35,
    "MndtId": 35,
    "ChqNb": 35,
    "ClrSysRef": 35,
    "UETR": 36,
    "CdtrRefInf": 35,
}
"""ISO 20022 lengths of the identifiers read (Max35Text, Max34Text; a UETR is a UUID). A
longer one is refused: it is not a valid statement, and the read models keep them as text."""
_REFERENCE_KINDS = (
    "EndToEndId",
    "AcctSvcrRef",
    "InstrId",
    "TxId",
    "PmtInfId",
    "MsgId",
    "UETR",
    "MndtId",
    "ChqNb",
    "ClrSysRef",
)


def read_camt053(data: bytes | str) -> list[Statement]:
    """Every statement of a camt.053 document; raises :class:`StatementError` to refuse."""
    root = _parse(data)
    version = _version(root)
    _strip_namespaces(root)
    body = root.find("BkToCstmrStmt")
    if body is None:
        raise StatementError("Document/BkToCstmrStmt: required (not a camt.053 statement)")
    message_id = _identifier(body, "GrpHdr/MsgId", "BkToCstmrStmt", "MsgId") or ""
    created = _text(body, "GrpHdr/CreDtTm")
    if created is not None:  # not kept, but a document with a bad one is not a valid one
        read_date_time(created, "GrpHdr/CreDtTm")
    statements = body.findall("Stmt")
    if not statements:
        raise StatementError("BkToCstmrStmt/Stmt: at least one statement is required")
    return [
        _statement(stmt, f"Stmt[{number}]", message_id, version)
        for number, stmt in enumerate(statements, start=1)
    ]


# --------------------------------------------------------------------------- parsing


def _parse(data: bytes | str) -> etree._Element:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if not isinstance(raw, bytes):
        raise StatementError("a statement must be bytes or text")
    if len(raw) > MAX_BYTES:
        raise StatementError(f"statement is {len(raw)} bytes, the limit is {MAX_BYTES}")
    if not raw.strip():
        raise StatementError("the statement is empty")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(raw, parser)
    except (etree.XMLSyntaxError, ValueError) as error:
        raise StatementError(f"not well-formed XML: {error}") from None
    if root is None:
        raise StatementError("not well-formed XML: no root element")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise StatementError("DOCTYPE declarations are not accepted (entity expansion, XXE)")
    return root


def _version(root: etree._Element) -> str:
    name = etree.QName(root)
    if name.localname != "Document":
        raise StatementError(f"the root element must be Document, found {name.localname}")
    namespace = name.namespace
    if namespace is None:
        return "camt.053"  # no namespace: read as camt.053 if the content is one
    found = _NAMESPACE.match(namespace)
    if found is None:
        raise StatementError(
            f"not a camt.053 statement: namespace {namespace}; expected "
            "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02 to .08"
        )
    if found.group(1) not in SUPPORTED_VERSIONS:
        raise StatementError(
            f"{found.group(1)} is not supported; supported are "
            f"{SUPPORTED_VERSIONS[0]} to {SUPPORTED_VERSIONS[-1]}"
        )
    return found.group(1)


def _strip_namespaces(root: etree._Element) -> None:
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = etree.QName(element).localname
        # attributes used here (Ccy) carry no namespace


# --------------------------------------------------------------------------- statement


def _statement(stmt: etree._Element, where: str, message_id: str, version: str) -> Statement:
    statement_id = _required(stmt, "Id", where)
    _check_length(statement_id, f"{where}/Id", "Stmt/Id")
    created_at = read_date_time(_required(stmt, "CreDtTm", where), f"{where}/CreDtTm")
    account, is_iban = _account(stmt, where)
    balances = _balances(stmt, where)
    closing = balances.get("CLBD")
    if closing is None:
        raise StatementError(f"{where}/Bal: a closing booked balance (CLBD) is required")
    currency = _text(stmt, "Acct/Ccy") or closing[1]
    _currency(currency, f"{where}/Acct/Ccy")
    for code, (_amount, ccy, _day) in balances.items():
        if ccy != currency:
            raise StatementError(f"{where}/Bal {code}: in {ccy}, the account is in {currency}")
    opening = next((balances[c] for c in OPENING_CODES if c in balances), None)

    entries: list[StatementEntry] = []
    skipped = 0
    for number, ntry in enumerate(stmt.findall("Ntry"), start=1):
        entry = _entry(ntry, f"{where}/Ntry[{number}]", currency)
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)

    from_date, to_date = _period(stmt, where, closing[2], entries)
    return Statement(
        statement_id=statement_id,
        created_at=created_at,
        account=account,
        currency=currency,
        from_date=from_date,
        to_date=to_date,
        closing_balance=closing[0],
        opening_balance=opening[0] if opening is not None else None,
        entries=tuple(entries),
        message_id=message_id,
        version=version,
        account_is_iban=is_iban,
        skipped_entries=skipped,
    )


def _account(stmt: etree._Element, where: str) -> tuple[str, bool]:
    raw_iban = _text(stmt, "Acct/Id/IBAN")
    if raw_iban is not None:
        try:
            return normalise_iban(raw_iban), True
        except InvalidIban as error:
            raise StatementError(f"{where}/Acct/Id/IBAN: {error}") from None
    other = _identifier(stmt, "Acct/Id/Othr/Id", where, "Othr/Id")
    if other is not None:
        return other, False
    raise StatementError(f"{where}/Acct/Id: an IBAN or Othr/Id is required")


def _balances(stmt: etree._Element, where: str) -> dict[str, tuple[Decimal, str, date | None]]:
    found: dict[str, tuple[Decimal, str, date | None]] = {}
    for number, bal in enumerate(stmt.findall("Bal"), start=1):
        here = f"{where}/Bal[{number}]"
        code = _text(bal, "Tp/CdOrPrtry/Cd") or _text(bal, "Tp/CdOrPrtry/Prtry")
        if code not in ("CLBD", *OPENING_CODES) or code in found:
            continue
        amount, currency = _amount(bal, here)
        signed = amount if _direction(bal, here) is Direction.CREDIT else -amount
        day = _date_of(bal, "Dt", here)
        found[code] = (signed, currency, day)
    return found


def _period(
    stmt: etree._Element,
    where: str,
    closing_day: date | None,
    entries: list[StatementEntry],
) -> tuple[date, date]:
    start = _text(stmt, "FrToDt/FrDtTm")
    end = _text(stmt, "FrToDt/ToDtTm")
    if start is not None and end is not None:
        # the bank's local calendar days (an offset is the bank's, not UTC)
        first = read_date_time(start, f"{where}/FrToDt/FrDtTm", keep_offset=True).date()
        last = read_date_time(end, f"{where}/FrToDt/ToDtTm", keep_offset=True).date()
        if first > last:
            raise StatementError(f"{where}/FrToDt: FrDtTm is after ToDtTm")
        return first, last
    days = [e.booking_date for e in entries]
    if closing_day is not None:
        days.append(closing_day)
    if not days:
        raise StatementError(
            f"{where}: the period is unknown (no FrToDt, no closing balance date, no entries)"
        )
    return min(days), max(days)


# --------------------------------------------------------------------------- entries


def _entry(ntry: etree._Element, where: str, currency: str) -> StatementEntry | None:
    status = _text(ntry, "Sts/Cd") or _text(ntry, "Sts/Prtry") or _text(ntry, "Sts")
    if status is None:
        raise StatementError(f"{where}/Sts: required")
    if status != "BOOK":
        return None
    amount, entry_currency = _amount(ntry, where)
    if entry_currency != currency:
        raise StatementError(
            f"{where}/Amt/@Ccy: {entry_currency} differs from the account currency {currency}"
        )
    direction = _direction(ntry, where)
    booking_date = _date_of(ntry, "BookgDt", where)
    if booking_date is None:
        raise StatementError(f"{where}/BookgDt: required for a booked entry")
    value_date = _date_of(ntry, "ValDt", where)
    reversal = (_text(ntry, "RvslInd") or "false").lower() in ("true", "1")

    references: list[tuple[str, str]] = []

    def add(kind: str, value: str | None) -> None:
        if value and value.upper() != NOT_PROVIDED and (kind, value) not in references:
            references.append((kind, value))

    servicer_ref = _identifier(ntry, "AcctSvcrRef", where, "AcctSvcrRef")
    add("AcctSvcrRef", servicer_ref)
    add("NtryRef", _identifier(ntry, "NtryRef", where, "NtryRef"))
    end_to_end: str | None = None
    remittance: list[str] = []
    for number, tx in enumerate(ntry.findall("NtryDtls/TxDtls"), start=1):
        here = f"{where}/NtryDtls/TxDtls[{number}]"
        for kind in _REFERENCE_KINDS:
            value = _identifier(tx, f"Refs/{kind}", here, kind)
            add(kind, value)
            if kind == "EndToEndId" and end_to_end is None and value:
                end_to_end = value if value.upper() != NOT_PROVIDED else None
        for line in tx.findall("RmtInf/Ustrd"):
            text = "".join(line.itertext()).strip()
            if text:
                remittance.append(text)
        add("CdtrRefInf", _identifier(tx, "RmtInf/Strd/CdtrRefInf/Ref", here, "CdtrRefInf"))
    if not remittance:
        extra = _text(ntry, "NtryDtls/TxDtls/AddtlTxInf") or _text(ntry, "AddtlNtryInf")
        if extra:
            remittance.append(extra)
    return StatementEntry(
        amount=amount,
        currency=entry_currency,
        direction=direction,
        booking_date=booking_date,
        value_date=value_date,
        account_servicer_ref=servicer_ref,
        end_to_end_id=end_to_end,
        references=tuple(references),
        remittance=" ".join(remittance),
        reversal=reversal,
    )


# --------------------------------------------------------------------------- values


def _text(parent: etree._Element, path: str) -> str | None:
    element = parent.find(path)
    if element is None:
        return None
    value = "".join(element.itertext()).strip()
    return value or None


def _identifier(parent: etree._Element, path: str, where: str, kind: str) -> str | None:
    """The text at ``path``, refused when longer than its ISO 20022 length."""
    value = _text(parent, path)
    if value is not None:
        _check_length(value, f"{where}/{path}", kind)
    return value


def _check_length(value: str, where: str, kind: str) -> None:
    limit = MAX_LENGTHS[kind]
    if len(value) > limit:
        raise StatementError(f"{where}: {len(value)} characters, ISO 20022 allows at most {limit}")


def _required(parent: etree._Element, path: str, where: str) -> str:
    value = _text(parent, path)
    if value is None:
        raise StatementError(f"{where}/{path}: required")
    return value


def _currency(code: str, where: str) -> str:
    try:
        return check_currency(code)
    except InvalidMoney as error:
        raise StatementError(f"{where}: {error}") from None


def _amount(parent: etree._Element, where: str) -> tuple[Decimal, str]:
    element = parent.find("Amt")
    if element is None:
        raise StatementError(f"{where}/Amt: required")
    raw = "".join(element.itertext()).strip()
    if not raw:
        raise StatementError(f"{where}/Amt: required")
    currency = _currency((element.get("Ccy") or "").strip(), f"{where}/Amt/@Ccy")
    if not re.fullmatch(r"\d{1,18}(\.\d{1,5})?", raw):
        raise StatementError(f"{where}/Amt: not a non-negative decimal amount: {raw!r}")
    try:
        return parse_amount(raw, currency), currency
    except InvalidMoney as error:
        raise StatementError(f"{where}/Amt: {error}") from None


def _direction(parent: etree._Element, where: str) -> Direction:
    raw = _required(parent, "CdtDbtInd", where)
    try:
        return Direction(raw)
    except ValueError:
        raise StatementError(f"{where}/CdtDbtInd: must be CRDT or DBIT, got {raw!r}") from None


def _date_of(parent: etree._Element, path: str, where: str) -> date | None:
    day = _text(parent, f"{path}/Dt")
    if day is not None:
        return read_date(day, f"{where}/{path}/Dt")
    moment = _text(parent, f"{path}/DtTm")
    if moment is not None:
        return read_date_time(moment, f"{where}/{path}/DtTm", keep_offset=True).date()
    return None
