"""What the ledger's API reads (GraphQL, REST, the CLI): the ledger's accounts and
transactions and the audit trail of every context, as one object over one engine.

The queries themselves live with their contexts (:mod:`projections.ledger.account_queries`,
:mod:`projections.ledger.transaction_queries`, :mod:`projections.audit.queries`), which never
import each other (the import-linter independence contract); this shared module only puts
them together, as the projector's registry puts the projections together.
"""

from __future__ import annotations

from projections.audit.queries import AuditQueries
from projections.ledger.account_queries import AccountQueries
from projections.ledger.transaction_queries import TransactionQueries


class LedgerQueries(AccountQueries, TransactionQueries, AuditQueries):
    """Read-only queries over the ledger's read models and the audit trail; every method
    opens and closes its own connection."""
