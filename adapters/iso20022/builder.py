"""Write pacs.008.001.08 documents, for tests, benchmarks and demo channels.

:func:`build_pacs008` writes the elements the schema makes mandatory plus the ones our
parser maps, in the schema's sequence order, so its output is a valid
FIToFICustomerCreditTransferV08 message for any valid input (the unit tests check it
against the classes generated from the ISO 20022 XSD). Values are written as given and
not validated here, so a test can also build a message the ledger must refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from lxml import etree

from adapters.iso20022.pacs008 import NAMESPACE

NOT_PROVIDED = "NOTPROVIDED"
"""The agent identification written when no BIC is given (the usual ``Othr/Id`` filler)."""


@dataclass(frozen=True, slots=True)
class Pacs008Tx:
    """One credit transfer (``CdtTrfTxInf``) of a pacs.008 message.

    An empty ``reference`` writes no ``RmtInf`` (an empty ``Ustrd`` would break the
    schema's minimum length of 1). Agents without a BIC are written as ``Othr/Id``
    ``NOTPROVIDED``.
    """

    end_to_end_id: str
    amount: Decimal | str
    currency: str
    debtor_name: str
    debtor_iban: str
    creditor_name: str
    creditor_iban: str
    reference: str = ""
    uetr: str | None = None
    tx_id: str | None = None
    debtor_agent_bic: str | None = None
    creditor_agent_bic: str | None = None


def build_pacs008(
    transactions: Sequence[Pacs008Tx],
    *,
    message_id: str,
    created_at: datetime,
    instructing_agent_bic: str | None = None,
) -> bytes:
    """A UTF-8 pacs.008.001.08 document with one ``CdtTrfTxInf`` per transaction.

    ``created_at`` becomes ``GrpHdr/CreDtTm`` in ISO 8601; a naive datetime is written
    without an offset (which :func:`~adapters.iso20022.pacs008.parse_pacs008` reads as
    UTC). A ``Decimal`` amount is written in fixed-point notation (``1E+3`` as ``1000``),
    a string amount exactly as given. Settlement is ``CLRG``, charges ``SLEV``.
    """
    document = _element(None, "Document", nsmap={None: NAMESPACE})
    transfer = _element(document, "FIToFICstmrCdtTrf")
    header = _element(transfer, "GrpHdr")
    _element(header, "MsgId", message_id)
    _element(header, "CreDtTm", created_at.isoformat())
    _element(header, "NbOfTxs", str(len(transactions)))
    _element(_element(header, "SttlmInf"), "SttlmMtd", "CLRG")
    if instructing_agent_bic is not None:
        _agent(header, "InstgAgt", instructing_agent_bic)
    for tx in transactions:
        _transaction(transfer, tx)
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8")


def _transaction(transfer: etree._Element, tx: Pacs008Tx) -> None:
    element = _element(transfer, "CdtTrfTxInf")
    payment_id = _element(element, "PmtId")
    _element(payment_id, "EndToEndId", tx.end_to_end_id)
    if tx.tx_id is not None:
        _element(payment_id, "TxId", tx.tx_id)
    if tx.uetr is not None:
        _element(payment_id, "UETR", tx.uetr)
    amount = tx.amount if isinstance(tx.amount, str) else format(tx.amount, "f")
    _element(element, "IntrBkSttlmAmt", amount).set("Ccy", tx.currency)
    _element(element, "ChrgBr", "SLEV")
    _element(_element(element, "Dbtr"), "Nm", tx.debtor_name)
    _account(element, "DbtrAcct", tx.debtor_iban)
    _agent(element, "DbtrAgt", tx.debtor_agent_bic)
    _agent(element, "CdtrAgt", tx.creditor_agent_bic)
    _element(_element(element, "Cdtr"), "Nm", tx.creditor_name)
    _account(element, "CdtrAcct", tx.creditor_iban)
    if tx.reference:
        _element(_element(element, "RmtInf"), "Ustrd", tx.reference)


def _account(parent: etree._Element, tag: str, iban: str) -> None:
    _element(_element(_element(parent, tag), "Id"), "IBAN", iban)


def _agent(parent: etree._Element, tag: str, bic: str | None) -> None:
    institution = _element(_element(parent, tag), "FinInstnId")
    if bic is not None:
        _element(institution, "BICFI", bic)
    else:
        _element(_element(institution, "Othr"), "Id", NOT_PROVIDED)


def _element(
    parent: etree._Element | None,
    tag: str,
    text: str | None = None,
    nsmap: dict[str | None, str] | None = None,
) -> etree._Element:
    qualified = f"{{{NAMESPACE}}}{tag}"
    if parent is None:
        element = etree.Element(qualified, nsmap=nsmap)
    else:
        element = etree.SubElement(parent, qualified)
    if text is not None:
        element.text = text
    return element
