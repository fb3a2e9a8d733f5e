"""Read ISO 20022 pacs.008.001.08 (FIToFICustomerCreditTransfer) into ingestion messages.

A pacs.008 carries one or more credit transfers (``CdtTrfTxInf``). :func:`parse_pacs008`
maps each of them to one dict of our JSON ingestion contract, so that the same
``PaymentInstruction.from_message`` validates payments from every channel. This module
only checks what the mapping itself needs (the elements are there, the message is the
right one); IBAN checksums, amount format, currency codes and text lengths are the
contract parser's job and are not repeated here.

A message is the unit of delivery: if any of its transactions cannot be mapped, the
whole message is rejected with :class:`MessageRejected`, which lists every problem found.

Untrusted input: the body is size-capped before parsing; lxml is told to resolve no
entities, load no DTD and touch no network, and any document with a DOCTYPE is refused
outright, so neither XXE nor entity expansion ("billion laughs") can get through.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any, Final

from lxml import etree

from application.input_rules import instant_problem

NAMESPACE: Final = "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"
MAX_BODY_BYTES: Final = 5 * 1024 * 1024
"""5 MiB. A pacs.008 of several thousand transactions stays well below it."""

MALFORMED_XML: Final = "malformed-xml"
UNSUPPORTED_MESSAGE_TYPE: Final = "unsupported-message-type"
SCHEMA_VIOLATION: Final = "schema-violation"
TOO_LARGE: Final = "too-large"

_NS: Final = {"p": NAMESPACE}
# xs:dateTime: a date, a time, optional fraction, optional zone (nothing else).
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")


class MessageRejected(Exception):
    """A message that can never succeed (goes to the dead-letter queue).

    ``reason`` is one of ``"malformed-xml"``, ``"unsupported-message-type"``,
    ``"schema-violation"`` or ``"too-large"``; ``detail`` says what was found, for a human.
    Redelivering the same bytes would fail the same way, so this is never retried.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def parse_pacs008(body: bytes, *, channel: str = "PACS008") -> list[dict[str, Any]]:
    """Map a pacs.008.001.08 document to one ingestion message per ``CdtTrfTxInf``.

    Field choices (everything else in the message is ignored):

    - ``externalId`` is :func:`idempotency_id`: the UETR if present, else the TxId
      qualified by the instructing agent's BIC, else the EndToEndId qualified by the
      message id. It becomes the idempotency key ``(channel, externalId)``, so it must
      identify *this* transaction across all messages: the UETR is a UUIDv4, globally
      unique by design; the TxId is unique per instructing agent only; the EndToEndId is
      chosen by the debtor and often reused (or ``NOTPROVIDED``), so alone it is no key.
    - ``amount`` is the ``IntrBkSttlmAmt`` text as written (a string, never a float) and
      ``currency`` its ``Ccy`` attribute.
    - ``reference`` is every ``RmtInf/Ustrd`` joined by a space, else the first
      ``RmtInf/Strd/CdtrRefInf/Ref``, else ``""``.
    - ``requestedAt`` is ``GrpHdr/CreDtTm`` in UTC, as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``.
      A CreDtTm without an offset is taken to be UTC (ISO 20022 leaves it undefined; we
      assume UTC rather than the local time of whichever host parses it).
    - ``metadata`` holds ``messageId``, ``endToEndId``, ``txId``, ``uetr`` and
      ``instructingAgentBic`` (the transaction's ``InstgAgt`` BIC, else the group
      header's), each only when present.

    Raises :class:`MessageRejected`. Problems are named by element path, with
    ``CdtTrfTxInf[n]`` counting transactions from 1 as XPath does.
    """
    if len(body) > MAX_BODY_BYTES:
        raise MessageRejected(TOO_LARGE, f"{len(body)} bytes, the limit is {MAX_BODY_BYTES}")
    root = _parse_xml(body)
    found = etree.QName(root)
    if found.namespace != NAMESPACE or found.localname != "Document":
        raise MessageRejected(
            UNSUPPORTED_MESSAGE_TYPE,
            f"expected Document in {NAMESPACE}, found {found.localname}"
            f" in {found.namespace or 'no namespace'}",
        )
    transfer = root.find("p:FIToFICstmrCdtTrf", _NS)
    if transfer is None:
        raise MessageRejected(SCHEMA_VIOLATION, "Document/FIToFICstmrCdtTrf: required")

    problems: list[str] = []
    header = transfer.find("p:GrpHdr", _NS)
    if header is None:
        raise MessageRejected(SCHEMA_VIOLATION, "FIToFICstmrCdtTrf/GrpHdr: required")
    message_id = _required(header, "MsgId", "GrpHdr", problems)
    requested_at = _created_at(header, problems)
    header_bic = _text(header, "InstgAgt/FinInstnId/BICFI")

    transactions = transfer.findall("p:CdtTrfTxInf", _NS)
    if not transactions:
        problems.append("FIToFICstmrCdtTrf/CdtTrfTxInf: at least one transaction is required")
    declared = _text(header, "NbOfTxs")
    if declared is not None and declared != str(len(transactions)):
        problems.append(f"GrpHdr/NbOfTxs: says {declared!r}, the message has {len(transactions)}")

    messages = [
        _transaction(tx, f"CdtTrfTxInf[{index}]", channel, problems)
        for index, tx in enumerate(transactions, start=1)
    ]
    if problems:
        raise MessageRejected(SCHEMA_VIOLATION, "; ".join(problems))
    for message in messages:
        message["requestedAt"] = requested_at
        message["metadata"] = {"messageId": message_id, **message["metadata"]}
        if header_bic and "instructingAgentBic" not in message["metadata"]:
            message["metadata"]["instructingAgentBic"] = header_bic
        message["externalId"] = idempotency_id(message["metadata"])
    return messages


