"""The reconciliation context: core-banking statements matched against the ledger.

:class:`ReconciliationApplication` records one
:class:`~domain.reconciliation.reconciliation.StatementReconciliation` per imported statement
in its own event table. Importing reads the ledger's side through the
:class:`~application.reconciliation.ports.LedgerStatementSide` port, matches once, and
saves the import and its result together (``Imported`` + ``Reconciled``); importing the same
statement again returns that first result without matching again; the same account and
statement id with other content is refused (``StatementConflict``). Breaks are resolved one
by one with a reason, by a person.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import EnvType

from application.errors import Conflict, InvalidCommand, NotFound
from application.reconciliation.ports import LedgerStatementSide
from domain.causation import current_causation
from domain.reconciliation.matching import match_statement
from domain.reconciliation.reconciliation import (
    Break,
    BreakAlreadyResolved,
    InvalidResolution,
    StatementReconciliation,
    UnknownBreak,
    parse_break_id,
    reconciliation_id,
)
from domain.reconciliation.statement import Statement


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    reconciliation: StatementReconciliation
    created: bool
    """False when the statement had been imported before (the earlier result is returned)."""


class ReconciliationApplication(Application[UUID]):
    """Statement imports, their matching result, and the resolution of breaks."""

    name = "reconciliation"

    def __init__(
        self, env: EnvType | None = None, *, ledger: LedgerStatementSide | None = None
    ) -> None:
        super().__init__(env)
        self.ledger = ledger
        self._lock = threading.RLock()

    def get(self, reconciliation: UUID) -> StatementReconciliation:
        try:
            found: StatementReconciliation = self.repository.get(reconciliation)
        except AggregateNotFoundError:
            raise NotFound(f"no reconciliation {reconciliation}") from None
        return found

    def find(self, account: str, statement_id: str) -> StatementReconciliation | None:
        try:
            return self.get(reconciliation_id(account, statement_id))
        except NotFound:
            return None

    def import_statement(self, statement: Statement) -> ImportOutcome:
        """Match ``statement`` against the ledger and record both; idempotent per account
        and statement id (a re-import returns the first result and records nothing). A
        statement imported before with other content raises
        :class:`~domain.reconciliation.statement.StatementConflict`."""
        if self.ledger is None:
            raise RuntimeError("the reconciliation has no ledger port to match against")
        with self._lock:
            existing = self.find(statement.account, statement.statement_id)
            if existing is not None:
                existing.check_same_content(statement)
                return ImportOutcome(existing, created=False)
            side = self.ledger.account_period(
                statement.account, statement.from_date, statement.to_date
            )
            reconciliation = StatementReconciliation.start(statement)
            reconciliation.record(match_statement(statement, side))
            try:
                self.save(reconciliation)
            except IntegrityError:  # imported meanwhile by another process
                earlier = self.find(statement.account, statement.statement_id)
                if earlier is None:
                    raise
                earlier.check_same_content(statement)
                return ImportOutcome(earlier, created=False)
            return ImportOutcome(reconciliation, created=True)

    def resolve_break(self, break_id: str, reason: str) -> tuple[StatementReconciliation, Break]:
        """Resolve one open break with ``reason``; the resolver is the actor in force."""
        try:
            reconciliation_uuid, _number = parse_break_id(break_id)
        except UnknownBreak as error:
            raise NotFound(str(error)) from None
        resolver = current_causation().actor
        with self._lock:
            try:
                reconciliation = self.get(reconciliation_uuid)
            except NotFound:
                raise NotFound(f"no break {break_id}") from None
            try:
                resolved = reconciliation.resolve(break_id.strip(), reason, resolver)
            except UnknownBreak as error:
                raise NotFound(str(error)) from None
            except BreakAlreadyResolved as error:
                raise Conflict(str(error)) from None
            except InvalidResolution as error:
                raise InvalidCommand(str(error), [f"reason: {error}"]) from None
            try:
                self.save(reconciliation)
            except IntegrityError:
                raise Conflict(
                    f"break {break_id} was changed concurrently; look at it again"
                ) from None
            return reconciliation, resolved
