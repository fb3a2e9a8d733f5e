"""The reconciliation of one imported statement, and the breaks it found.

::

    Imported -> Reconciled -> BreakResolved* (each break OPEN -> RESOLVED, once)

The id is ``uuid5(namespace, account + statement id)``: the same statement imported twice
names the same aggregate, so the second import finds the first result instead of matching
again. ``Imported`` records a digest of the statement's facts, so a statement re-sent under
the same id with other content is refused (:class:`StatementConflict`), not taken for the
first. The matching result is recorded as an event (``Reconciled``), so replaying the
history never re-matches against a ledger that has moved on since.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.aggregate import AttributedAggregate
from domain.errors import DomainError
from domain.reconciliation.matching import Finding, Match, MatchResult
from domain.reconciliation.statement import Statement, StatementConflict, masked_account

RECONCILIATION_NAMESPACE = UUID("3b8e2f4c-7d1a-4e9b-8c55-1f0a6d2e9b31")


class ReconciliationError(DomainError):
    """A reconciliation command its state does not allow."""


class UnknownBreak(ReconciliationError, LookupError):
    """No break of that id in this reconciliation."""


class BreakAlreadyResolved(ReconciliationError):
    """The break was resolved before; a resolution is final."""


class InvalidResolution(ReconciliationError, ValueError):
    """A resolution without a reason (or without a resolver)."""


class BreakStatus(StrEnum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"


def reconciliation_id(account: str, statement_id: str) -> UUID:
    return uuid5(RECONCILIATION_NAMESPACE, f"statement:{account}\x1f{statement_id}")


def break_id(reconciliation: UUID | str, number: int) -> str:
    """``<reconciliation id>:<n>``: a break names its reconciliation (n counts from 1)."""
    return f"{reconciliation}:{number}"


def parse_break_id(value: str) -> tuple[UUID, int]:
    """The reconciliation id and number of a break id; ``UnknownBreak`` if malformed."""
    head, sep, tail = value.strip().rpartition(":")
    try:
        if not sep or not tail.isdigit():
            raise ValueError(value)
        return UUID(head), int(tail)
    except ValueError:
        raise UnknownBreak(f"not a break id: {value!r}") from None


@dataclass(frozen=True, slots=True)
class Break:
    id: str
    number: int
    finding: Finding
    status: BreakStatus = BreakStatus.OPEN
    reason: str | None = None
    resolved_by: str | None = None


class StatementReconciliation(AttributedAggregate):
    """One statement, what it matched in the ledger, and its breaks."""

    @staticmethod
    def create_id(account: str, statement_id: str, **_: Any) -> UUID:
        return reconciliation_id(account, statement_id)

    @classmethod
    def start(cls, statement: Statement) -> StatementReconciliation:
        return cls(
            account=statement.account,
            statement_id=statement.statement_id,
            statement=statement.summary_data(),
            entries=[entry.as_data() for entry in statement.entries],
            digest=statement.digest(),
        )

    @event("Imported")
    def __init__(
        self,
        account: str,
        statement_id: str,
        statement: dict[str, Any],
        entries: list[dict[str, Any]],
        digest: str | None = None,
    ) -> None:
        self.account = account
        self.statement_id = statement_id
        self.digest = digest
        """sha256 of the statement's facts (:meth:`Statement.digest`); None in an event
        recorded before digests were (its content is then unknown)."""
        self.summary = dict(statement)
        self.entry_data = [dict(entry) for entry in entries]
        self.matches: list[Match] = []
        self.breaks: list[Break] = []
        self.ledger_closing_balance: str | None = None
        self.reconciled = False

    def check_same_content(self, statement: Statement) -> None:
        """Raise :class:`StatementConflict` when ``statement`` (same account and id) differs
        from the one imported; an import recorded without a digest is taken as the same."""
        if self.digest is not None and self.digest != statement.digest():
            raise StatementConflict(
                f"statement {self.statement_id} of {masked_account(self.account)} was imported "
                "before with different content"
            )

    @property
    def statement(self) -> Statement:
        return Statement.from_data(self.summary, self.entry_data)

    @property
    def open_breaks(self) -> list[Break]:
        return [b for b in self.breaks if b.status is BreakStatus.OPEN]

    def record(self, result: MatchResult) -> None:
        """Record the matching's result (once, right after the import)."""
        if self.reconciled:
            raise ReconciliationError(f"statement {self.statement_id} is reconciled already")
        closing = result.ledger_closing_balance
        self._reconciled(
            matches=[m.as_data() for m in result.matches],
            breaks=[f.as_data() for f in result.findings],
            ledger_closing_balance=format(closing, "f") if closing is not None else None,
        )

    @event("Reconciled")
    def _reconciled(
        self,
        matches: list[dict[str, Any]],
        breaks: list[dict[str, Any]],
        ledger_closing_balance: str | None,
    ) -> None:
        self.matches = [Match.from_data(m) for m in matches]
        self.breaks = [
            Break(break_id(self.id, number), number, Finding.from_data(data))
            for number, data in enumerate(breaks, start=1)
        ]
        self.ledger_closing_balance = ledger_closing_balance
        self.reconciled = True

    def find_break(self, id_: str) -> Break:
        for item in self.breaks:
            if item.id == id_:
                return item
        raise UnknownBreak(f"reconciliation {self.id} has no break {id_}")

    def resolve(self, id_: str, reason: str, resolver: str) -> Break:
        item = self.find_break(id_)
        if item.status is BreakStatus.RESOLVED:
            raise BreakAlreadyResolved(
                f"break {id_} was resolved by {item.resolved_by}: {item.reason}"
            )
        if not reason or not reason.strip():
            raise InvalidResolution("a resolution needs a reason")
        if not resolver or not resolver.strip():
            raise InvalidResolution("a resolution needs a resolver")
        self._break_resolved(break_id=id_, reason=reason.strip(), resolver=resolver.strip())
        return self.find_break(id_)

    @event("BreakResolved")
    def _break_resolved(self, break_id: str, reason: str, resolver: str) -> None:
        self.breaks = [
            replace(item, status=BreakStatus.RESOLVED, reason=reason, resolved_by=resolver)
            if item.id == break_id
            else item
            for item in self.breaks
        ]
