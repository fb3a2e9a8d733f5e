"""The ledger's side of maker-checker: what an approved request does to the ledger.

:class:`LedgerChanges` implements :class:`~application.ports.ChangeExecutor` for the
identity context: it checks a freeze, unfreeze or reversal before it is requested, and
carries it out through :class:`~application.ledger.LedgerApplication` once approved.
:class:`ReversalThresholds` says which reversals need a request at all: those above a
per-currency amount, and every reversal in a currency without a configured threshold
(fail closed: a currency nobody set a limit for is not a currency without a limit).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from uuid import UUID

from application.commands import SubmissionResult
from application.errors import ApprovalRequired, Conflict, InvalidCommand
from application.ledger import LedgerApplication
from domain.identity.permissions import ChangeKind
from domain.ledger.accounts import AccountStatus
from domain.ledger.transactions import TransactionStatus


class ReversalThresholds:
    """Reversals above ``limits[currency]`` take effect only on approval; so does every
    reversal, of any amount, in a currency that has no limit here (fail closed)."""

    def __init__(self, limits: Mapping[str, Decimal]) -> None:
        self.limits = dict(limits)

    def requires_approval(self, amount: Decimal, currency: str) -> bool:
        limit = self.limits.get(currency)
        return limit is None or amount > limit

    def describe(self, currency: str) -> str:
        """Why a reversal in ``currency`` above the limit needs approval, for messages."""
        limit = self.limits.get(currency)
        if limit is None:
            return (
                f"no approval threshold is configured for {currency} "
                "(LEDGER_REVERSAL_APPROVAL_ABOVE), so every reversal in it needs approval"
            )
        return f"above {format(limit, 'f')} {currency}"


def _transaction_id(subject: str) -> UUID:
    try:
        return UUID(subject.strip())
    except ValueError:
        raise InvalidCommand(f"transaction id: not a UUID: {subject!r}") from None


class LedgerChanges:
    """Freeze, unfreeze and reverse on the ledger for approved change requests."""

    def __init__(self, ledger: LedgerApplication, thresholds: ReversalThresholds) -> None:
        self.ledger = ledger
        self.thresholds = thresholds

    def check(self, kind: str, subject: str, params: Mapping[str, str]) -> dict[str, str]:
        change = ChangeKind(kind)
        if change is ChangeKind.FREEZE_ACCOUNT or change is ChangeKind.UNFREEZE_ACCOUNT:
            account = self.ledger.get_account(subject)  # NotFound
            if account.is_internal:
                raise Conflict(f"internal account {subject} cannot be frozen")
            wanted = (
                AccountStatus.OPEN if change is ChangeKind.FREEZE_ACCOUNT else AccountStatus.FROZEN
            )
            if account.status != wanted:
                raise Conflict(f"account {subject} is {account.status}, not {wanted.value}")
            return {"currency": account.currency}
        if change is ChangeKind.REVERSE_TRANSACTION:
            tx = self.ledger.get_transaction(_transaction_id(subject))  # NotFound
            if tx.status != TransactionStatus.POSTED:
                raise Conflict(f"transaction {subject} is {tx.status}, not POSTED")
            return {"amount": format(tx.amount, "f"), "currency": tx.currency}
        raise InvalidCommand(f"{kind} is not a ledger change")

    def execute(self, kind: str, subject: str, params: Mapping[str, str]) -> str:
        change = ChangeKind(kind)
        reason = params.get("reason", "").strip() or f"{kind} approved"
        if change is ChangeKind.FREEZE_ACCOUNT:
            self.ledger.freeze_account(subject, reason)
            return f"account {subject} frozen"
        if change is ChangeKind.UNFREEZE_ACCOUNT:
            self.ledger.unfreeze_account(subject, reason)
            return f"account {subject} unfrozen"
        if change is ChangeKind.REVERSE_TRANSACTION:
            result = self.ledger.reverse(_transaction_id(subject), reason)
            return f"transaction {subject} reversed by {result.transaction_id}"
        raise InvalidCommand(f"{kind} is not a ledger change")

    def check_direct_reversal(self, amount: Decimal, currency: str) -> None:
        """Raise :class:`ApprovalRequired` unless a reversal of ``amount`` may be made by
        one person (at or below the threshold of ``currency``). Every path that reverses
        without a change request asks this first."""
        if self.thresholds.requires_approval(amount, currency):
            raise ApprovalRequired(
                f"reversing {format(amount, 'f')} {currency} needs a second person's "
                f"approval ({self.thresholds.describe(currency)})"
            )

    def reverse_directly(self, tx_id: UUID, reason: str) -> SubmissionResult:
        """Reverse at once when at or below the threshold; above it raise
        :class:`ApprovalRequired` (the reversal must be requested and approved)."""
        tx = self.ledger.get_transaction(tx_id)  # NotFound
        self.check_direct_reversal(tx.amount, tx.currency)
        return self.ledger.reverse(tx_id, reason)
