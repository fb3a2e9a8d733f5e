"""Every projection by name, in the order the projector applies them, wired to the read
ports one context offers another.

This is the one module that knows every context's projections (with
:mod:`projections.queries`); the contexts never import each other (the import-linter
independence contract). Importing it puts every read-model table on
:data:`projections.tables.metadata`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sqlalchemy import Table

from projections.audit.trail import AuditProjection
from projections.base import Projection
from projections.fraud.claims import FraudClaimsProjection
from projections.fraud.monitor import FraudMonitorProjection
from projections.fraud.read_model import FraudProjection
from projections.identity.read_model import IdentityProjection
from projections.ledger.accounts import AccountsProjection
from projections.ledger.transactions import (
    TransactionsProjection,
    payment_facts,
    transaction_channels,
)
from projections.notifications.read_model import NotificationsProjection
from projections.reconciliation.read_model import ReconciliationProjection
from projections.tables import metadata
from projections.vop.checks import VopChecksProjection
from projections.vop.directory import VopDirectoryProjection

PROJECTIONS: dict[str, Callable[[], Projection]] = {
    AccountsProjection.name: AccountsProjection,
    TransactionsProjection.name: TransactionsProjection,
    AuditProjection.name: AuditProjection,
    # after transactions: it reads a payment's facts from the ledger's read model
    FraudProjection.name: partial(FraudProjection, payment_facts),
    FraudClaimsProjection.name: partial(FraudClaimsProjection, payment_facts),
    FraudMonitorProjection.name: partial(FraudMonitorProjection, transaction_channels),
    IdentityProjection.name: IdentityProjection,
    NotificationsProjection.name: NotificationsProjection,
    ReconciliationProjection.name: ReconciliationProjection,
    VopDirectoryProjection.name: VopDirectoryProjection,
    VopChecksProjection.name: VopChecksProjection,
}
"""Every projection by name (a new instance per call), in the order the projector applies them."""

READ_MODEL_TABLES: tuple[Table, ...] = tuple(
    t
    for t in metadata.sorted_tables
    # operational, not derived from events alone (projections/quarantine.py has rm_quarantine)
    if t.name not in {"rm_projection_tracking", "rm_quarantine"}
)
"""Every read-model table of every projection (the audit chain's tables are apart)."""
