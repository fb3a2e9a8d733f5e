"""The camt.053 reader: two real bank statements, generated ones of every version 02..08
(checked against pyiso20022's schema classes), and malformed or hostile input."""

from __future__ import annotations

import importlib
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.config import ParserConfig

from adapters.statements import read_camt053
from domain.reconciliation.statement import Direction, Statement, StatementError
from tests.camt053_support import Entry, StatementSpec, build_camt053

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "camt053"
IBAN = "DE89370400440532013000"
DAY = date(2026, 11, 23)


def read_one(data: bytes | str) -> Statement:
    [statement] = read_camt053(data)
    return statement


def spec(**overrides: object) -> StatementSpec:
    base = StatementSpec(
        account=IBAN,
        currency="EUR",
        from_date=DAY,
        to_date=DAY,
        opening=Decimal("100.00"),
        closing=Decimal("115.50"),
        entries=[
            Entry(Decimal("25.50"), DAY, "E2E-1", "ASR-1", "Invoice 1"),
            Entry(Decimal("-10.00"), DAY, "E2E-2", None, "Rent", reversal=False),
        ],
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- real files


def test_abn_amro_camt053_001_02() -> None:
    statement = read_one((FIXTURES / "nl-abn-camt053.001.02.xml").read_bytes())
    assert statement.version == "camt.053.001.02"
    assert statement.statement_id == "1234Test/1"
    assert statement.message_id == "TESTBANK/NL/1420561226673"
    assert statement.created_at == datetime(2013, 1, 6, 16, 20, 26, 673000, tzinfo=UTC)
    assert statement.account == "NL77ABNA0574908765"
    assert statement.currency == "EUR"
    assert (statement.from_date, statement.to_date) == (date(2013, 1, 5), date(2013, 1, 5))
    assert statement.opening_balance == Decimal("15568.27")
    assert statement.closing_balance == Decimal("15121.12")
    amounts = [(e.amount, e.direction) for e in statement.entries]
    assert amounts == [
        (Decimal("754.25"), Direction.DEBIT),
        (Decimal("594.05"), Direction.DEBIT),
        (Decimal("1405.31"), Direction.CREDIT),
    ]
    first, returned, credit = statement.entries
    assert first.end_to_end_id == "435005714488-ABNO33052620"
    assert ("InstrId", "INNDNL2U20141231000142300002844") in first.references
    assert first.remittance == "Insurance policy 857239PERIOD 01.01.2013 - 31.12.2013"
    assert not first.reversal
    # the returned direct debit: reversal, and its entry amount differs from its TxAmt
    assert returned.reversal
    assert returned.amount == Decimal("594.05")
    assert returned.end_to_end_id == "TESTBANK/NL/20141229/01206408"
    assert credit.end_to_end_id == "115"
    assert credit.signed_amount == Decimal("1405.31")
    assert all(e.booking_date == date(2013, 1, 5) for e in statement.entries)
    assert all(isinstance(e.amount, Decimal) for e in statement.entries)


def test_credit_suisse_camt053_001_04_multi_currency() -> None:
    statement = read_one((FIXTURES / "ch-cs-camt053.001.04-multi-currency.xml").read_bytes())
    assert statement.version == "camt.053.001.04"
    assert statement.statement_id == "47608f88362e485da1eaaa654ab4f84b"
    assert statement.account == "CH1904835028789771000"
    assert statement.currency == "CHF"
    # the bank's local days (+02:00), not UTC
    assert (statement.from_date, statement.to_date) == (date(2021, 9, 14), date(2021, 9, 14))
    assert statement.created_at == datetime(2021, 9, 14, 22, 48, 38, 432000, tzinfo=UTC)
    assert statement.opening_balance == Decimal("350777.85")
    assert statement.closing_balance == Decimal("350332.64")
    debit, credit = statement.entries
    # the EUR payment is booked at its CHF counter-value
    assert (debit.amount, debit.currency, debit.direction) == (
        Decimal("579.21"),
        "CHF",
        Direction.DEBIT,
    )
    assert debit.account_servicer_ref == "DNXK210913CS36481/1001"
    assert debit.end_to_end_id == "SP-98803960-0"
    assert ("AcctSvcrRef", "DNXK-210913-CS-36481") in debit.references
    assert debit.remittance == "Devis DEV-01387"
    assert debit.value_date == date(2021, 9, 14)
    assert (credit.amount, credit.direction, credit.end_to_end_id) == (
        Decimal("134.00"),
        Direction.CREDIT,
        "1050079910",
    )
    # the statement's own arithmetic holds
    total = sum((e.signed_amount for e in statement.entries), Decimal(0))
    assert statement.opening_balance + total == statement.closing_balance


# --------------------------------------------------------------------------- generated

_STRICT = ParserConfig(
    fail_on_unknown_properties=True,
    fail_on_unknown_attributes=True,
    fail_on_converter_warnings=True,
)


@pytest.mark.parametrize("version", range(2, 9))
def test_generated_statements_of_every_version(version: int) -> None:
    body = build_camt053(spec(), version)
    schema = importlib.import_module(f"pyiso20022.camt.camt_053_001_{version:02d}")
    XmlParser(config=_STRICT).from_bytes(body, schema.Document)  # the generator is valid
    statement = read_one(body)
    assert statement.version == f"camt.053.001.{version:02d}"
    assert (statement.account, statement.currency, statement.statement_id) == (
        IBAN,
        "EUR",
        "STMT-1",
    )
    assert statement.opening_balance == Decimal("100.00")
    assert statement.closing_balance == Decimal("115.50")
    assert [e.signed_amount for e in statement.entries] == [Decimal("25.50"), Decimal("-10.00")]
    assert [e.end_to_end_id for e in statement.entries] == ["E2E-1", "E2E-2"]
    assert statement.entries[0].account_servicer_ref == "ASR-1"
    assert statement.entries[0].remittance == "Invoice 1"


def test_statement_round_trips_through_plain_data() -> None:
    statement = read_one((FIXTURES / "ch-cs-camt053.001.04-multi-currency.xml").read_bytes())
    copy = Statement.from_data(statement.summary_data(), [e.as_data() for e in statement.entries])
    assert copy == statement


def test_only_booked_entries_are_kept_and_negative_balances_are_signed() -> None:
    entries = [
        Entry(Decimal("5.00"), DAY, "E2E-B"),
        Entry(Decimal("7.00"), DAY, "E2E-P", status="PDNG"),
    ]
    statement = read_one(build_camt053(spec(entries=entries, closing=Decimal("-3.25")), 2))
    assert [e.end_to_end_id for e in statement.entries] == ["E2E-B"]
    assert statement.skipped_entries == 1
    assert statement.closing_balance == Decimal("-3.25")


def test_other_account_identification() -> None:
    statement = read_one(build_camt053(spec(account="CORE-0001", other_id=True), 8))
    assert statement.account == "CORE-0001"
    assert not statement.account_is_iban


def test_notprovided_references_are_ignored() -> None:
    entries = [Entry(Decimal("5.00"), DAY, "NOTPROVIDED")]
    statement = read_one(build_camt053(spec(entries=entries), 8))
    assert statement.entries[0].end_to_end_id is None
    assert statement.entries[0].references == ()


def test_the_digest_is_of_the_statements_facts_not_of_the_message() -> None:
    first = read_one(build_camt053(spec(), 2))
    resent = read_one(
        build_camt053(
            spec(message_id="MSG-2", created_at=datetime(2026, 11, 25, 7, 30, tzinfo=UTC)), 8
        )
    )
    assert (first.version, first.message_id) != (resent.version, resent.message_id)
    assert first.digest() == resent.digest()
    assert len(first.digest()) == 64
    entries = spec().entries
    for changed in (
        spec(closing=Decimal("115.49")),
        spec(opening=Decimal("100.01")),
        spec(entries=[replace(entries[0], end_to_end_id="E2E-9"), entries[1]]),
        spec(entries=[replace(entries[0], booking_date=date(2026, 11, 22)), entries[1]]),
        spec(entries=[entries[0], replace(entries[1], amount=Decimal("10.00"))]),
        spec(entries=[*entries, Entry(Decimal("-0.01"), DAY, "E2E-3")]),
        spec(statement_id="STMT-2"),
    ):
        assert read_one(build_camt053(changed, 8)).digest() != first.digest(), changed


# --------------------------------------------------------------------------- refused


def _replace(body: bytes, old: str, new: str) -> bytes:
    text = body.decode()
    assert old in text, old
    return text.replace(old, new, 1).encode()


GOOD = build_camt053(spec(), 8)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"this is not XML", "not well-formed XML"),
        (b"<Document><BkToCstmrStmt>", "not well-formed XML"),
        (b"<Invoice/>", "root element must be Document"),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"/>',
            "not a camt.053 statement",
        ),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.12"/>',
            "not supported",
        ),
        (b"<Document><Other/></Document>", "BkToCstmrStmt: required"),
        (_replace(GOOD, '<Amt Ccy="EUR">25.50</Amt>', '<Amt Ccy="EUR"></Amt>'), "Amt: required"),
        (_replace(GOOD, '<Amt Ccy="EUR">25.50</Amt>', ""), "Amt: required"),
        (_replace(GOOD, '<Amt Ccy="EUR">25.50</Amt>', '<Amt Ccy="XYZ">25.50</Amt>'), "XYZ"),
        (_replace(GOOD, '<Amt Ccy="EUR">25.50</Amt>', '<Amt Ccy="USD">25.50</Amt>'), "differs"),
        (_replace(GOOD, '<Amt Ccy="EUR">25.50</Amt>', '<Amt Ccy="EUR">25.505</Amt>'), "decimal"),
        (_replace(GOOD, '<Amt Ccy="EUR">25.50</Amt>', '<Amt Ccy="EUR">-25.50</Amt>'), "Amt"),
        (_replace(GOOD, '<Amt Ccy="EUR">25.50</Amt>', '<Amt Ccy="EUR">1e3</Amt>'), "Amt"),
        (_replace(GOOD, "<Cd>CLBD</Cd>", "<Cd>CLAV</Cd>"), "CLBD"),
        (_replace(GOOD, "<IBAN>DE89370400440532013000</IBAN>", "<IBAN>DE00123</IBAN>"), "IBAN"),
        (_replace(GOOD, "<CdtDbtInd>CRDT</CdtDbtInd>", "<CdtDbtInd>UP</CdtDbtInd>"), "CdtDbtInd"),
        (_replace(GOOD, "<Dt>2026-11-23</Dt>", "<Dt>2026-13-40</Dt>"), "not a date"),
        (_replace(GOOD, "<Id>STMT-1</Id>", ""), "Stmt[1]/Id: required"),
    ],
)
def test_malformed_statements_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(StatementError) as raised:
        read_camt053(body)
    assert reason in raised.value.reason
    assert str(raised.value) == raised.value.reason


