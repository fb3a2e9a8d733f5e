"""pacs.008.001.08: parsing into ingestion messages, rejection reasons, and the builder.

What ``build_pacs008`` writes is checked against pyiso20022's classes generated from the
ISO 20022 XSD (strict xsdata parse, the schema's facets, the schema's element order), and
one message is written by those classes alone, so the parser is not only tested against
its own builder.
"""

from __future__ import annotations

import importlib.util
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pyiso20022
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from pyiso20022.pacs import pacs_008_001_08 as iso
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.config import ParserConfig
from xsdata.formats.dataclass.serializers import XmlSerializer
from xsdata.models.datatype import XmlDateTime

from adapters.iso20022 import MessageRejected, Pacs008Tx, build_pacs008, parse_pacs008
from adapters.iso20022.pacs008 import MAX_BODY_BYTES, NAMESPACE, idempotency_id
from application.ledger.commands import PaymentInstruction
from tests.builders import COUNTRIES, iban

CREATED = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
DE_IBAN = "DE89370400440532013000"
FR_IBAN = "FR1420041010050500013M02606"
UETR = "eb6305c9-1f7f-49de-aed0-16487c27b42d"
CAMT053_FIXTURE = (
    Path(__file__).resolve().parents[3] / "shared/fixtures/camt053/nl-abn-camt053.001.02.xml"
)


def tx(n: int = 1, **overrides: Any) -> Pacs008Tx:
    fields: dict[str, Any] = {
        "end_to_end_id": f"E2E-{n}",
        "amount": Decimal("125.40"),
        "currency": "EUR",
        "debtor_name": "Max Mustermann",
        "debtor_iban": DE_IBAN,
        "creditor_name": "Marie Dupont",
        "creditor_iban": FR_IBAN,
        "reference": f"Invoice {n}",
    }
    fields.update(overrides)
    return Pacs008Tx(**fields)


def build(*transactions: Pacs008Tx, **kwargs: Any) -> bytes:
    kwargs.setdefault("message_id", "MSG-1")
    kwargs.setdefault("created_at", CREATED)
    return build_pacs008(list(transactions) or [tx()], **kwargs)


def q(path: str) -> str:
    return "/".join(f"{{{NAMESPACE}}}{step}" for step in path.split("/"))


def edit(body: bytes, change: Any) -> bytes:
    """Apply ``change(root)`` to a built document and serialise it again."""
    root = etree.fromstring(body)
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def transactions_of(root: etree._Element) -> list[etree._Element]:
    return root.findall(q("FIToFICstmrCdtTrf/CdtTrfTxInf"))


def rejected(body: bytes) -> MessageRejected:
    with pytest.raises(MessageRejected) as caught:
        parse_pacs008(body)
    return caught.value


# ------------------------------------------------------------------- the mapping


