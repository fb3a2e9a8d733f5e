"""Transactions and their lifecycle.

::

    RECEIVED -> SCREENED -> POSTED | HELD | REJECTED
    RECEIVED -> REJECTED                 (routing failed before screening)
    HELD     -> POSTED | REJECTED
    POSTED   -> SETTLED | REVERSED

A posted transaction carries its postings: a balanced set of legs (signed
amounts per account, summing to zero).

When the creditor's account is written by another writer (partitioned ingestion, see
docs/scale-out.md), a payment posts in two steps, each balanced: ``Posted`` debits the
debtor to ``in-transit:<CCY>`` and leaves the credit *pending*; ``CreditApplied``, recorded
by the writer of the creditor's partition, moves the amount from ``in-transit:<CCY>`` to the
creditor (or to ``suspense:<CCY>`` when the creditor can no longer take it, e.g. it was
closed in between). The status stays ``POSTED``; the events show both steps.

A reversal is a new transaction that ``reverses`` the original; the original only gains a
``Reversed`` event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.aggregate import AttributedAggregate
from domain.errors import InvalidTransition, NotReversible, RejectionReason, UnbalancedPostings
from domain.ledger.ids import transaction_id

REVERSAL_CHANNEL = "REVERSAL"
"""The channel of the transactions the ledger books itself to reverse others."""
RESERVED_CHANNELS = frozenset({REVERSAL_CHANNEL})
"""Channels the ledger books under itself; a message may not claim them, or it could
take the idempotency key of a future reversal (and the fraud features leave them out)."""


class TransactionStatus(StrEnum):
    RECEIVED = "RECEIVED"
    SCREENED = "SCREENED"
    POSTED = "POSTED"
    HELD = "HELD"
    REJECTED = "REJECTED"
    SETTLED = "SETTLED"
    REVERSED = "REVERSED"


class ScreeningOutcome(StrEnum):
    APPROVE = "APPROVE"
    REVIEW = "REVIEW"
    DECLINE = "DECLINE"


_ALLOWED: dict[TransactionStatus, frozenset[TransactionStatus]] = {
    TransactionStatus.RECEIVED: frozenset({TransactionStatus.SCREENED, TransactionStatus.REJECTED}),
    TransactionStatus.SCREENED: frozenset(
        {TransactionStatus.POSTED, TransactionStatus.HELD, TransactionStatus.REJECTED}
    ),
    TransactionStatus.HELD: frozenset({TransactionStatus.POSTED, TransactionStatus.REJECTED}),
    TransactionStatus.POSTED: frozenset({TransactionStatus.SETTLED, TransactionStatus.REVERSED}),
    TransactionStatus.REJECTED: frozenset(),
    TransactionStatus.SETTLED: frozenset(),
    TransactionStatus.REVERSED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Leg:
    """One side of a posting: a signed amount on one account (negative = debit)."""

    account_id: UUID
    account_key: str
    amount: Decimal

    def as_event_data(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "account_key": self.account_key,
            "amount": self.amount,
        }


def check_balanced(legs: list[Leg]) -> None:
    """Raise :class:`UnbalancedPostings` unless the legs sum to zero and are non-trivial."""
    if len(legs) < 2:
        raise UnbalancedPostings("a posting needs at least two legs")
    total = sum((leg.amount for leg in legs), Decimal(0))
    if total != 0:
        raise UnbalancedPostings(f"legs sum to {total}, not zero")


class Transaction(AttributedAggregate):
    """A payment instruction and everything that happened to it."""

    @staticmethod
    def create_id(channel: str, external_id: str) -> UUID:
        return transaction_id(channel, external_id)

    @event("Received")
    def __init__(
        self,
        channel: str,
        external_id: str,
        amount: Decimal,
        currency: str,
        debtor_iban: str,
        debtor_name: str,
        creditor_iban: str,
        creditor_name: str,
        reference: str,
        requested_at: datetime | None,
        metadata: dict[str, Any],
        reverses: UUID | None,
        vop_check_id: str | None = None,
    ) -> None:
        # ``vop_check_id``: the Verification of Payee check the payer saw before paying
        # (docs/vop.md); absent in logs written before it existed, hence the default
        self.channel = channel
        self.external_id = external_id
        self.amount = amount
        self.currency = currency
        self.debtor_iban = debtor_iban
        self.debtor_name = debtor_name
        self.creditor_iban = creditor_iban
        self.creditor_name = creditor_name
        self.reference = reference
        self.requested_at = requested_at
        self.metadata = metadata
        self.reverses = reverses
        self.vop_check_id = vop_check_id
        self.status = TransactionStatus.RECEIVED
        self.postings: list[dict[str, Any]] = []
        self.hold_account_id: UUID | None = None
        self.rejection_reason: str | None = None
        self.reversed_by: UUID | None = None
        self.screening_outcome: str | None = None
        self.credit_pending: str | None = None
        """The key of the account still to be credited (a two-step posting), else None."""

    def _check_transition(self, to: TransactionStatus) -> None:
        if to not in _ALLOWED[TransactionStatus(self.status)]:
            raise InvalidTransition(
                f"transaction {self.id} is {self.status}; it cannot become {to.value}"
            )

    def record_screening(
        self,
        outcome: ScreeningOutcome,
        rule_hits: list[str],
        score: Decimal | None,
        model_version: str | None,
        features: dict[str, str] | None = None,
        top_features: list[dict[str, str]] | None = None,
        challenger: dict[str, str] | None = None,
    ) -> None:
        """Record the screening decision taken before any money moves.

        With a model: the feature values it saw and the features that contributed most.
        With a challenger scored in shadow: its score and the outcome it would have given
        (recorded only; ``outcome`` is the decision). Optional fields are left out of the
        event when unset, so events without them keep the shape they always had.
        """
        self._check_transition(TransactionStatus.SCREENED)
        optional: dict[str, Any] = {}
        if features is not None or top_features is not None:
            optional.update(features=features, top_features=top_features)
        if challenger is not None:
            optional["challenger"] = challenger
        self._screened(
            outcome=outcome.value,
            rule_hits=rule_hits,
            score=score,
            model_version=model_version,
            **optional,
        )

    @event("Screened")
    def _screened(
        self,
        outcome: str,
        rule_hits: list[str],
        score: Decimal | None,
        model_version: str | None,
        features: dict[str, str] | None = None,
        top_features: list[dict[str, str]] | None = None,
        challenger: dict[str, str] | None = None,
    ) -> None:
        self.status = TransactionStatus.SCREENED
        self.screening_outcome = outcome

    def post(self, legs: list[Leg], booking_date: str, credit_pending: str | None = None) -> None:
        """Record the balanced postings by which the money moved; ``credit_pending`` names
        the account a later :meth:`apply_credit` credits (the legs then end in transit)."""
        self._check_transition(TransactionStatus.POSTED)
        check_balanced(legs)
        postings = [leg.as_event_data() for leg in legs]
        if credit_pending is None:
            self._posted(postings=postings, booking_date=booking_date)
        else:
            self._posted(
                postings=postings, booking_date=booking_date, credit_pending=credit_pending
            )

    @event("Posted")
    def _posted(
        self, postings: list[dict[str, Any]], booking_date: str, credit_pending: str | None = None
    ) -> None:
        self.status = TransactionStatus.POSTED
        self.postings = postings
        self.hold_account_id = None
        self.credit_pending = credit_pending

    def apply_credit(self, legs: list[Leg], booking_date: str, suspense_reason: str | None) -> None:
        """The second step of a two-step posting: the balanced legs out of transit (to the
        creditor, or to suspense with ``suspense_reason``)."""
        if self.credit_pending is None:
            raise InvalidTransition(f"transaction {self.id} has no credit pending")
        check_balanced(legs)
        self._credit_applied(
            postings=[leg.as_event_data() for leg in legs],
            booking_date=booking_date,
            suspense_reason=suspense_reason,
        )

    @event("CreditApplied")
    def _credit_applied(
        self, postings: list[dict[str, Any]], booking_date: str, suspense_reason: str | None
    ) -> None:
        self.postings = [*self.postings, *postings]
        self.credit_pending = None

    def hold(self, account_id: UUID, amount: Decimal) -> None:
        """Record that ``amount`` is held on ``account_id`` pending review."""
        self._check_transition(TransactionStatus.HELD)
        self._held(account_id=account_id, amount=amount)

    @event("Held")
    def _held(self, account_id: UUID, amount: Decimal) -> None:
        self.status = TransactionStatus.HELD
        self.hold_account_id = account_id

    def reject(self, reason: RejectionReason, detail: str) -> None:
        self._check_transition(TransactionStatus.REJECTED)
        self._rejected(reason=reason.value, detail=detail)

    @event("Rejected")
    def _rejected(self, reason: str, detail: str) -> None:
        self.status = TransactionStatus.REJECTED
        self.rejection_reason = reason
        self.hold_account_id = None

    def settle(self, settlement_reference: str) -> None:
        """Mark a posted transaction as settled with core banking."""
        self._check_transition(TransactionStatus.SETTLED)
        self._settled(settlement_reference=settlement_reference)

    @event("Settled")
    def _settled(self, settlement_reference: str) -> None:
        self.status = TransactionStatus.SETTLED

    def check_reversible(self) -> None:
        """Raise :class:`NotReversible` when this transaction is itself a reversal, or its
        credit is still pending (reversing half a posting would leave the other half)."""
        if self.credit_pending is not None:
            raise NotReversible(
                f"transaction {self.id} is still in transit to {self.credit_pending}; "
                "reverse it once the credit is applied"
            )
        if self.reverses is not None:
            raise NotReversible(
                f"transaction {self.id} is a reversal (of {self.reverses}) and cannot be "
                "reversed; book a new payment instead"
            )

    def mark_reversed(self, reversal_id: UUID, reason: str) -> None:
        """Link the reversal transaction that undid this one."""
        self.check_reversible()
        self._check_transition(TransactionStatus.REVERSED)
        self._reversed(reversal_id=reversal_id, reason=reason)

    @event("Reversed")
    def _reversed(self, reversal_id: UUID, reason: str) -> None:
        self.status = TransactionStatus.REVERSED
        self.reversed_by = reversal_id

    def legs(self) -> list[Leg]:
        """The postings of a posted transaction as :class:`Leg` objects."""
        return [
            Leg(UUID(str(p["account_id"])), str(p["account_key"]), Decimal(p["amount"]))
            for p in self.postings
        ]
