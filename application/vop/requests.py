"""The one parser of a Verification of Payee request's fields, for every edge (REST now; the
requester side later): what the EPC VoP inter-PSP API carries, checked, or
:class:`~application.errors.InvalidCommand` naming every field that is wrong
(``partyAccount.iban``, ``party.name``, ``X-Request-ID`` ...).

A request names the payee by name **or** by an organisation identifier (the scheme's two
kinds of check), never both and never neither; the identifier is an LEI, or another
identification with its scheme (``VAT``, ``NATIONAL``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from application.errors import InvalidCommand
from application.input_rules import instant_problem, text_problem
from application.vop.responder import VopEntry, VopRequest
from domain.errors import DomainError
from domain.iban import Iban

MAX_NAME = 140  # Max140Text
MAX_IDENTIFIER = 35  # Max35Text
_BIC = re.compile(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
_LEI = re.compile(r"[A-Z0-9]{18}[0-9]{2}")
OTHER_SCHEMES = ("VAT", "NATIONAL")
_JOINERS = frozenset("\u200c\u200d")  # zero-width (non-)joiner: part of some scripts' spelling


@dataclass(frozen=True, slots=True)
class EntryFields:
    """One entry's raw fields as an edge read them (``prefix`` names them in problems)."""

    iban: str
    name: str | None = None
    lei: str | None = None
    other_id: str | None = None
    other_scheme: str | None = None
    prefix: str = ""


def check_bic(raw: str, field: str) -> tuple[str | None, str | None]:
    """(the BIC upper-cased, None) or (None, the problem)."""
    value = raw.strip().upper()
    if not _BIC.fullmatch(value):
        return None, f"{field}: not a BIC (8 or 11 letters and digits)"
    return value, None


def head_office(bic: str) -> str:
    """An 8-character BIC as its 11-character head-office form (``BANKFRPP`` ->
    ``BANKFRPPXXX``): one PSP is one requester, its checks one record, however it writes it."""
    return bic + "XXX" if len(bic) == 8 else bic


def _name(raw: str | None, field: str, problems: list[str]) -> str | None:
    if raw is None:
        return None
    name = " ".join(raw.split())
    if not name:
        problems.append(f"{field}: must not be blank")
    elif len(name) > MAX_NAME:
        problems.append(f"{field}: at most {MAX_NAME} characters")
    elif (problem := text_problem(raw)) is not None:
        problems.append(f"{field}: {problem}")
    elif any(unicodedata.category(ch) == "Cf" and ch not in _JOINERS for ch in name):
        # bidi overrides and invisible characters would be stored and shown to compliance
        problems.append(f"{field}: invisible formatting characters (bidi, zero-width) refused")
    else:
        return name
    return None


def _identifier(fields: EntryFields, problems: list[str]) -> tuple[str, str] | None:
    base = f"{fields.prefix}party.identification.organisationId"
    if fields.lei is not None and fields.other_id is not None:
        problems.append(f"{base}: an LEI or another identification, not both")
        return None
    if fields.lei is not None:
        lei = fields.lei.strip().upper()
        if not _LEI.fullmatch(lei):
            problems.append(f"{base}.lei: 18 letters or digits and 2 check digits")
            return None
        return ("LEI", lei)
    if fields.other_id is None:
        return None
    value = " ".join(fields.other_id.split())
    scheme = (fields.other_scheme or "").strip().upper()
    if scheme not in OTHER_SCHEMES:
        problems.append(f"{base}.other.schemeName: one of {', '.join(OTHER_SCHEMES)}")
        return None
    if not value or len(value) > MAX_IDENTIFIER or text_problem(value, controls=False):
        problems.append(f"{base}.other.identification: 1 to {MAX_IDENTIFIER} printable characters")
        return None
    return (scheme, value)


def parse_entry(fields: EntryFields, problems: list[str]) -> VopEntry | None:
    """The entry, or None after appending its problems to ``problems``."""
    before = len(problems)
    iban = None
    try:
        iban = Iban(fields.iban).value
    except DomainError as error:
        problems.append(f"{fields.prefix}partyAccount.iban: {error}")
    name = _name(fields.name, f"{fields.prefix}party.name", problems)
    identifier = _identifier(fields, problems)
    if len(problems) == before:
        if name is None and identifier is None:
            problems.append(f"{fields.prefix}party: give a name or an organisation identifier")
        elif name is not None and identifier is not None:
            problems.append(f"{fields.prefix}party: a name or an identifier, not both")
    if len(problems) > before or iban is None:
        return None
    return VopEntry(iban, name, identifier)


def parse_request(
    request_id: str | None,
    requested_at: str | None,
    requester_bic: str,
    entries: list[EntryFields],
    *,
    max_entries: int = 1,
    party_agent_bic: str | None = None,
) -> VopRequest:
    """The whole request, or :class:`InvalidCommand` naming every wrong field."""
    problems: list[str] = []
    rid = (request_id or "").strip()
    try:
        rid = str(UUID(rid))
    except ValueError:
        problems.append("X-Request-ID: must be a UUID")
    at: datetime | None = None
    try:
        at = datetime.fromisoformat((requested_at or "").strip().replace("Z", "+00:00"))
    except ValueError:
        problems.append("X-Request-Timestamp: must be an ISO 8601 date-time with a time zone")
    else:
        problem = instant_problem(at, "X-Request-Timestamp")
        if problem is not None:
            problems.append(problem)
            at = None
    bic, problem = check_bic(requester_bic, "requestingAgent.financialInstitutionId.bicfi")
    if problem is not None:
        problems.append(problem)
    bic = head_office(bic) if bic is not None else None
    if party_agent_bic is not None:  # the payee's PSP (us) as named: checked, not used
        _, problem = check_bic(party_agent_bic, "partyAgent.financialInstitutionId.bicfi")
        if problem is not None:
            problems.append(problem)
    if not entries:
        problems.append("entries: at least one")
    elif len(entries) > max_entries:
        problems.append(f"entries: at most {max_entries}")
    parsed = [parse_entry(fields, problems) for fields in entries[:max_entries]]
    if problems or at is None or bic is None:
        raise InvalidCommand("; ".join(problems), problems)
    return VopRequest(
        request_id=rid,
        requester=bic,
        requested_at=at.astimezone(UTC),
        entries=tuple(entry for entry in parsed if entry is not None),
    )