def test_three_transactions_map_to_three_ingestion_messages() -> None:
    body = build(
        tx(1, uetr=UETR, tx_id="TX-1", debtor_agent_bic="COBADEFFXXX"),
        tx(2, tx_id="TX-2", amount="1000.10", currency="GBP", reference=""),
        tx(3, amount=Decimal("0.01"), creditor_name="Zoë Ærøskøbing-Łódź"),
        message_id="MSG-2026-11-23-0001",
        instructing_agent_bic="DEUTDEFFXXX",
    )

    messages = parse_pacs008(body)

    assert messages[0] == {
        "externalId": UETR,
        "channel": "PACS008",
        "debtor": {"iban": DE_IBAN, "name": "Max Mustermann"},
        "creditor": {"iban": FR_IBAN, "name": "Marie Dupont"},
        "amount": "125.40",
        "currency": "EUR",
        "reference": "Invoice 1",
        "requestedAt": "2026-11-23T10:15:00Z",
        "metadata": {
            "messageId": "MSG-2026-11-23-0001",
            "endToEndId": "E2E-1",
            "txId": "TX-1",
            "uetr": UETR,
            "instructingAgentBic": "DEUTDEFFXXX",
        },
    }
    assert [m["externalId"] for m in messages] == [
        UETR,
        "DEUTDEFFXXX/TX-2",  # a TxId is unique per instructing agent only
        "MSG-2026-11-23-0001/E2E-3",  # an EndToEndId within its message
    ]
    assert [(m["amount"], m["currency"]) for m in messages] == [
        ("125.40", "EUR"),
        ("1000.10", "GBP"),
        ("0.01", "EUR"),
    ]
    assert messages[1]["reference"] == ""
    assert messages[2]["creditor"]["name"] == "Zoë Ærøskøbing-Łódź"
    assert messages[2]["metadata"] == {
        "messageId": "MSG-2026-11-23-0001",
        "endToEndId": "E2E-3",
        "instructingAgentBic": "DEUTDEFFXXX",
    }
    for message in messages:
        instruction = PaymentInstruction.from_message(message)
        assert instruction.channel == "PACS008"
        assert instruction.requested_at == CREATED
    assert str(PaymentInstruction.from_message(messages[1]).amount.amount) == "1000.10"


def test_channel_is_the_callers() -> None:
    assert parse_pacs008(build(), channel="SEPA-SCT")[0]["channel"] == "SEPA-SCT"


@pytest.mark.parametrize(
    ("uetr", "tx_id", "expected"),
    [
        (UETR, "TX-1", UETR),  # UETR: globally unique by construction
        (UETR, None, UETR),
        (None, "TX-1", "TX-1"),  # TxId: unique per instructing agent (none named here)
        (None, None, "MSG-1/E2E-1"),  # EndToEndId: the debtor's, qualified by the message
    ],
)
def test_idempotency_key_prefers_uetr_then_tx_id_then_end_to_end_id(
    uetr: str | None, tx_id: str | None, expected: str
) -> None:
    [message] = parse_pacs008(build(tx(1, uetr=uetr, tx_id=tx_id)))
    assert message["externalId"] == expected
    assert message["metadata"]["endToEndId"] == "E2E-1"
    assert message["metadata"].get("uetr") == uetr
    assert message["metadata"].get("txId") == tx_id


@pytest.mark.parametrize("amount", ["1000.10", "1000.1", "1000", "0.50", "12345678.90"])
def test_amount_text_is_kept_exactly_as_written(amount: str) -> None:
    [message] = parse_pacs008(build(tx(amount=amount)))
    assert message["amount"] == amount
    assert isinstance(message["amount"], str)


def test_decimal_amount_keeps_its_trailing_zero() -> None:
    [message] = parse_pacs008(build(tx(amount=Decimal("1000.10"))))
    assert message["amount"] == "1000.10"


def test_reference_joins_unstructured_lines_else_takes_the_creditor_reference() -> None:
    def two_lines(root: etree._Element) -> None:
        remittance = transactions_of(root)[0].find(q("RmtInf"))
        assert remittance is not None
        etree.SubElement(remittance, q("Ustrd")).text = "second line"

    def structured_only(root: etree._Element) -> None:
        [first, second] = transactions_of(root)
        for element in (first, second):
            remittance = element.find(q("RmtInf"))
            assert remittance is not None
            for line in remittance.findall(q("Ustrd")):
                remittance.remove(line)
        creditor_ref = first.find(q("RmtInf"))
        assert creditor_ref is not None
        strd = etree.SubElement(creditor_ref, q("Strd"))
        ref = etree.SubElement(etree.SubElement(strd, q("CdtrRefInf")), q("Ref"))
        ref.text = "RF18539007547034"

    assert parse_pacs008(edit(build(), two_lines))[0]["reference"] == "Invoice 1 second line"
    both = parse_pacs008(edit(build(tx(1), tx(2)), structured_only))
    assert [m["reference"] for m in both] == ["RF18539007547034", ""]


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        (
            datetime(2026, 11, 23, 12, 15, tzinfo=timezone(timedelta(hours=2))),
            "2026-11-23T10:15:00Z",
        ),
        (datetime(2026, 11, 23, 10, 15, 0, 250000, tzinfo=UTC), "2026-11-23T10:15:00.250000Z"),
        (datetime(2026, 11, 23, 10, 15), "2026-11-23T10:15:00Z"),  # no offset: taken as UTC
    ],
)
def test_requested_at_is_the_creation_time_in_utc(created_at: datetime, expected: str) -> None:
    [message] = parse_pacs008(build(created_at=created_at))
    assert message["requestedAt"] == expected
    assert PaymentInstruction.from_message(message).requested_at is not None


