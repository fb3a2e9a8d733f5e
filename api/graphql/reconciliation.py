"""GraphQL for reconcilers: imported statements, their breaks, import and resolve.

``Query`` and ``Mutation`` in ``schema.py`` inherit :class:`ReconciliationQuery` and
:class:`ReconciliationMutation`. Reads need ``reconciliation:read``, ``importStatement``
``reconciliation:import`` and ``resolveBreak`` ``reconciliation:resolve``. IBANs are shown
as the other account types show them (in full; logs mask them).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from enum import Enum

import strawberry

from api.graphql.common import Connection, Money, connection, page_size, paginate
from api.graphql.context import LedgerContext
from api.graphql.errors import ApiError, bad_input, in_thread, write_through
from api.runtime.reconciliation_role import import_statements, reconciliation_app
from api.security import Permission
from domain.errors import InvalidIban
from domain.iban import normalise_iban
from domain.reconciliation.reconciliation import StatementReconciliation
from domain.reconciliation.statement import StatementConflict, StatementError
from projections.events import as_utc
from projections.reconciliation.queries import (
    BreakView,
    ReconciliationEntryView,
    ReconciliationQueries,
    ReconciliationView,
    views_of,
)

Info = strawberry.Info[LedgerContext, None]

MAX_STATEMENT_CHARS = 900_000
"""A statement given inline must fit the request body limit; larger files go to the inbox."""


@strawberry.enum(description="Where a reconciliation stands")
class ReconciliationStatus(Enum):
    IMPORTED = "IMPORTED"
    RECONCILED = "RECONCILED"
    OPEN_BREAKS = "OPEN_BREAKS"
    RESOLVED = "RESOLVED"


@strawberry.enum(description="What a break says is wrong")
class BreakKind(Enum):
    MISSING_IN_LEDGER = "MISSING_IN_LEDGER"
    MISSING_IN_CORE = "MISSING_IN_CORE"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    CLOSING_BALANCE_MISMATCH = "CLOSING_BALANCE_MISMATCH"
    UNKNOWN_ACCOUNT = "UNKNOWN_ACCOUNT"


@strawberry.enum(description="A break is open until a reconciler resolves it with a reason")
class BreakStatus(Enum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"


def _money(amount: object, currency: str) -> Money | None:
    if amount is None:
        return None
    return Money.of(Decimal(str(amount)), currency)


@strawberry.type(description="A difference between a core-banking statement and the ledger")
class ReconciliationBreak:
    id: strawberry.ID
    reconciliation_id: strawberry.ID
    kind: BreakKind
    status: BreakStatus
    account: str = strawberry.field(description="IBAN (or other id) of the statement's account")
    statement_amount: Money | None = strawberry.field(
        description="Signed, as the statement has it (entry, or closing balance)"
    )
    ledger_amount: Money | None = strawberry.field(
        description="Signed, as the ledger has it (posting, or balance at period end)"
    )
    transaction_id: strawberry.ID | None
    entry_number: int | None = strawberry.field(description="The entry's place, from 1")
    booking_date: str | None
    reference: str | None
    detail: str
    detected_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    reason: str | None

    @classmethod
    def of(cls, view: BreakView) -> ReconciliationBreak:
        return cls(
            id=strawberry.ID(view.id),
            reconciliation_id=strawberry.ID(view.reconciliation_id),
            kind=BreakKind(view.kind),
            status=BreakStatus(view.status),
            account=view.account,
            statement_amount=_money(view.statement_amount, view.currency),
            ledger_amount=_money(view.ledger_amount, view.currency),
            transaction_id=strawberry.ID(view.transaction_id) if view.transaction_id else None,
            entry_number=view.entry_index + 1 if view.entry_index is not None else None,
            booking_date=view.booking_date,
            reference=view.reference,
            detail=view.detail,
            detected_at=view.detected_at,
            resolved_at=view.resolved_at,
            resolved_by=view.resolved_by,
            reason=view.reason,
        )


@strawberry.type(description="A booked entry of the statement and what it matched")
class StatementEntry:
    amount: Money = strawberry.field(description="Signed: negative is a debit")
    booking_date: str
    value_date: str | None
    end_to_end_id: str | None
    account_servicer_ref: str | None
    remittance: str
    reversal: bool
    matched_transaction_id: strawberry.ID | None
    match_rule: str | None = strawberry.field(description="REFERENCE or AMOUNT_AND_DATE")

    @classmethod
    def of(cls, view: ReconciliationEntryView) -> StatementEntry:
        return cls(
            amount=Money.of(view.amount, view.currency),
            booking_date=view.booking_date,
            value_date=view.value_date,
            end_to_end_id=view.end_to_end_id,
            account_servicer_ref=view.account_servicer_ref,
            remittance=view.remittance,
            reversal=view.reversal,
            matched_transaction_id=strawberry.ID(view.transaction_id)
            if view.transaction_id
            else None,
            match_rule=view.rule,
        )


@strawberry.type(description="One imported core-banking statement matched against the ledger")
class Reconciliation:
    id: strawberry.ID
    statement_id: str
    message_id: str
    version: str = strawberry.field(description="The camt.053 version read")
    account: str = strawberry.field(description="IBAN (or other id) of the statement's account")
    currency: str
    from_date: str
    to_date: str
    statement_created_at: datetime
    opening_balance: Money | None
    closing_balance: Money
    ledger_closing_balance: Money | None = strawberry.field(
        description="The ledger's booked balance at the period's end (null: unknown account)"
    )
    entry_count: int
    matched_count: int
    break_count: int
    open_break_count: int
    status: ReconciliationStatus
    imported_at: datetime
    imported_by: str
    entries: list[StatementEntry]
    fresh: bool = strawberry.field(
        description="False when importStatement found this statement imported before"
    )
    prefetched_breaks: strawberry.Private[list[BreakView] | None]

    @classmethod
    def of(
        cls, view: ReconciliationView, breaks: list[BreakView] | None = None, fresh: bool = False
    ) -> Reconciliation:
        return cls(
            id=strawberry.ID(view.id),
            statement_id=view.statement_id,
            message_id=view.message_id,
            version=view.version_read,
            account=view.account,
            currency=view.currency,
            from_date=view.from_date,
            to_date=view.to_date,
            statement_created_at=view.statement_created_at,
            opening_balance=_money(view.opening_balance, view.currency),
            closing_balance=Money.of(view.closing_balance, view.currency),
            ledger_closing_balance=_money(view.ledger_closing_balance, view.currency),
            entry_count=view.entry_count,
            matched_count=view.matched_count,
            break_count=view.break_count,
            open_break_count=view.open_break_count,
            status=ReconciliationStatus(view.status),
            imported_at=view.imported_at,
            imported_by=view.imported_by,
            entries=[StatementEntry.of(e) for e in view.entries],
            fresh=fresh,
            prefetched_breaks=breaks,
        )

    @strawberry.field(description="The breaks this statement gave, in the order found")
    async def breaks(self, info: Info) -> list[ReconciliationBreak]:
        info.context.authorize(Permission.RECONCILIATION_READ)
        views = self.prefetched_breaks
        if views is None:
            views = await in_thread(queries_of(info).breaks_of, str(self.id))
        return [ReconciliationBreak.of(v) for v in views]


def queries_of(info: Info) -> ReconciliationQueries:
    return info.context.container.reconciliation_queries


def _account_filter(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return normalise_iban(raw)
    except InvalidIban:
        return raw.strip()  # a statement's other account id (Othr/Id)


@strawberry.type
class ReconciliationQuery:
    @strawberry.field(description="Imported statements, newest first (keyset pagination)")
    async def reconciliations(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        iban: str | None = None,
    ) -> Connection[Reconciliation]:
        info.context.authorize(Permission.RECONCILIATION_READ)
        queries = queries_of(info)
        page = await in_thread(
            paginate, queries.reconciliations, _account_filter(iban), page_size(first), after=after
        )
        return connection(page, Reconciliation.of)

    @strawberry.field(description="One reconciliation by id")
    async def reconciliation(self, info: Info, id: strawberry.ID) -> Reconciliation | None:
        info.context.authorize(Permission.RECONCILIATION_READ)
        view = await in_thread(queries_of(info).reconciliation, str(id).strip())
        return Reconciliation.of(view) if view is not None else None

    @strawberry.field(description="Breaks of every statement, newest first (keyset pagination)")
    async def reconciliation_breaks(
        self,
        info: Info,
        status: BreakStatus | None = None,
        kind: BreakKind | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ReconciliationBreak]:
        info.context.authorize(Permission.RECONCILIATION_READ)
        queries = queries_of(info)
        page = await in_thread(
            paginate,
            queries.breaks,
            status.value if status is not None else None,
            kind.value if kind is not None else None,
            page_size(first),
            after=after,
        )
        return connection(page, ReconciliationBreak.of)


async def _current(
    info: Info, aggregate: StatementReconciliation, fresh: bool = False
) -> Reconciliation:
    """The reconciliation as the read model has it, or (not projected yet) as the aggregate
    just recorded it."""
    queries = queries_of(info)
    view = await in_thread(queries.reconciliation, str(aggregate.id))
    if view is not None and view.updated_at >= as_utc(aggregate.modified_on):
        return Reconciliation.of(view, fresh=fresh)
    built, breaks = views_of(aggregate)
    if view is not None:
        built = dataclasses.replace(
            built, imported_at=view.imported_at, imported_by=view.imported_by
        )
    elif fresh:  # imported by this very request
        built = dataclasses.replace(built, imported_by=info.context.principal.name)
    return Reconciliation.of(built, breaks, fresh=fresh)


@strawberry.type
class ReconciliationMutation:
    @strawberry.mutation(
        description="Import a camt.053 statement document (02..08) and match it against the "
        "ledger; a statement imported before gives its first result again. A malformed "
        "document fails with BAD_USER_INPUT and the reason, and nothing is recorded."
    )
    async def import_statement(self, info: Info, xml: str) -> list[Reconciliation]:
        info.context.authorize(Permission.RECONCILIATION_IMPORT)
        if len(xml) > MAX_STATEMENT_CHARS:
            raise bad_input(f"xml: larger than {MAX_STATEMENT_CHARS} characters; use the inbox")
        container = info.context.container

        def run() -> list[tuple[StatementReconciliation, bool]]:
            try:
                outcomes = import_statements(container, xml)
            except StatementConflict as error:  # the same statement id, other content
                raise ApiError(error.reason, "CONFLICT") from None
            except StatementError as error:
                raise bad_input(f"xml: {error.reason}") from None
            return [(o.reconciliation, o.created) for o in outcomes]

        done = await write_through(info, run)
        return [await _current(info, rec, fresh) for rec, fresh in done]

    @strawberry.mutation(description="Resolve an open break with a reason (final)")
    async def resolve_break(
        self, info: Info, id: strawberry.ID, reason: str
    ) -> ReconciliationBreak:
        info.context.authorize(Permission.RECONCILIATION_RESOLVE)
        if not reason.strip():
            raise bad_input("reason: a resolution needs a reason")
        app = reconciliation_app(info.context.container)
        rec, _resolved = await write_through(info, lambda: app.resolve_break(str(id), reason))
        _view, breaks = views_of(rec)
        changed = next(b for b in breaks if b.id == str(id).strip())
        stored = await in_thread(queries_of(info).break_, changed.id)
        if stored is not None and stored.status == "RESOLVED":
            return ReconciliationBreak.of(stored)
        if stored is not None:  # the projector has not seen the resolution yet
            changed = dataclasses.replace(
                stored,
                status=changed.status,
                resolved_at=changed.resolved_at,
                resolved_by=changed.resolved_by,
                reason=changed.reason,
            )
        return ReconciliationBreak.of(changed)
