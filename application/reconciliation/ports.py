"""What the reconciliation context needs from the outside world, as ``typing.Protocol``:
the ledger's side of a statement (implemented over the ledger's read models by
:class:`~projections.ledger.period_reader.LedgerPeriodReader`, wired by the
composition root).
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from domain.reconciliation.matching import LedgerSide


class LedgerStatementSide(Protocol):
    """The ledger's side of a statement, read from the ledger's read models: the account's
    postings booked in a period and its balance at the period's end.

    Implementations make sure the read models include everything the ledger recorded before
    the call (the matching must not run on a lagging read model).
    """

    def account_period(self, account: str, from_date: date, to_date: date) -> LedgerSide | None:
        """The account's facts for the period, or None when the ledger holds no such account."""
        ...