def test_transaction_instructing_agent_wins_over_the_group_header() -> None:
    def add_agent(root: etree._Element) -> None:
        first = transactions_of(root)[0]
        agent = etree.Element(q("InstgAgt"))
        etree.SubElement(etree.SubElement(agent, q("FinInstnId")), q("BICFI")).text = "BNPAFRPP"
        first.find(q("Dbtr")).addprevious(agent)

    messages = parse_pacs008(edit(build(tx(1), tx(2), instructing_agent_bic="DEUTDEFF"), add_agent))
    assert [m["metadata"]["instructingAgentBic"] for m in messages] == ["BNPAFRPP", "DEUTDEFF"]
    assert "instructingAgentBic" not in parse_pacs008(build())[0]["metadata"]


# ---------------------------------------------------------------------- rejection


@pytest.mark.parametrize(
    "body",
    [b"", b"not xml", b"<Document", b"<a><b></a>", b"<?xml version='1.0'?>", b"<a>&undefined;</a>"],
)
def test_malformed_xml(body: bytes) -> None:
    assert rejected(body).reason == "malformed-xml"


def test_truncated_message_is_malformed() -> None:
    assert rejected(build()[:-20]).reason == "malformed-xml"


def test_entity_expansion_is_refused_as_malformed() -> None:
    billion_laughs = b"""<?xml version="1.0"?>
<!DOCTYPE Document [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08">&lol3;</Document>"""
    error = rejected(billion_laughs)
    assert error.reason == "malformed-xml"
    assert "DOCTYPE" in error.detail


def test_external_entity_is_refused_and_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = build(tx(debtor_name="PLACEHOLDER")).replace(b"PLACEHOLDER", b"&xxe;")
    body = body.replace(
        b"?>",
        f'?><!DOCTYPE Document [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'.encode(),
        1,
    )
    error = rejected(body)
    assert error.reason == "malformed-xml"
    assert "DOCTYPE" in error.detail
    assert "TOP-SECRET" not in str(error)


def test_a_doctype_alone_is_refused() -> None:
    body = build().replace(b"?>", b"?><!DOCTYPE Document>", 1)
    assert rejected(body).reason == "malformed-xml"


def test_body_over_5_mib_is_too_large_and_at_the_limit_is_read() -> None:
    message = build()
    padding = MAX_BODY_BYTES - len(message) - len(b"<!---->")
    at_limit = message + b"<!--" + b"x" * padding + b"-->"
    assert len(at_limit) == MAX_BODY_BYTES
    assert len(parse_pacs008(at_limit)) == 1
    error = rejected(at_limit + b" ")
    assert error.reason == "too-large"
    assert str(MAX_BODY_BYTES) in error.detail


@pytest.mark.parametrize(
    "namespace",
    [
        "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.02",
        "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.09",
        "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02",
    ],
)
def test_other_versions_and_messages_are_unsupported(namespace: str) -> None:
    body = build().replace(NAMESPACE.encode(), namespace.encode())
    error = rejected(body)
    assert error.reason == "unsupported-message-type"
    assert namespace in error.detail


