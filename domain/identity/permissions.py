"""The permission matrix: which role may do what, and who requests and approves what.

Permissions name operations (``accounts:read``); roles are sets of permissions. People hold
*human* roles, machine clients hold *service* roles, and never the other way round, so a
leaked channel token can never decide a fraud case and no person can pose as the ingestion
service. Anything not granted here is denied, including a permission nobody has heard of.

The permission table in docs/security.md is generated from this module
(``ledger permissions``) and a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Permission(StrEnum):
    ACCOUNTS_READ = "accounts:read"
    ACCOUNTS_WRITE = "accounts:write"
    """Open and close accounts."""
    ACCOUNTS_FREEZE = "accounts:freeze"
    """Request a freeze or unfreeze (maker)."""
    ACCOUNTS_APPROVE = "accounts:approve"
    """Approve someone else's freeze or unfreeze request (checker)."""
    TRANSACTIONS_SUBMIT = "transactions:submit"
    TRANSACTIONS_READ = "transactions:read"
    TRANSACTIONS_REVERSE = "transactions:reverse"
    """Reverse a posted payment; above the approval threshold only by request (maker)."""
    TRANSACTIONS_APPROVE = "transactions:approve"
    """Approve someone else's reversal request (checker)."""
    AUDIT_READ = "audit:read"
    REPORTS_READ = "reports:read"
    FRAUD_READ = "fraud:read"
    FRAUD_DECIDE = "fraud:decide"
    FRAUD_CLAIM = "fraud:claim"
    """File a customer's fraud claim, scam report or chargeback on a past payment (a label)."""
    USERS_READ = "users:read"
    USERS_MANAGE = "users:manage"
    """Register, suspend and reactivate users; request role grants and revokes (maker)."""
    USERS_APPROVE = "users:approve"
    """Approve someone else's role grant or revoke (checker)."""
    REQUESTS_READ = "requests:read"
    """See maker-checker requests."""
    METRICS_READ = "metrics:read"
    """Scrape /metrics when the deployment restricts it."""
    RECONCILIATION_READ = "reconciliation:read"
    """See statement imports, reconciliation runs, matches and breaks."""
    RECONCILIATION_IMPORT = "reconciliation:import"
    """Hand a core-banking statement (camt.053) to the reconciliation."""
    RECONCILIATION_RESOLVE = "reconciliation:resolve"
    """Resolve a reconciliation break with a reason."""
    NOTIFICATIONS_READ = "notifications:read"
    """See notification deliveries and their attempts (the delivery audit)."""
    VOP_CHECK = "vop:check"
    """Ask Verification of Payee checks of our accounts (another PSP, a service principal)."""
    VOP_READ = "vop:read"
    """See the recorded Verification of Payee checks (compliance)."""
    VOP_REQUEST = "vop:request"
    """Ask a Verification of Payee check before a payer authorises a payment (our channels)."""


ALL_PERMISSIONS: frozenset[str] = frozenset(p.value for p in Permission)

_READ_MONEY = {Permission.ACCOUNTS_READ, Permission.TRANSACTIONS_READ}

HUMAN_ROLES: Mapping[str, frozenset[str]] = {
    "admin": ALL_PERMISSIONS
    - {
        Permission.TRANSACTIONS_SUBMIT,
        Permission.METRICS_READ,
        Permission.VOP_CHECK,
        Permission.VOP_REQUEST,
    },
    "operator": frozenset(
        _READ_MONEY
        | {
            Permission.ACCOUNTS_WRITE,
            Permission.ACCOUNTS_FREEZE,
            Permission.ACCOUNTS_APPROVE,
            Permission.TRANSACTIONS_REVERSE,
            Permission.TRANSACTIONS_APPROVE,
            Permission.REPORTS_READ,
            Permission.REQUESTS_READ,
            Permission.NOTIFICATIONS_READ,
        }
    ),
    "fraud_analyst": frozenset(
        _READ_MONEY | {Permission.FRAUD_READ, Permission.FRAUD_DECIDE, Permission.FRAUD_CLAIM}
    ),
    "reconciler": frozenset(
        _READ_MONEY
        | {
            Permission.REPORTS_READ,
            Permission.RECONCILIATION_READ,
            Permission.RECONCILIATION_IMPORT,
            Permission.RECONCILIATION_RESOLVE,
        }
    ),
    "auditor": frozenset(
        _READ_MONEY
        | {
            Permission.AUDIT_READ,
            Permission.REPORTS_READ,
            Permission.FRAUD_READ,
            Permission.USERS_READ,
            Permission.REQUESTS_READ,
            Permission.RECONCILIATION_READ,
            Permission.NOTIFICATIONS_READ,
            Permission.VOP_READ,
        }
    ),
    "compliance": frozenset(
        _READ_MONEY
        | {
            Permission.ACCOUNTS_FREEZE,
            Permission.ACCOUNTS_APPROVE,
            Permission.AUDIT_READ,
            Permission.REPORTS_READ,
            Permission.FRAUD_READ,
            Permission.USERS_READ,
            Permission.REQUESTS_READ,
            Permission.NOTIFICATIONS_READ,
            Permission.VOP_READ,
        }
    ),
    "viewer": frozenset(_READ_MONEY),
}
"""Roles of people (backoffice users), granted and revoked by maker-checker requests."""

