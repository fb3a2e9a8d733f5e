"""Customer fraud claims, scam reports and chargebacks: labels on past payments.

:class:`FraudClaims` files a :class:`~domain.fraud.claims.FraudClaim` in the fraud context's
event table after checking, on the write side, that the payment exists and is an outgoing
payment of ours (its debtor is one of our accounts; a reversal is not a payment a customer
made). Filing is idempotent per ``(channel, claim reference)``, as a payment is per
``(channel, externalId)``: the claim's id is derived from them, so a retry finds the recorded
claim and answers it again (``duplicate``), and the same reference used for another payment or
kind is refused (:class:`~application.errors.IdempotencyKeyReused`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.errors import Conflict, IdempotencyKeyReused, InvalidCommand, NotFound
from application.fraud.app import FraudApplication
from application.fraud.ports import Transactions
from domain.errors import DomainError
from domain.fraud.claims import (
    ClaimFacts,
    ClaimResolution,
    FraudClaim,
    InvalidClaim,
    claim_id,
    file_claim,
)
from domain.ledger.transactions import RESERVED_CHANNELS


class OurAccounts(Protocol):
    """The ledger's account keys (IBANs) that have an account here."""

    def existing_accounts(self, keys: set[str]) -> set[str]: ...


class ClaimLedger(Transactions, OurAccounts, Protocol):
    """What filing a claim reads of the ledger (the ledger application matches it)."""


@dataclass(frozen=True, slots=True)
class FiledClaim:
    claim: FraudClaim
    duplicate: bool


class FraudClaims:
    """File, withdraw and resolve claims (events of the fraud context, attributed to the
    caller by the causation the edge set)."""

    def __init__(self, fraud: FraudApplication, ledger: ClaimLedger) -> None:
        self.fraud = fraud
        self.ledger = ledger

    def file(
        self, facts: ClaimFacts, may_see: Callable[[str], bool] = lambda _channel: True
    ) -> FiledClaim:
        """Record the claim, or answer the recorded one for a retry of it. ``may_see`` says
        whether the caller may see payments of a channel (a channel service: its own only);
        a payment it may not see is answered as unknown."""
        recorded = self._find(claim_id(facts.channel, facts.reference))
        if recorded is not None:
            return self._repeat(recorded, facts)
        self._check_payment(facts.transaction_id, may_see)
        claim = file_claim(facts)
        try:
            self.fraud.save(claim)
        except IntegrityError:  # filed meanwhile by a concurrent retry
            recorded = self._find(claim.id)
            if recorded is None:
                raise
            return self._repeat(recorded, facts)
        return FiledClaim(claim, duplicate=False)

    def withdraw(self, claim: UUID, note: str) -> FraudClaim:
        return self._change(claim, lambda c: c.withdraw(note))

    def resolve(self, claim: UUID, resolution: ClaimResolution, note: str) -> FraudClaim:
        return self._change(claim, lambda c: c.resolve(resolution, note))

    def get(self, claim: UUID) -> FraudClaim:
        found = self._find(claim)
        if found is None:
            raise NotFound(f"no fraud claim {claim}")
        return found

    def _change(self, claim: UUID, change: Callable[[FraudClaim], None]) -> FraudClaim:
        found = self.get(claim)
        try:
            change(found)
        except InvalidClaim as error:
            raise InvalidCommand(str(error), [str(error)]) from None
        except DomainError as error:
            raise Conflict(str(error)) from None
        try:
            self.fraud.save(found)
        except IntegrityError:
            raise Conflict(f"claim {claim} was changed concurrently; look at it again") from None
        return found

    def _find(self, claim: UUID) -> FraudClaim | None:
        try:
            found: FraudClaim = self.fraud.repository.get(claim)
        except AggregateNotFoundError:
            return None
        return found

    @staticmethod
    def _repeat(recorded: FraudClaim, facts: ClaimFacts) -> FiledClaim:
        if not recorded.same_as(facts):
            raise IdempotencyKeyReused(
                f"claimReference: {facts.reference} of channel {facts.channel} was filed for "
                f"transaction {recorded.transaction_id} ({recorded.kind}); a new claim needs "
                "a new reference"
            )
        return FiledClaim(recorded, duplicate=True)

    def _check_payment(self, transaction_id: str, may_see: Callable[[str], bool]) -> None:
        unknown = f"transactionId: no transaction {transaction_id}"
        try:
            tx = self.ledger.get_transaction(UUID(transaction_id))
        except (NotFound, ValueError):
            raise InvalidCommand(unknown, [unknown]) from None
        if not may_see(str(tx.channel)):
            raise InvalidCommand(unknown, [unknown])
        problem = None
        if tx.reverses is not None or str(tx.channel).upper() in RESERVED_CHANNELS:
            problem = "is a reversal, not a payment a customer made"
        elif not self.ledger.existing_accounts({tx.debtor_iban}):
            problem = "is not an outgoing payment of ours (its debtor is not our account)"
        if problem is not None:
            message = f"transactionId: transaction {transaction_id} {problem}"
            raise InvalidCommand(message, [message])
