"""The responder's decision for one entry: the directory's entry and the domain's matching.

:func:`decide` is pure (no I/O, no clock): an unknown IBAN or a closed account is NOAP with
its reason, before any matching, so the answer for an account that does not exist says no
more than NOAP (no enumeration oracle beyond what the scheme requires); otherwise
:func:`domain.vop.matching.match_payee` decides against the holder as the directory has it.
The request types (:class:`VopRequest`, :class:`VopEntry`) are what the edge hands the
application, already validated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.vop.ports import DirectoryEntry
from domain.vop.checks import NoapReason, VopCheck
from domain.vop.identifiers import IdentifierScheme, OrganisationId
from domain.vop.matching import AccountHolder, match_payee
from domain.vop.names import HolderKind
from domain.vop.outcomes import DEFAULT_THRESHOLDS, Outcome, Rule, Thresholds

MAX_BULK_ENTRIES = 100
"""The default of ``LEDGER_VOP_BULK_MAX_ENTRIES``: entries of one bulk request."""


@dataclass(frozen=True, slots=True)
class VopEntry:
    """One question: is ``name`` (or ``identifier``) the holder of ``iban``?"""

    iban: str  # compact, upper case, valid
    name: str | None = None
    identifier: tuple[str, str] | None = None  # (LEI | VAT | NATIONAL, value)

    @property
    def identifier_doc(self) -> dict[str, str] | None:
        """The identifier as stored in the check's event."""
        if self.identifier is None:
            return None
        return {"scheme": self.identifier[0], "value": self.identifier[1]}


@dataclass(frozen=True, slots=True)
class VopRequest:
    """A request of another PSP: its id, its BIC, its timestamp, and one or more entries."""

    request_id: str
    requester: str  # the requesting PSP's BIC
    requested_at: datetime
    entries: tuple[VopEntry, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    reason: NoapReason | None = None
    disclosed_name: str | None = None
    score: float = 0.0
    rule: Rule | None = None


@dataclass(frozen=True, slots=True)
class VopAnswer:
    """The answer to one entry, as recorded in its check's event."""

    check_id: str
    entry: int
    iban: str
    outcome: Outcome
    reason: NoapReason | None
    disclosed_name: str | None
    asked_by_identifier: bool
    """The entry asked with an identifier (the edge answers it as ``partyIdMatch``)."""
    latency_us: int = 0
    """From receipt to the decided answer (as recorded)."""
    repeated: bool = False
    """Answered from the record of an earlier request with the same id (nothing new)."""


_NOAP_RULES = {
    Rule.NO_NAME_DATA: NoapReason.NO_NAME_DATA,
    Rule.NO_IDENTIFIER_DATA: NoapReason.NO_IDENTIFIER_DATA,
}


def holder_of(entry: DirectoryEntry) -> AccountHolder:
    """The directory's entry as the matching sees it."""
    kind = HolderKind.LEGAL if entry.holder_type == "LEGAL" else HolderKind.NATURAL
    return AccountHolder(
        kind,
        entry.legal_name,
        further_names=entry.further_names,
        identifiers=tuple(
            OrganisationId(IdentifierScheme(scheme), value)
            for scheme, value in entry.identifiers
            if scheme in IdentifierScheme.__members__
        ),
    )


def decide(
    question: VopEntry,
    account: DirectoryEntry | None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Decision:
    """The answer to ``question`` about the account the directory holds (None: unknown)."""
    if account is None:
        return Decision(Outcome.NOT_APPLICABLE, NoapReason.ACCOUNT_UNKNOWN)
    if account.status == "CLOSED":
        return Decision(Outcome.NOT_APPLICABLE, NoapReason.ACCOUNT_CLOSED)
    identifier = None
    if question.identifier is not None:
        identifier = OrganisationId(
            IdentifierScheme(question.identifier[0]), question.identifier[1]
        )
    result = match_payee(holder_of(account), question.name, identifier, thresholds)
    reason = None
    if result.outcome is Outcome.NOT_APPLICABLE:
        reason = _NOAP_RULES.get(result.rule, NoapReason.NO_NAME_DATA)
    return Decision(
        result.outcome,
        reason,
        result.disclosed_name if result.outcome is Outcome.CLOSE_MATCH else None,
        round(result.score, 1),
        result.rule,
    )


def answer_of(check: VopCheck, *, repeated: bool = False) -> VopAnswer:
    """The answer a recorded check gives (``repeated``: answered again from the record)."""
    return VopAnswer(
        check_id=str(check.id),
        entry=check.entry,
        iban=check.iban,
        outcome=check.outcome,
        reason=check.reason,
        disclosed_name=check.disclosed_name,
        asked_by_identifier=check.requested_identifier is not None,
        latency_us=check.latency_us,
        repeated=repeated,
    )