def test_a_camt053_statement_is_unsupported() -> None:
    statement = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
        b"<BkToCstmrStmt><GrpHdr><MsgId>S1</MsgId></GrpHdr></BkToCstmrStmt></Document>"
    )
    bodies = [statement]
    if CAMT053_FIXTURE.exists():  # a real bank's statement, from shared/fixtures
        bodies.append(CAMT053_FIXTURE.read_bytes())
    for body in bodies:
        error = rejected(body)
        assert error.reason == "unsupported-message-type"
        assert "camt.053.001.02" in error.detail


@pytest.mark.parametrize(
    ("body", "found"),
    [
        (b"<Document/>", "no namespace"),
        (f'<AppHdr xmlns="{NAMESPACE}"/>'.encode(), "AppHdr"),
    ],
)
def test_wrong_root_is_unsupported(body: bytes, found: str) -> None:
    error = rejected(body)
    assert error.reason == "unsupported-message-type"
    assert found in error.detail


def test_account_given_as_other_id_is_a_schema_violation_naming_the_transaction() -> None:
    """Written by pyiso20022's classes: valid pacs.008, but no IBAN for us to book on."""
    document = _iso_document(
        [
            _iso_tx("E2E-1", "EUR", Decimal("10.00")),
            _iso_tx(
                "E2E-2",
                "EUR",
                Decimal("20.00"),
                debtor_account=iso.AccountIdentification4Choice(
                    othr=iso.GenericAccountIdentification1(id="0532013000")
                ),
            ),
        ]
    )
    error = rejected(_render(document))
    assert error.reason == "schema-violation"
    assert "CdtTrfTxInf[2]/DbtrAcct/Id/IBAN: required (found DbtrAcct/Id/Othr)" in error.detail
    assert "CdtTrfTxInf[1]" not in error.detail


def test_nb_of_txs_must_match_the_transactions() -> None:
    body = build(tx(1), tx(2)).replace(b"<NbOfTxs>2</NbOfTxs>", b"<NbOfTxs>3</NbOfTxs>")
    error = rejected(body)
    assert error.reason == "schema-violation"
    assert "GrpHdr/NbOfTxs" in error.detail
    assert "'3'" in error.detail


def test_message_without_transactions_is_a_schema_violation() -> None:
    def drop_all(root: etree._Element) -> None:
        for element in transactions_of(root):
            element.getparent().remove(element)

    error = rejected(edit(build(), drop_all))
    assert error.reason == "schema-violation"
    assert "CdtTrfTxInf: at least one transaction is required" in error.detail


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("IntrBkSttlmAmt", "CdtTrfTxInf[2]/IntrBkSttlmAmt: required"),
        ("IntrBkSttlmAmt/@Ccy", "CdtTrfTxInf[2]/IntrBkSttlmAmt/@Ccy: required"),
        ("DbtrAcct", "CdtTrfTxInf[2]/DbtrAcct/Id/IBAN: required"),
        ("CdtrAcct/Id/IBAN", "CdtTrfTxInf[2]/CdtrAcct/Id/IBAN: required"),
        ("Dbtr/Nm", "CdtTrfTxInf[2]/Dbtr/Nm: required"),
        ("Cdtr/Nm", "CdtTrfTxInf[2]/Cdtr/Nm: required"),
        ("PmtId/EndToEndId", "CdtTrfTxInf[2]/PmtId/EndToEndId: required"),
    ],
)
def test_missing_element_is_a_schema_violation_with_its_path(path: str, expected: str) -> None:
    def remove(root: etree._Element) -> None:
        second = transactions_of(root)[1]
        if path.endswith("/@Ccy"):
            amount = second.find(q("IntrBkSttlmAmt"))
            assert amount is not None
            del amount.attrib["Ccy"]
            return
        element = second.find(q(path))
        assert element is not None
        element.getparent().remove(element)

    error = rejected(edit(build(tx(1), tx(2)), remove))
    assert error.reason == "schema-violation"
    assert expected in error.detail


