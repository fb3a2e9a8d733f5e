"""What the fraud context needs from the outside world, as ``typing.Protocol``.

The fraud context never imports the ledger: the composition root hands it the ledger
application (:class:`HeldPayments`, :class:`Transactions`), the ledger's maker-checker rule
for reversals (:class:`ReversalPolicy`) and the ledger's rules screening
(:class:`Rules`), which match these protocols structurally. Transactions are read
as the ledger's domain aggregate (:class:`~domain.ledger.transactions.Transaction`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from application.ports import ScreeningDecision, ScreeningRequest
from domain.ledger.transactions import Transaction


class FraudModel(Protocol):
    """A trained fraud model, loaded and ready to score one payment."""

    @property
    def version(self) -> str: ...

    @property
    def features(self) -> tuple[str, ...]: ...

    def explain(self, values: Sequence[float]) -> tuple[float, list[float]]:
        """The fraud probability and each feature's contribution (log-odds)."""
        ...


class ModelLoader(Protocol):
    """Loads a registered model version (from wherever artifacts are kept)."""

    def load(self, version: str) -> FraudModel: ...


class Rules(Protocol):
    """The rules (amount limits) the model screening decides beside."""

    def screen(self, request: ScreeningRequest) -> ScreeningDecision: ...


class PaymentOutcome(Protocol):
    """What the ledger answers about a payment it acted on."""

    @property
    def transaction_id(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def duplicate(self) -> bool: ...

    @property
    def reason(self) -> str | None: ...


class Transactions(Protocol):
    """The ledger's transactions, read on the write side (NotFound when unknown)."""

    def get_transaction(self, tx_id: UUID) -> Transaction: ...


class HeldPayments(Transactions, Protocol):
    """The ledger as the fraud cases act on it: release or reject a payment held for
    review, or reverse a posted one."""

    def release_held(self, tx_id: UUID) -> PaymentOutcome: ...

    def reject_held(self, tx_id: UUID, detail: str) -> PaymentOutcome: ...

    def reverse(self, tx_id: UUID, reason: str) -> PaymentOutcome: ...


class ReversalPolicy(Protocol):
    """The ledger's maker-checker rule for reversals made without a change request."""

    def check_direct_reversal(self, amount: Decimal, currency: str) -> None:
        """Raise :class:`~application.errors.ApprovalRequired` unless one person may
        reverse ``amount`` in ``currency``."""
        ...


class OverdueCases(Protocol):
    """The read side's list of payments held for review and still undecided since before
    ``cutoff``, not yet escalated: ``(transaction id, waiting since)``, oldest first."""

    def __call__(self, cutoff: datetime, limit: int) -> Sequence[tuple[str, datetime]]: ...


@dataclass(frozen=True, slots=True)
class PayeeCheck:
    """A Verification of Payee check as screening sees it: its outcome, the IBAN asked, who
    asked (a check of our payer's app is direction REQUESTER; a RESPONDER check is another
    PSP's question to us) and the payer's account when the app sent it."""

    outcome: str  # MTCH | CMTC | NMTC | NOAP
    iban: str
    direction: str = "REQUESTER"  # REQUESTER | RESPONDER
    requester: str | None = None  # our channel's principal (service:<channel>), or a BIC
    payer_iban: str | None = None


class PayeeChecks(Protocol):
    """The recorded Verification of Payee checks (the vop context's, wired by the composition
    root): one lookup by id, answered from what is recorded now. None when the check is
    unknown, not yet recorded where it is read, or cannot be read: screening never waits."""

    def payee_check(self, check_id: str) -> PayeeCheck | None: ...
