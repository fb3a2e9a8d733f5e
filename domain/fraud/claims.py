"""A fraud claim: the customer's (or the card scheme's) word that a payment was fraud.

::

    FILED -> WITHDRAWN                  (the customer takes it back: not fraud)
    FILED -> RESOLVED (UPHELD | REJECTED)

A claim names a past outgoing payment of ours, whatever became of it (posted long ago,
settled, reversed): claims arrive days or weeks after the money left. It is a *label*, not
an action: filing one moves no money (a refund is a reversal, decided by people). Its kind says
where it came from: the customer's fraud ``CLAIM`` (unauthorised payment), a ``SCAM_REPORT``
(an authorised push payment the customer was tricked into) or a ``CHARGEBACK``.

The claim's id is ``uuid5(namespace, "claim:<channel>:<reference>")``: a channel that files
the same claim again (a retry) meets the recorded one instead of creating a second.

Training reads the claims through :func:`merge_labels`: a claim standing (filed, or resolved
UPHELD) labels the payment fraud; a claim withdrawn or resolved REJECTED says the customer's
suspicion did not hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.aggregate import AttributedAggregate
from domain.errors import DomainError
from domain.fraud.registry import FRAUD_NAMESPACE

MAX_STATEMENT_LENGTH: Final = 2000
"""Characters of the customer's statement (a reference text, not a case file)."""
MAX_REFERENCE_LENGTH: Final = 64
MAX_TYPOLOGY_LENGTH: Final = 64
MAX_NOTE_LENGTH: Final = 500

_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]*")
_TYPOLOGY = re.compile(r"[a-z][a-z0-9_]*")
_CHANNEL = re.compile(r"[A-Z][A-Z0-9_]*")


class ClaimKind(StrEnum):
    CLAIM = "CLAIM"
    """The customer says they did not make the payment (unauthorised)."""
    SCAM_REPORT = "SCAM_REPORT"
    """The customer made the payment, tricked by a scammer (authorised push payment fraud)."""
    CHARGEBACK = "CHARGEBACK"
    """The card scheme or the payer's PSP charged the payment back as fraud."""


class ClaimStatus(StrEnum):
    FILED = "FILED"
    WITHDRAWN = "WITHDRAWN"
    RESOLVED = "RESOLVED"


class ClaimResolution(StrEnum):
    UPHELD = "UPHELD"
    """The bank found the claim true: fraud."""
    REJECTED = "REJECTED"
    """The bank found the claim unfounded: not fraud."""


class InvalidClaim(DomainError, ValueError):
    """A claim that cannot be filed as given; ``field`` names the input that is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class ClaimStateError(DomainError):
    """A claim command its state does not allow (withdraw a resolved claim ...)."""


def claim_id(channel: str, reference: str) -> UUID:
    """The claim's id: one claim per ``(channel, reference)``, whoever files it again."""
    return uuid5(FRAUD_NAMESPACE, f"claim:{channel}:{reference}")


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """What a claim says, checked (:meth:`of`): the fields of its ``Filed`` event."""

    transaction_id: str
    kind: ClaimKind
    channel: str
    reference: str
    reported_at: datetime
    statement: str
    typology: str | None = None

    @classmethod
    def of(
        cls,
        *,
        transaction_id: str,
        kind: str,
        channel: str,
        reference: str,
        reported_at: datetime,
        statement: str | None,
        typology: str | None = None,
    ) -> ClaimFacts:
        """The checked facts, or :class:`InvalidClaim` naming the first wrong field."""
        try:
            claim_kind = ClaimKind(str(kind).strip().upper())
        except ValueError:
            allowed = ", ".join(k.value for k in ClaimKind)
            raise InvalidClaim("kind", f"must be one of {allowed}") from None
        channel_text = str(channel).strip().upper()
        if not _CHANNEL.fullmatch(channel_text) or len(channel_text) > 32:
            raise InvalidClaim("channel", "must be a channel name (A-Z, 0-9, _; at most 32)")
        ref = str(reference).strip()
        if not ref or len(ref) > MAX_REFERENCE_LENGTH or not _REFERENCE.fullmatch(ref):
            raise InvalidClaim(
                "claimReference",
                f"must be 1-{MAX_REFERENCE_LENGTH} characters of A-Z a-z 0-9 . _ : / -",
            )
        if reported_at.tzinfo is None or reported_at.utcoffset() is None:
            raise InvalidClaim("reportedAt", "must carry a time zone")
        if not 1900 <= reported_at.year <= 2200:
            raise InvalidClaim("reportedAt", "must be between the years 1900 and 2200")
        text = (statement or "").strip()
        if len(text) > MAX_STATEMENT_LENGTH:
            raise InvalidClaim("statement", f"at most {MAX_STATEMENT_LENGTH} characters")
        if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
            raise InvalidClaim("statement", "must not hold control characters")
        topic = (typology or "").strip().lower() or None
        if topic is not None and (
            len(topic) > MAX_TYPOLOGY_LENGTH or not _TYPOLOGY.fullmatch(topic)
        ):
            raise InvalidClaim(
                "typology", f"must be a snake_case name of at most {MAX_TYPOLOGY_LENGTH}"
            )
        return cls(str(transaction_id), claim_kind, channel_text, ref, reported_at, text, topic)