def test_blank_name_and_every_problem_are_reported_together() -> None:
    body = build(tx(1, debtor_name="  "), tx(2, creditor_iban="")).replace(
        b"<MsgId>MSG-1</MsgId>", b""
    )
    error = rejected(body)
    assert error.reason == "schema-violation"
    for problem in (
        "GrpHdr/MsgId: required",
        "CdtTrfTxInf[1]/Dbtr/Nm: required",
        "CdtTrfTxInf[2]/CdtrAcct/Id/IBAN: required",
    ):
        assert problem in error.detail


@pytest.mark.parametrize("created", ["2026-11-23", "yesterday", "2026-13-01T00:00:00Z"])
def test_bad_creation_time_is_a_schema_violation(created: str) -> None:
    body = build().replace(b"2026-11-23T10:15:00+00:00", created.encode())
    error = rejected(body)
    assert error.reason == "schema-violation"
    assert "GrpHdr/CreDtTm" in error.detail


def test_values_are_mapped_not_validated() -> None:
    """IBAN checksum and amount format are PaymentInstruction.from_message's job."""
    [message] = parse_pacs008(build(tx(debtor_iban="DE00BAD", amount="-1.999")))
    assert message["debtor"]["iban"] == "DE00BAD"
    assert message["amount"] == "-1.999"


# ---------------------------------------------- against the ISO 20022 schema classes


def _load_validation() -> ModuleType:
    """pyiso20022's facet validator, loaded by path: ``pyiso20022.tools`` imports pandas."""
    path = Path(pyiso20022.__file__).parent / "tools" / "validation.py"
    spec = importlib.util.spec_from_file_location("pyiso20022_validation", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_validation = _load_validation()


class _AnchoredValidator(_validation.ISO20022Validator):
    """XSD patterns match the whole value; pyiso20022 uses ``re.match`` (a prefix)."""

    def _validate_pattern(self, field_name: str, value: Any, pattern: str, result: Any) -> None:
        super()._validate_pattern(field_name, value, f"(?:{pattern})\\Z", result)


_STRICT = ParserConfig(
    fail_on_unknown_properties=True,
    fail_on_unknown_attributes=True,
    fail_on_converter_warnings=True,
)


def assert_valid_pacs008(body: bytes) -> None:
    """Valid against the XSD as far as pyiso20022's generated classes carry it.

    The strict parse checks element names, nesting, required elements, types and code
    lists; the validator checks lengths, patterns, digits and occurrences; rendering the
    parsed classes again gives the schema's sequence order, which ours must equal.
    """
    document = XmlParser(config=_STRICT).from_bytes(body, iso.Document)
    result = _AnchoredValidator().validate_message(document, strict=False)
    assert result.is_valid, str(result)
    canonical = _render(document)
    assert _tags(body) == _tags(canonical)


def _tags(body: bytes) -> list[str]:
    return [str(el.tag) for el in etree.fromstring(body).iter() if isinstance(el.tag, str)]


def _render(document: iso.Document) -> bytes:
    return XmlSerializer().render(document, ns_map={None: NAMESPACE}).encode()


@pytest.mark.parametrize(
    "body",
    [
        build(),
        build(
            tx(1, uetr=UETR, tx_id="TX-1", debtor_agent_bic="COBADEFFXXX"),
            tx(2, reference="", creditor_agent_bic="BNPAFRPP", amount="0.01"),
            tx(3, creditor_name="Zoë Ærøskøbing-Łódź", reference="x" * 140),
            instructing_agent_bic="DEUTDEFFXXX",
            created_at=datetime(2026, 11, 23, 10, 15, 0, 123456),
        ),
    ],
    ids=["one", "variants"],
)
def test_builder_output_is_valid_against_the_schema_classes(body: bytes) -> None:
    assert_valid_pacs008(body)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"currency": "eur"}, "intr_bk_sttlm_amt.ccy"),
        ({"uetr": "not-a-uuid"}, "pmt_id.uetr"),
        ({"debtor_agent_bic": "COBADEFFXXX!"}, "bicfi"),
        ({"end_to_end_id": "E" * 36}, "end_to_end_id"),
    ],
)
def test_schema_check_is_not_vacuous(change: dict[str, Any], complaint: str) -> None:
    with pytest.raises(AssertionError, match=complaint):
        assert_valid_pacs008(build(tx(**change)))