SERVICE_ROLES: Mapping[str, frozenset[str]] = {
    # payment channels put payments in and read their status back, ask Verification of
    # Payee before the payer authorises a payment, and pass on customers' fraud claims
    "channel": frozenset(
        {
            Permission.TRANSACTIONS_SUBMIT,
            Permission.TRANSACTIONS_READ,
            Permission.VOP_REQUEST,
            Permission.FRAUD_CLAIM,
        }
    ),
    # the message-queue ingestion role (its events name service:ingestion)
    "ingestion": frozenset({Permission.TRANSACTIONS_SUBMIT}),
    # a Prometheus scraper, when /metrics is restricted
    "monitoring": frozenset({Permission.METRICS_READ}),
    # another PSP asking Verification of Payee checks of our accounts (the responder)
    "vop_requester": frozenset({Permission.VOP_CHECK}),
}
"""Roles of machine clients (service principals); carried by their tokens."""

ROLE_PERMISSIONS: Mapping[str, frozenset[str]] = {**HUMAN_ROLES, **SERVICE_ROLES}


CONTEXT_READ_PERMISSIONS: Mapping[str, frozenset[str]] = {
    "ledger": frozenset(_READ_MONEY),
    "fraud": frozenset({Permission.FRAUD_READ}),
    "reconciliation": frozenset({Permission.RECONCILIATION_READ}),
    "identity": frozenset({Permission.USERS_READ, Permission.REQUESTS_READ}),
    "notifications": frozenset({Permission.NOTIFICATIONS_READ}),
    "vop": frozenset({Permission.VOP_READ}),
}
"""What reading a bounded context's events takes (all of them), on top of ``audit:read``: the
audit trail shows a reader only the events of the contexts it may read. A context not listed
here is shown to nobody (deny by default)."""


def readable_contexts(permissions: frozenset[str]) -> frozenset[str]:
    """The contexts whose events a holder of ``permissions`` may read in the audit trail."""
    return frozenset(
        context for context, needed in CONTEXT_READ_PERMISSIONS.items() if needed <= permissions
    )


def permissions_of(roles: frozenset[str] | set[str]) -> frozenset[str]:
    """The union of the permissions of ``roles`` (unknown roles grant nothing)."""
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(granted)


class ChangeKind(StrEnum):
    """Sensitive changes that need a maker and a different checker."""

    GRANT_ROLE = "GRANT_ROLE"
    REVOKE_ROLE = "REVOKE_ROLE"
    FREEZE_ACCOUNT = "FREEZE_ACCOUNT"
    UNFREEZE_ACCOUNT = "UNFREEZE_ACCOUNT"
    REVERSE_TRANSACTION = "REVERSE_TRANSACTION"
    SET_OVERDRAFT_LIMIT = "SET_OVERDRAFT_LIMIT"
    SET_HOLDER_DETAILS = "SET_HOLDER_DETAILS"


REQUEST_PERMISSION: Mapping[ChangeKind, Permission] = {
    ChangeKind.GRANT_ROLE: Permission.USERS_MANAGE,
    ChangeKind.REVOKE_ROLE: Permission.USERS_MANAGE,
    ChangeKind.FREEZE_ACCOUNT: Permission.ACCOUNTS_FREEZE,
    ChangeKind.UNFREEZE_ACCOUNT: Permission.ACCOUNTS_FREEZE,
    ChangeKind.REVERSE_TRANSACTION: Permission.TRANSACTIONS_REVERSE,
    ChangeKind.SET_OVERDRAFT_LIMIT: Permission.ACCOUNTS_WRITE,
    ChangeKind.SET_HOLDER_DETAILS: Permission.ACCOUNTS_WRITE,
}
"""The permission the maker needs to ask for a change of each kind."""

APPROVE_PERMISSION: Mapping[ChangeKind, Permission] = {
    ChangeKind.GRANT_ROLE: Permission.USERS_APPROVE,
    ChangeKind.REVOKE_ROLE: Permission.USERS_APPROVE,
    ChangeKind.FREEZE_ACCOUNT: Permission.ACCOUNTS_APPROVE,
    ChangeKind.UNFREEZE_ACCOUNT: Permission.ACCOUNTS_APPROVE,
    ChangeKind.REVERSE_TRANSACTION: Permission.TRANSACTIONS_APPROVE,
    ChangeKind.SET_OVERDRAFT_LIMIT: Permission.ACCOUNTS_APPROVE,
    ChangeKind.SET_HOLDER_DETAILS: Permission.ACCOUNTS_APPROVE,
}
"""The permission the checker (a different user) needs to approve or reject it."""