LONG = "X" * 80


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (build_camt053(spec(account=LONG, other_id=True), 8), "Stmt[1]/Acct/Id/Othr/Id"),
        (build_camt053(spec(account="X" * 35, other_id=True), 8), "Othr/Id"),
        (build_camt053(spec(statement_id="S" * 36), 8), "Stmt[1]/Id"),
        (build_camt053(spec(message_id=LONG), 8), "GrpHdr/MsgId"),
        (
            build_camt053(spec(entries=[Entry(Decimal("1.00"), DAY, "E" * 36)]), 8),
            "Stmt[1]/Ntry[1]/NtryDtls/TxDtls[1]/Refs/EndToEndId",
        ),
        (
            build_camt053(spec(entries=[Entry(Decimal("1.00"), DAY, None, LONG)]), 8),
            "Stmt[1]/Ntry[1]/AcctSvcrRef",
        ),
        (
            _replace(GOOD, "<AcctSvcrRef>ASR-1</AcctSvcrRef>", f"<NtryRef>{LONG}</NtryRef>"),
            "Stmt[1]/Ntry[1]/NtryRef",
        ),
        (
            _replace(GOOD, "<EndToEndId>E2E-1</EndToEndId>", f"<TxId>{LONG}</TxId>"),
            "Stmt[1]/Ntry[1]/NtryDtls/TxDtls[1]/Refs/TxId",
        ),
        (_replace(GOOD, "<IBAN>DE89370400440532013000</IBAN>", f"<IBAN>{LONG}</IBAN>"), "IBAN"),
    ],
)
def test_identifiers_longer_than_iso20022_allows_are_refused(body: bytes, field: str) -> None:
    """Othr/Id is Max34Text, the ids and references Max35Text: a longer one is not a valid
    statement (and must never reach the read models)."""
    with pytest.raises(StatementError) as raised:
        read_camt053(body)
    assert field in raised.value.reason