def _iso_tx(
    end_to_end_id: str,
    currency: str,
    amount: Decimal,
    *,
    debtor_account: iso.AccountIdentification4Choice | None = None,
    remittance: iso.RemittanceInformation16 | None = None,
    tx_id: str | None = None,
) -> iso.CreditTransferTransaction39:
    def agent(bic: str) -> iso.BranchAndFinancialInstitutionIdentification6:
        return iso.BranchAndFinancialInstitutionIdentification6(
            fin_instn_id=iso.FinancialInstitutionIdentification18(bicfi=bic)
        )

    return iso.CreditTransferTransaction39(
        pmt_id=iso.PaymentIdentification7(end_to_end_id=end_to_end_id, tx_id=tx_id),
        intr_bk_sttlm_amt=iso.ActiveCurrencyAndAmount(value=amount, ccy=currency),
        chrg_br=iso.ChargeBearerType1Code.SLEV,
        dbtr=iso.PartyIdentification135(nm="Max Mustermann"),
        dbtr_acct=iso.CashAccount38(
            id=debtor_account or iso.AccountIdentification4Choice(iban=DE_IBAN)
        ),
        dbtr_agt=agent("COBADEFFXXX"),
        cdtr_agt=agent("BNPAFRPPXXX"),
        cdtr=iso.PartyIdentification135(nm="Marie Dupont"),
        cdtr_acct=iso.CashAccount38(id=iso.AccountIdentification4Choice(iban=FR_IBAN)),
        rmt_inf=remittance,
    )


def _iso_document(transactions: list[iso.CreditTransferTransaction39]) -> iso.Document:
    return iso.Document(
        fito_ficstmr_cdt_trf=iso.FitoFicustomerCreditTransferV08(
            grp_hdr=iso.GroupHeader93(
                msg_id="ISO-MSG-1",
                cre_dt_tm=XmlDateTime(2026, 11, 23, 9, 30, 0, 0, 60),
                nb_of_txs=str(len(transactions)),
                sttlm_inf=iso.SettlementInstruction7(sttlm_mtd=iso.SettlementMethod1Code.CLRG),
            ),
            cdt_trf_tx_inf=transactions,
        )
    )


def test_a_message_written_by_the_schema_classes_is_read() -> None:
    document = _iso_document(
        [
            _iso_tx(
                "E2E-A",
                "EUR",
                Decimal("1000.10"),
                tx_id="TX-A",
                remittance=iso.RemittanceInformation16(ustrd=["Invoice 4711", "May"]),
            ),
            _iso_tx(
                "E2E-B",
                "CHF",
                Decimal("5"),
                remittance=iso.RemittanceInformation16(
                    strd=[
                        iso.StructuredRemittanceInformation16(
                            cdtr_ref_inf=iso.CreditorReferenceInformation2(ref="RF18539007547034")
                        )
                    ]
                ),
            ),
        ]
    )
    body = _render(document)
    assert b"pacs.008.001.08" in body

    first, second = parse_pacs008(body)

    assert first == {
        "externalId": "TX-A",
        "channel": "PACS008",
        "debtor": {"iban": DE_IBAN, "name": "Max Mustermann"},
        "creditor": {"iban": FR_IBAN, "name": "Marie Dupont"},
        "amount": "1000.10",
        "currency": "EUR",
        "reference": "Invoice 4711 May",
        "requestedAt": "2026-11-23T08:30:00Z",
        "metadata": {"messageId": "ISO-MSG-1", "endToEndId": "E2E-A", "txId": "TX-A"},
    }
    assert (second["externalId"], second["amount"], second["currency"]) == (
        "ISO-MSG-1/E2E-B",
        "5",
        "CHF",
    )
    assert second["reference"] == "RF18539007547034"
    for message in (first, second):
        PaymentInstruction.from_message(message)


