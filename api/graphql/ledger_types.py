"""The ledger's GraphQL object types, built from the read-side views (``projections.views``).

Objects carry the ``asOf`` instant they were read at; nested fields (postings, status history,
linked transactions, the parties' accounts) are read as of the same instant. The queries and
mutations that return them are :mod:`api.graphql.ledger`.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from api.graphql.common import Connection, Money, connection, page_size, paginate
from api.graphql.context import LedgerContext
from api.graphql.errors import in_thread
from api.graphql.screening import ScreeningDecision, screening_of
from api.presentation import jsonable
from api.security import Permission
from domain.errors import RejectionReason
from projections.audit.queries import AuditEventView
from projections.ledger.views import (
    AccountView,
    CurrencyTotals,
    PostingView,
    StatusChange,
    TransactionView,
    TrialBalanceLine,
    TrialBalanceView,
)
from projections.views import Page as ViewPage

Info = strawberry.Info[LedgerContext, None]


# --------------------------------------------------------------------------- enums


@strawberry.enum(description="Lifecycle of an account")
class AccountStatus(Enum):
    OPEN = "OPEN"
    FROZEN = "FROZEN"
    CLOSED = "CLOSED"


@strawberry.enum(description="Customer accounts (by IBAN) or internal accounts (by code)")
class AccountType(Enum):
    CUSTOMER = "CUSTOMER"
    INTERNAL = "INTERNAL"


@strawberry.enum(name="HolderType", description="Whom an account belongs to")
class HolderTypeInput(Enum):
    NATURAL = "NATURAL"
    LEGAL = "LEGAL"


@strawberry.enum(name="IdentifierScheme", description="A legal person's organisation identifier")
class IdentifierSchemeInput(Enum):
    LEI = "LEI"
    VAT = "VAT"
    NATIONAL = "NATIONAL"


@strawberry.input(description="An organisation identifier of a legal person")
class IdentifierInput:
    scheme: IdentifierSchemeInput
    value: str


@strawberry.enum(description="RECEIVED -> SCREENED -> POSTED | HELD | REJECTED ...")
class TransactionStatus(Enum):
    RECEIVED = "RECEIVED"
    SCREENED = "SCREENED"
    POSTED = "POSTED"
    HELD = "HELD"
    REJECTED = "REJECTED"
    SETTLED = "SETTLED"
    REVERSED = "REVERSED"


# --------------------------------------------------------------------------- accounts


@strawberry.type(description="One leg of a posted transaction on an account")
class Posting:
    transaction_id: strawberry.ID
    amount: Money = strawberry.field(description="Signed: negative is a debit")
    balance_after: Money = strawberry.field(description="Running balance after this posting")
    recorded_at: datetime
    account_version: int
    as_of: strawberry.Private[datetime | None]

    @classmethod
    def of(cls, view: PostingView, as_of: datetime | None) -> Posting:
        return cls(
            transaction_id=strawberry.ID(view.transaction_id),
            amount=Money.of(view.amount, view.currency),
            balance_after=Money.of(view.balance_after, view.currency),
            recorded_at=view.recorded_at,
            account_version=view.account_version,
            as_of=as_of,
        )

    @strawberry.field(description="The transaction this posting belongs to")
    async def transaction(self, info: Info) -> Transaction | None:
        info.context.authorize(Permission.TRANSACTIONS_READ)
        view = await info.context.loaders.transactions.load((str(self.transaction_id), self.as_of))
        return Transaction.of(view, self.as_of) if view is not None else None


@strawberry.type
class Account:
    id: str = strawberry.field(description="IBAN, or an internal code such as clearing:EUR")
    iban: str | None
    holder_name: str
    currency: str
    status: AccountStatus
    type: AccountType
    balance: Money
    available_balance: Money = strawberry.field(description="Balance minus held amounts")
    held: Money
    overdraft_limit: Money | None = strawberry.field(
        description="How far below zero the balance may go; null for internal accounts"
    )
    opened_at: datetime
    updated_at: datetime = strawberry.field(description="When the last change was recorded")
    as_of: datetime | None = strawberry.field(
        description="The instant this account was read as of (null: now)"
    )

    @classmethod
    def of(cls, view: AccountView, as_of: datetime | None) -> Account:
        limit = view.overdraft_limit
        return cls(
            id=view.key,
            iban=view.iban,
            holder_name=view.holder_name,
            currency=view.currency,
            status=AccountStatus(view.status),
            type=AccountType(view.type),
            balance=Money.of(view.balance, view.currency),
            available_balance=Money.of(view.available, view.currency),
            held=Money.of(view.held, view.currency),
            overdraft_limit=Money.of(limit, view.currency) if limit is not None else None,
            opened_at=view.opened_at,
            updated_at=view.updated_at,
            as_of=as_of,
        )

    @strawberry.field(description="Postings, newest first (as of the account's asOf)")
    async def postings(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Posting]:
        info.context.authorize(Permission.ACCOUNTS_READ)
        size = page_size(first)
        queries = info.context.container.queries
        as_of = self.as_of

        def fetch(key: str, first: int, cursor: str | None) -> ViewPage[PostingView]:
            return queries.postings(key, first, cursor, as_of)

        page = await in_thread(paginate, fetch, self.id, size, after=after)
        return connection(page, lambda view: Posting.of(view, as_of))


# --------------------------------------------------------------------------- transactions


@strawberry.type(description="Debtor or creditor of a payment")
class Party:
    iban: str
    name: str
    as_of: strawberry.Private[datetime | None]

    @strawberry.field(description="The account here when the IBAN is ours, else null")
    async def account(self, info: Info) -> Account | None:
        info.context.authorize(Permission.ACCOUNTS_READ)
        view = await info.context.loaders.accounts.load((self.iban, self.as_of))
        return Account.of(view, self.as_of) if view is not None else None


@strawberry.type(name="StatusChange")
class StatusHistoryEntry:
    status: TransactionStatus
    at: datetime
    reason: str | None
    detail: str | None = strawberry.field(
        default=None,
        description="What the change was about, e.g. the two steps of a payment posted across "
        "partitions: 'in transit; credit pending to <account>', then 'credited <account>'",
    )

    @classmethod
    def of(cls, change: StatusChange) -> StatusHistoryEntry:
        return cls(
            status=TransactionStatus(change.status),
            at=change.at,
            reason=change.reason,
            detail=change.detail,
        )


BOOKING_REFUSALS = frozenset(
    reason.value
    for reason in RejectionReason
    if reason not in (RejectionReason.SCREENING_DECLINED, RejectionReason.OPERATOR_REJECTED)
)
"""Rejections whose detail anyone who reads the transaction may see (funds, account state);
the detail of any other (a fraud decision, or a reason added later) needs fraud:read."""


@strawberry.type
class Transaction:
    id: strawberry.ID
    external_id: str
    channel: str
    status: TransactionStatus
    amount: Money
    debtor: Party
    creditor: Party
    reference: str
    requested_at: datetime | None
    received_at: datetime
    updated_at: datetime
    rejection_reason: str | None
    detail: strawberry.Private[str | None]
    screening_outcome: str | None
    hits: strawberry.Private[list[str]]
    as_of: datetime | None
    reverses_id: strawberry.Private[str | None]
    reversed_by_id: strawberry.Private[str | None]
    vop_check_id: strawberry.ID | None = strawberry.field(
        default=None, description="The VoP check the payer saw (see vopCheck); null: none sent"
    )

    @classmethod
    def of(cls, view: TransactionView, as_of: datetime | None) -> Transaction:
        return cls(
            id=strawberry.ID(view.id),
            external_id=view.external_id,
            channel=view.channel,
            status=TransactionStatus(view.status),
            amount=Money.of(view.amount, view.currency),
            debtor=Party(iban=view.debtor_iban, name=view.debtor_name, as_of=as_of),
            creditor=Party(iban=view.creditor_iban, name=view.creditor_name, as_of=as_of),
            reference=view.reference,
            requested_at=view.requested_at,
            received_at=view.received_at,
            updated_at=view.updated_at,
            rejection_reason=view.rejection_reason,
            detail=view.rejection_detail,
            screening_outcome=view.screening_outcome,
            hits=list(view.rule_hits),
            as_of=as_of,
            reverses_id=view.reverses,
            reversed_by_id=view.reversed_by,
            vop_check_id=strawberry.ID(view.vop_check_id) if view.vop_check_id else None,
        )

    @strawberry.field(description="The screening rules that fired; null without fraud:read")
    def rule_hits(self, info: Info) -> list[str] | None:
        return self.hits if info.context.principal.can(Permission.FRAUD_READ) else None

    @strawberry.field(
        description="Why it was rejected in words; for a fraud decision (screening, analyst) "
        "this names rules and findings and is null without fraud:read"
    )
    def rejection_detail(self, info: Info) -> str | None:
        if self.rejection_reason in BOOKING_REFUSALS:
            return self.detail
        return self.detail if info.context.principal.can(Permission.FRAUD_READ) else None

    @strawberry.field(description="Every status the transaction went through, oldest first")
    async def status_history(self, info: Info) -> list[StatusHistoryEntry]:
        info.context.authorize(Permission.TRANSACTIONS_READ)
        history = await info.context.loaders.status_history.load((str(self.id), self.as_of))
        return [StatusHistoryEntry.of(change) for change in history]

    @strawberry.field(description="The transaction this one reverses (for a reversal)")
    async def reverses(self, info: Info) -> Transaction | None:
        return await self._linked(info, self.reverses_id)

    @strawberry.field(description="The reversal that undid this transaction, if any")
    async def reversed_by(self, info: Info) -> Transaction | None:
        return await self._linked(info, self.reversed_by_id)

    @strawberry.field(
        description="The screening decision with its explanation: score, model version, rule "
        "hits, top contributing features (null when the screening had nothing to explain)"
    )
    async def screening(self, info: Info) -> ScreeningDecision | None:
        return await screening_of(info, str(self.id))

    async def _linked(self, info: Info, tx_id: str | None) -> Transaction | None:
        info.context.authorize(Permission.TRANSACTIONS_READ)
        if tx_id is None:
            return None
        view = await info.context.loaders.transactions.load((tx_id, self.as_of))
        return Transaction.of(view, self.as_of) if view is not None else None


@strawberry.input(description="All given criteria must hold")
class TransactionFilter:
    account: str | None = strawberry.field(
        default=None, description="IBAN or internal code, as debtor or creditor"
    )
    status: TransactionStatus | None = None
    channel: str | None = None
    min_amount: str | None = strawberry.field(default=None, description='e.g. "100.00"')
    max_amount: str | None = None
    from_: datetime | None = strawberry.field(
        default=None, name="from", description="Received at or after"
    )
    to: datetime | None = strawberry.field(default=None, description="Received at or before")


# --------------------------------------------------------------------------- audit, reports


@strawberry.type(description="One recorded event of any bounded context")
class AuditEvent:
    context: str
    position: int = strawberry.field(description="Notification id in the context's log")
    stream_id: strawberry.ID
    stream_type: str
    event_type: str
    version: int
    recorded_at: datetime
    actor: str
    correlation_id: str
    channel: str
    payload: JSON

    @classmethod
    def of(cls, view: AuditEventView) -> AuditEvent:
        return cls(
            context=view.context,
            position=view.position,
            stream_id=strawberry.ID(view.stream_id),
            stream_type=view.stream_type,
            event_type=view.event_type,
            version=view.version,
            recorded_at=view.recorded_at,
            actor=view.actor,
            correlation_id=view.correlation_id,
            channel=view.channel,
            payload=jsonable(view.payload),
        )


@strawberry.type(name="TrialBalanceLine")
class TrialBalanceLineType:
    account: str = strawberry.field(description="IBAN or internal code")
    type: AccountType
    currency: str
    balance: Money

    @classmethod
    def of(cls, line: TrialBalanceLine) -> TrialBalanceLineType:
        return cls(
            account=line.account_key,
            type=AccountType(line.type),
            currency=line.currency,
            balance=Money.of(line.balance, line.currency),
        )


@strawberry.type(name="CurrencyTotals")
class CurrencyTotalsType:
    currency: str
    debits: Money = strawberry.field(description="Sum of all debit postings")
    credits: Money = strawberry.field(description="Sum of all credit postings")
    balance: Money = strawberry.field(description="Sum of all balances; zero in a sound ledger")

    @classmethod
    def of(cls, totals: CurrencyTotals) -> CurrencyTotalsType:
        return cls(
            currency=totals.currency,
            debits=Money.of(totals.debits, totals.currency),
            credits=Money.of(totals.credits, totals.currency),
            balance=Money.of(totals.balance_sum, totals.currency),
        )


@strawberry.type
class TrialBalance:
    as_of: datetime | None
    lines: list[TrialBalanceLineType]
    totals: list[CurrencyTotalsType]

    @classmethod
    def of(cls, view: TrialBalanceView, as_of: datetime | None) -> TrialBalance:
        return cls(
            as_of=view.as_of or as_of,
            lines=[TrialBalanceLineType.of(line) for line in view.lines],
            totals=[CurrencyTotalsType.of(t) for t in view.totals],
        )