def test_identifiers_at_their_iso20022_lengths_are_read() -> None:
    entries = [Entry(Decimal("25.50"), DAY, "E" * 35, "A" * 35)]
    body = build_camt053(
        spec(
            account="O" * 34,
            other_id=True,
            statement_id="S" * 35,
            message_id="M" * 35,
            entries=entries,
            closing=Decimal("125.50"),
        ),
        8,
    )
    statement = read_one(body)
    assert (statement.account, statement.statement_id) == ("O" * 34, "S" * 35)
    assert statement.entries[0].end_to_end_id == "E" * 35


def test_xxe_is_refused_and_no_file_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    hostile = _replace(
        GOOD,
        "<?xml version='1.0' encoding='UTF-8'?>",
        f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{secret}">]>',
    )
    hostile = _replace(hostile, "<Id>STMT-1</Id>", "<Id>&xxe;</Id>")
    with pytest.raises(StatementError) as raised:
        read_camt053(hostile)
    assert "DOCTYPE" in raised.value.reason
    assert "TOPSECRET" not in raised.value.reason


def test_billion_laughs_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b"<Document><BkToCstmrStmt>&lol3;</BkToCstmrStmt></Document>"
    )
    with pytest.raises(StatementError):
        read_camt053(bomb)


def test_a_statement_written_by_the_iso20022_schema_classes() -> None:
    """Written by pyiso20022's generated classes alone, not by the test generator."""
    from pyiso20022.camt.camt_053_001_08 import camt_053_001_08 as iso
    from xsdata.formats.dataclass.serializers import XmlSerializer
    from xsdata.models.datatype import XmlDate, XmlDateTime

    def amount(value: str) -> Any:
        return iso.ActiveOrHistoricCurrencyAndAmount(value=Decimal(value), ccy="EUR")

    def day() -> Any:
        return iso.DateAndDateTime2Choice(dt=XmlDate(2026, 11, 23))

    def balance(code: str, value: str, sign: Any) -> Any:
        kind = iso.BalanceType13(cd_or_prtry=iso.BalanceType10Choice(cd=code))
        return iso.CashBalance8(tp=kind, amt=amount(value), cdt_dbt_ind=sign, dt=day())

    code = iso.BankTransactionCodeStructure4(
        domn=iso.BankTransactionCodeStructure5(
            cd="PMNT", fmly=iso.BankTransactionCodeStructure6(cd="ICDT", sub_fmly_cd="ESCT")
        )
    )
    details = iso.EntryDetails9(
        tx_dtls=[
            iso.EntryTransaction10(
                refs=iso.TransactionReferences6(end_to_end_id="E2E-ISO", uetr=None, tx_id="TX-9"),
                rmt_inf=iso.RemittanceInformation16(ustrd=["Invoice 9"]),
            )
        ]
    )
    entry = iso.ReportEntry10(
        amt=amount("19.99"),
        cdt_dbt_ind=iso.CreditDebitCode.DBIT,
        rvsl_ind=False,
        sts=iso.EntryStatus1Choice(cd="BOOK"),
        bookg_dt=day(),
        val_dt=day(),
        acct_svcr_ref="CORE-REF-9",
        bk_tx_cd=code,
        ntry_dtls=[details],
    )
    created = XmlDateTime(2026, 11, 24, 1, 0, 0, 0, 0)
    document = iso.Document(
        bk_to_cstmr_stmt=iso.BankToCustomerStatementV08(
            grp_hdr=iso.GroupHeader81(msg_id="ISO-MSG", cre_dt_tm=created),
            stmt=[
                iso.AccountStatement9(
                    id="ISO-STMT",
                    cre_dt_tm=created,
                    acct=iso.CashAccount39(
                        id=iso.AccountIdentification4Choice(iban=IBAN), ccy="EUR"
                    ),
                    bal=[
                        balance("OPBD", "20.00", iso.CreditDebitCode.CRDT),
                        balance("CLBD", "0.01", iso.CreditDebitCode.CRDT),
                    ],
                    ntry=[entry],
                )
            ],
        )
    )
    body = XmlSerializer().render(document).encode()
    statement = read_one(body)
    assert (statement.statement_id, statement.message_id, statement.account) == (
        "ISO-STMT",
        "ISO-MSG",
        IBAN,
    )
    assert statement.created_at == datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert (statement.from_date, statement.to_date) == (DAY, DAY)  # from the balances' dates
    assert (statement.opening_balance, statement.closing_balance) == (
        Decimal("20.00"),
        Decimal("0.01"),
    )
    [read] = statement.entries
    assert (read.signed_amount, read.end_to_end_id, read.account_servicer_ref) == (
        Decimal("-19.99"),
        "E2E-ISO",
        "CORE-REF-9",
    )
    assert ("TxId", "TX-9") in read.references
    assert read.remittance == "Invoice 9"