# ------------------------------------------------------------------- round trip

_IBANS = [iban(country, number) for country in COUNTRIES for number in (1, 2)]
_TEXT = st.characters(blacklist_categories=("Cc", "Cs", "Cn"))
_names = st.text(_TEXT, min_size=1, max_size=140).map(str.strip).filter(bool)
_ids = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/"), min_size=1, max_size=35)
_amounts = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("999999999.99"), places=2, allow_nan=False
)
_zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=2)), timezone(-timedelta(hours=5, minutes=30))]
)
_transactions = st.builds(
    Pacs008Tx,
    end_to_end_id=_ids,
    amount=_amounts,
    currency=st.sampled_from(["EUR", "GBP", "CHF", "USD"]),
    debtor_name=_names,
    debtor_iban=st.sampled_from(_IBANS),
    creditor_name=_names,
    creditor_iban=st.sampled_from(_IBANS),
    reference=st.text(_TEXT, max_size=140),
    uetr=st.none() | st.uuids(version=4).map(str),
    tx_id=st.none() | _ids,
)


@settings(max_examples=150, deadline=None)
@given(
    transactions=st.lists(_transactions, min_size=1, max_size=5),
    message_id=_ids,
    created_at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=_zones
    ),
)
def test_build_then_parse_round_trips_every_field(
    transactions: list[Pacs008Tx], message_id: str, created_at: datetime
) -> None:
    messages = parse_pacs008(
        build_pacs008(transactions, message_id=message_id, created_at=created_at)
    )

    assert len(messages) == len(transactions)
    for tx_, message in zip(transactions, messages, strict=True):
        assert message["externalId"] == idempotency_id(message["metadata"])
        assert len(message["externalId"]) <= 64
        if tx_.uetr:
            assert message["externalId"] == tx_.uetr
        assert message["debtor"] == {"iban": tx_.debtor_iban, "name": tx_.debtor_name}
        assert message["creditor"] == {"iban": tx_.creditor_iban, "name": tx_.creditor_name}
        assert message["amount"] == format(tx_.amount, "f")
        assert Decimal(message["amount"]) == tx_.amount
        assert message["currency"] == tx_.currency
        assert message["reference"] == tx_.reference
        requested = datetime.fromisoformat(message["requestedAt"].replace("Z", "+00:00"))
        assert requested == created_at
        expected_metadata = {"messageId": message_id, "endToEndId": tx_.end_to_end_id}
        if tx_.tx_id is not None:
            expected_metadata["txId"] = tx_.tx_id
        if tx_.uetr is not None:
            expected_metadata["uetr"] = tx_.uetr
        assert message["metadata"] == expected_metadata

        instruction = PaymentInstruction.from_message(message)
        assert instruction.amount.amount == tx_.amount
        assert instruction.debtor.name == tx_.debtor_name
        assert instruction.reference == tx_.reference.strip()


def test_uetr_strategy_matches_the_schema_pattern() -> None:
    """Guards the property above: a random UUIDv4 is a valid UETR."""
    assert_valid_pacs008(build(tx(uetr=str(uuid.uuid4()))))


def test_a_long_qualified_id_becomes_a_stable_digest_within_64_characters() -> None:
    metadata = {"messageId": "M" * 35, "endToEndId": "E" * 35}
    key = idempotency_id(metadata)
    assert key.startswith("sha256:") and len(key) == 64
    assert idempotency_id(dict(metadata)) == key
    assert idempotency_id({**metadata, "endToEndId": "F" * 35}) != key
