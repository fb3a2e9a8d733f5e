"""A Verification of Payee check as an immutable event: :class:`VopCheck`.

Every check, answered or asked, is one aggregate with one event (``Answered``) and never
another: the record of what was asked (the IBAN, the name or identifier the payer gave), by
whom (the requesting PSP's BIC), when (the PSP's request timestamp and our receipt), what
was answered (outcome, NOAP reason, the name disclosed with a close match, the score and the
rule) and how long it took (``latency_us``: from receipt to the answer being decided).

The payer-provided name is personal data of a third party: it is a field of its own
(``requested_name``) so that a later GDPR erasure (crypto-shredding or redaction of the
stored event) can reach it without touching the answer.

The id is ``uuid5`` of the requester, its request id and the entry's position in a bulk
request (0 for a single check), so a request the PSP repeats with the same id is recognised
(:meth:`VopCheck.same_question`) and answered as recorded, not checked twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.aggregate import AttributedAggregate
from domain.vop.outcomes import Outcome

VOP_NAMESPACE = UUID("6a0f7d8e-5b7c-4c41-9a3e-1d5e0c2b9f10")


class Direction(StrEnum):
    """Whether we answered another PSP (RESPONDER) or asked one for our payer (REQUESTER)."""

    RESPONDER = "RESPONDER"
    REQUESTER = "REQUESTER"


class NoapReason(StrEnum):
    """Why a check could not be made (outcome NOAP)."""

    ACCOUNT_UNKNOWN = "ACCOUNT_UNKNOWN"  # no account with this IBAN here
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"
    NO_NAME_DATA = "NO_NAME_DATA"  # nothing to compare (no name on either side)
    NO_IDENTIFIER_DATA = "NO_IDENTIFIER_DATA"  # an identifier asked for that is not held
    PSP_UNAVAILABLE = "PSP_UNAVAILABLE"  # requester: the payee's PSP gave no usable answer


def check_id(direction: Direction, requester: str, request_id: str, entry: int) -> UUID:
    """The deterministic id of entry ``entry`` of ``requester``'s request ``request_id``."""
    return uuid5(VOP_NAMESPACE, f"{direction.value}|{requester}|{request_id}|{entry}")


class VopCheck(AttributedAggregate):
    """One check and its answer, recorded once."""

    @staticmethod
    def create_id(direction: str, requester: str, request_id: str, entry: int) -> UUID:
        return check_id(Direction(direction), requester, request_id, entry)

    @event("Answered")
    def __init__(
        self,
        direction: str,
        requester: str,
        request_id: str,
        entry: int,
        requested_at: datetime,
        received_at: datetime,
        iban: str,
        requested_name: str | None,
        requested_identifier: dict[str, str] | None,
        outcome: str,
        reason: str | None,
        disclosed_name: str | None,
        score: float,
        rule: str | None,
        latency_us: int,
        payer_iban: str | None = None,
    ) -> None:
        # ``payer_iban``: requester checks only, when the channel names the payer's account
        # (absent from responder checks and from logs written before it existed)
        self.direction = Direction(direction)
        self.requester = requester
        self.request_id = request_id
        self.entry = entry
        self.requested_at = requested_at
        self.received_at = received_at
        self.iban = iban
        self.requested_name = requested_name
        self.requested_identifier = requested_identifier
        self.outcome = Outcome(outcome)
        self.reason = NoapReason(reason) if reason is not None else None
        self.disclosed_name = disclosed_name
        self.score = score
        self.rule = rule
        self.latency_us = latency_us
        self.payer_iban = payer_iban

    @classmethod
    def answered(cls, **facts: Any) -> VopCheck:
        """Record a check: ``facts`` are the ``Answered`` event's fields (see ``__init__``)."""
        outcome = Outcome(facts["outcome"])
        if (outcome is Outcome.NOT_APPLICABLE) != (facts.get("reason") is not None):
            raise ValueError("a NOAP answer has a reason, and only a NOAP answer")
        if facts.get("disclosed_name") is not None and outcome is not Outcome.CLOSE_MATCH:
            raise ValueError("a name is disclosed with a close match only")
        if facts["latency_us"] < 0:
            raise ValueError("latency must not be negative")
        return cls(**facts)

    def same_question(self, iban: str, name: str | None, identifier: dict[str, str] | None) -> bool:
        """Whether a repeat of this check's request id asks what this check asked."""
        return (self.iban, self.requested_name, self.requested_identifier) == (
            iban,
            name,
            identifier,
        )