class FraudClaim(AttributedAggregate):
    """A claim on one payment; create it with :func:`file_claim`."""

    @staticmethod
    def create_id(
        transaction_id: str,
        kind: str,
        channel: str,
        reference: str,
        reported_at: datetime,
        statement: str,
        typology: str | None,
    ) -> UUID:
        return claim_id(channel, reference)

    @event("Filed")
    def __init__(
        self,
        transaction_id: str,
        kind: str,
        channel: str,
        reference: str,
        reported_at: datetime,
        statement: str,
        typology: str | None,
    ) -> None:
        self.transaction_id = transaction_id
        self.kind = kind
        self.channel = channel
        self.reference = reference
        self.reported_at = reported_at
        self.statement = statement
        self.typology = typology
        self.status = ClaimStatus.FILED
        self.resolution: str | None = None

    def same_as(self, facts: ClaimFacts) -> bool:
        """Whether ``facts`` repeat this claim (a retry), rather than reuse its reference."""
        return (self.transaction_id, self.kind) == (facts.transaction_id, facts.kind.value)

    def withdraw(self, note: str) -> None:
        if self.status is not ClaimStatus.FILED:
            raise ClaimStateError(
                f"claim {self.reference} is {self.status}; it cannot be withdrawn"
            )
        self._withdrawn(transaction_id=self.transaction_id, note=_note(note))

    @event("Withdrawn")
    def _withdrawn(self, transaction_id: str, note: str) -> None:
        self.status = ClaimStatus.WITHDRAWN

    def resolve(self, resolution: ClaimResolution, note: str) -> None:
        if self.status is not ClaimStatus.FILED:
            raise ClaimStateError(f"claim {self.reference} is {self.status}; it cannot be resolved")
        self._resolved(
            transaction_id=self.transaction_id, resolution=resolution.value, note=_note(note)
        )

    @event("Resolved")
    def _resolved(self, transaction_id: str, resolution: str, note: str) -> None:
        self.status = ClaimStatus.RESOLVED
        self.resolution = resolution


def _note(note: str) -> str:
    text = (note or "").strip()
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidClaim("note", f"at most {MAX_NOTE_LENGTH} characters")
    return text


def file_claim(facts: ClaimFacts) -> FraudClaim:
    """A new claim with ``facts`` (checked by :meth:`ClaimFacts.of`)."""
    return FraudClaim(
        facts.transaction_id,
        facts.kind.value,
        facts.channel,
        facts.reference,
        facts.reported_at,
        facts.statement,
        facts.typology,
    )


def claim_stands(status: str, resolution: str | None) -> bool:
    """Whether a claim in ``status`` labels its payment fraud (filed, or upheld)."""
    if status == ClaimStatus.FILED:
        return True
    return status == ClaimStatus.RESOLVED and resolution == ClaimResolution.UPHELD


class LabelSource(StrEnum):
    """Where a payment's training label came from (recorded per row in the artifact meta)."""

    CLAIM = "claim"
    """A standing claim, scam report or chargeback: fraud."""
    VERDICT_FRAUD = "verdict_fraud"
    """An analyst's CONFIRMED_FRAUD: fraud."""
    VERDICT_LEGIT = "verdict_legit"
    """An analyst's FALSE_POSITIVE, and no standing claim: legitimate."""
    CLAIM_WITHDRAWN = "claim_withdrawn"
    """Only withdrawn or rejected claims, no verdict: not fraud."""


@dataclass(frozen=True, slots=True)
class ClaimLabel:
    """One claim as training reads it."""

    transaction_id: str
    stands: bool


def merge_labels(
    verdicts: Mapping[str, int], claims: Iterable[ClaimLabel]
) -> dict[str, tuple[int, LabelSource]]:
    """Each labelled payment's label (1 fraud, 0 not) and its source.

    * A standing claim (filed, or upheld) is fraud, even after an analyst's FALSE_POSITIVE:
      the customer's later word that the money was stolen outweighs a review at payment time.
    * Otherwise an analyst's verdict decides (CONFIRMED_FRAUD stays fraud when the customer
      withdraws a claim: the analyst saw more than the claim).
    * Otherwise a payment whose claims were all withdrawn or rejected is not fraud.
    """
    standing: set[str] = set()
    fallen: set[str] = set()
    for claim in claims:
        (standing if claim.stands else fallen).add(claim.transaction_id)
    merged: dict[str, tuple[int, LabelSource]] = {}
    for tx_id in fallen:
        merged[tx_id] = (0, LabelSource.CLAIM_WITHDRAWN)
    for tx_id, verdict in verdicts.items():
        merged[tx_id] = (
            (1, LabelSource.VERDICT_FRAUD) if verdict else (0, LabelSource.VERDICT_LEGIT)
        )
    for tx_id in standing:
        merged[tx_id] = (1, LabelSource.CLAIM)
    return merged