MAX_EXTERNAL_ID = 64


def idempotency_id(metadata: dict[str, str]) -> str:
    """The transaction's idempotency id from its identifiers (see :func:`parse_pacs008`).

    A qualified id longer than the ledger's 64 characters is replaced by a digest of it,
    deterministic, so a redelivery maps to the same key.
    """
    if metadata.get("uetr"):
        return metadata["uetr"]
    if metadata.get("txId"):
        bic = metadata.get("instructingAgentBic")
        key = f"{bic}/{metadata['txId']}" if bic else metadata["txId"]
    else:
        key = f"{metadata.get('messageId', '')}/{metadata['endToEndId']}"
    if len(key) <= MAX_EXTERNAL_ID:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[: MAX_EXTERNAL_ID - 7]


def _parse_xml(body: bytes) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
    )
    try:
        root = etree.fromstring(body, parser)
    except (etree.XMLSyntaxError, ValueError) as error:
        raise MessageRejected(MALFORMED_XML, str(error)) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise MessageRejected(
            MALFORMED_XML, "DOCTYPE declarations are not accepted (entity expansion, XXE)"
        )
    return root


def _transaction(
    tx: etree._Element, where: str, channel: str, problems: list[str]
) -> dict[str, Any]:
    end_to_end_id = _required(tx, "PmtId/EndToEndId", where, problems)
    tx_id = _text(tx, "PmtId/TxId")
    uetr = _text(tx, "PmtId/UETR")

    amount = _text(tx, "IntrBkSttlmAmt")
    if amount is None:
        problems.append(f"{where}/IntrBkSttlmAmt: required")
    amount_element = tx.find("p:IntrBkSttlmAmt", _NS)
    currency = (amount_element.get("Ccy") or "").strip() if amount_element is not None else ""
    if amount_element is not None and not currency:
        problems.append(f"{where}/IntrBkSttlmAmt/@Ccy: required")

    metadata: dict[str, str] = {"endToEndId": end_to_end_id}
    if tx_id is not None:
        metadata["txId"] = tx_id
    if uetr is not None:
        metadata["uetr"] = uetr
    bic = _text(tx, "InstgAgt/FinInstnId/BICFI")
    if bic is not None:
        metadata["instructingAgentBic"] = bic
    return {
        "externalId": "",  # set by idempotency_id once the group header is known
        "channel": channel,
        "debtor": _party(tx, "Dbtr", where, problems),
        "creditor": _party(tx, "Cdtr", where, problems),
        "amount": amount or "",
        "currency": currency,
        "reference": _reference(tx),
        "metadata": metadata,
    }


def _party(tx: etree._Element, role: str, where: str, problems: list[str]) -> dict[str, str]:
    """``{"iban", "name"}`` from ``<role>/Nm`` and ``<role>Acct/Id/IBAN``."""
    name = _free_text(tx, f"{role}/Nm")
    if not name or not name.strip():
        problems.append(f"{where}/{role}/Nm: required")
    iban = _text(tx, f"{role}Acct/Id/IBAN")
    if iban is None:
        account_id = tx.find(_xpath(f"{role}Acct/Id"), _NS)
        other = [
            etree.QName(child).localname
            for child in (account_id if account_id is not None else [])
            if isinstance(child.tag, str)
        ]
        found = f" (found {role}Acct/Id/{other[0]})" if other else ""
        problems.append(f"{where}/{role}Acct/Id/IBAN: required{found}")
    return {"iban": iban or "", "name": name or ""}


def _reference(tx: etree._Element) -> str:
    lines = ("".join(el.itertext()) for el in tx.findall(_xpath("RmtInf/Ustrd"), _NS))
    unstructured = [line for line in lines if line]
    if unstructured:
        return " ".join(unstructured)
    return _free_text(tx, "RmtInf/Strd/CdtrRefInf/Ref") or ""


def _created_at(header: etree._Element, problems: list[str]) -> str:
    raw = _required(header, "CreDtTm", "GrpHdr", problems)
    if not raw:
        return ""
    if not _DATE_TIME.fullmatch(raw):
        problems.append(f"GrpHdr/CreDtTm: not an ISO 8601 date-time: {raw!r}")
        return ""
    try:
        created = datetime.fromisoformat(raw)
    except ValueError:  # e.g. month 13
        problems.append(f"GrpHdr/CreDtTm: not a valid date-time: {raw!r}")
        return ""
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)  # no offset: taken as UTC, see parse_pacs008
    problem = instant_problem(created, "GrpHdr/CreDtTm")  # no UTC form, or not 1900..2200
    if problem is not None:
        problems.append(problem)
        return ""
    return created.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _required(parent: etree._Element, path: str, where: str, problems: list[str]) -> str:
    value = _text(parent, path)
    if value is None:
        problems.append(f"{where}/{path}: required")
        return ""
    return value


def _xpath(path: str) -> str:
    return "/".join(f"p:{step}" for step in path.split("/"))


def _text(parent: etree._Element, path: str) -> str | None:
    """The stripped text at ``path`` (an identifier, code or amount), None if absent or empty.

    These are token types in the schema (whitespace collapsed), so outer blanks do not count.
    """
    value = _free_text(parent, path)
    value = value.strip() if value is not None else None
    return value or None


def _free_text(parent: etree._Element, path: str) -> str | None:
    """The text at ``path`` exactly as written (names, remittance text), None if absent."""
    element = parent.find(_xpath(path), _NS)
    # itertext, not .text: a comment inside the element must not cut its text short.
    return "".join(element.itertext()) if element is not None else None
