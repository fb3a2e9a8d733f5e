"""What of an event may leave the bank in a notification: an allowlist per event type.

Ids, amounts, currencies, masked IBANs, statuses, verdicts, kinds and times; never a
person's name, a user name, free text (payment references, notes, reasons, details) or a
payment's metadata. A field not listed here is not sent, so a field added to an event later
stays inside until someone decides it may go out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FACT_FIELDS = frozenset(
    {
        "transaction_id",
        "amount",
        "currency",
        "channel",
        "external_id",
        "debtor_iban",
        "creditor_iban",
    }
)
"""The payment's facts added to a payment's or a fraud case's events (IBANs masked)."""

PAYLOAD_FIELDS: Mapping[str, frozenset[str]] = {
    # ledger
    "Transaction.Received": frozenset(
        {
            "channel",
            "external_id",
            "amount",
            "currency",
            "debtor_iban",
            "creditor_iban",
            "requested_at",
            "reverses",
        }
    ),
    "Transaction.Screened": frozenset({"outcome"}),
    "Transaction.Posted": frozenset({"booking_date"}),
    "Transaction.CreditApplied": frozenset({"booking_date"}),
    "Transaction.Held": frozenset({"account_id", "amount"}),
    "Transaction.Rejected": frozenset({"reason"}),
    "Transaction.Settled": frozenset(),
    "Transaction.Reversed": frozenset({"reversal_id"}),
    "Account.Opened": frozenset({"key", "account_type", "currency"}),
    "Account.Debited": frozenset({"transaction_id", "amount", "booking_date"}),
    "Account.Credited": frozenset({"transaction_id", "amount"}),
    "Account.HoldPlaced": frozenset({"transaction_id", "amount"}),
    "Account.HoldReleased": frozenset({"transaction_id"}),
    "Account.Frozen": frozenset(),
    "Account.Unfrozen": frozenset(),
    "Account.Closed": frozenset(),
    "Account.OverdraftLimitChanged": frozenset(),
    "Account.HolderDetailsChanged": frozenset(),  # names and identifiers stay inside
    # fraud
    "FraudCase.Opened": frozenset({"transaction_id"}),
    "FraudCase.Assigned": frozenset({"transaction_id"}),
    "FraudCase.Decided": frozenset({"transaction_id", "verdict"}),
    "ModelRegistry.Started": frozenset(),
    "ModelRegistry.ModelRegistered": frozenset({"version"}),
    "ModelRegistry.ModelPromoted": frozenset({"version", "previous"}),
    "ModelRegistry.ModelRolledBack": frozenset({"version", "previous"}),
    "ModelRegistry.ChallengerSet": frozenset({"version", "previous"}),
    "ModelRegistry.ChallengerStopped": frozenset({"version"}),
    # identity
    "ChangeRequest.Requested": frozenset({"kind", "requested_at", "expires_at"}),
    "ChangeRequest.Approved": frozenset({"at"}),
    "ChangeRequest.Rejected": frozenset({"at"}),
    "ChangeRequest.Expired": frozenset({"at"}),
    "ChangeRequest.Executed": frozenset({"at"}),
    "ChangeRequest.ExecutionFailed": frozenset({"at"}),
    "BackofficeUser.Registered": frozenset(),
    "BackofficeUser.RoleGranted": frozenset({"role", "request_id"}),
    "BackofficeUser.RoleRevoked": frozenset({"role", "request_id"}),
    "BackofficeUser.Suspended": frozenset(),
    "BackofficeUser.Reactivated": frozenset(),
}
"""The event's own fields that may be sent, by event type (``Transaction.Held``)."""


def sendable(event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``data`` (an event's fields and its payment's facts) that may be sent."""
    allowed = PAYLOAD_FIELDS.get(event_type, frozenset()) | FACT_FIELDS
    return {name: value for name, value in data.items() if name in allowed}
