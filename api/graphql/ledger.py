"""GraphQL for the ledger: accounts, transactions, the audit trail and the trial balance
(queries), and the operator's account and reversal mutations.

``Query`` and ``Mutation`` in ``schema.py`` inherit :class:`LedgerQuery` and
:class:`LedgerMutation`; the object types are :mod:`api.graphql.ledger_types`. Mutations run
inside ``caused_by(Causation(actor=<principal>, correlation_id=<request's>,
channel="GRAPHQL"))`` (:func:`~api.graphql.errors.write_through`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Annotated, Any, TypeVar

import strawberry

from api.graphql.common import Connection, connection, page_size, paginate
from api.graphql.context import LedgerContext
from api.graphql.errors import bad_input, checked, in_thread, write_through
from api.graphql.ledger_types import (
    Account,
    AccountStatus,
    AuditEvent,
    HolderTypeInput,
    IdentifierInput,
    Transaction,
    TransactionFilter,
    TrialBalance,
)
from api.presentation import (
    account_key,
    account_view,
    open_account_command,
    transaction_uuid,
    transaction_view,
)
from api.security import Permission
from application.errors import ApprovalRequired
from domain.identity.permissions import readable_contexts
from domain.ledger.holders import MAX_FURTHER_NAMES
from domain.money import check_currency
from projections.ledger.views import AccountView, TransactionView
from projections.ledger.views import TransactionFilter as FilterView
from projections.views import Page

Info = strawberry.Info[LedgerContext, None]
T = TypeVar("T")


def bounded(items: list[T] | None, name: str) -> list[T]:
    """``items`` (none: empty), or BAD_USER_INPUT naming ``name`` beyond
    :data:`~domain.ledger.holders.MAX_FURTHER_NAMES` entries."""
    if items is not None and len(items) > MAX_FURTHER_NAMES:
        raise bad_input(f"{name}: at most {MAX_FURTHER_NAMES} entries")
    return list(items or ())


def _amount(name: str, raw: str | None) -> Decimal | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise bad_input(f"filter.{name}: not a decimal amount: {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise bad_input(f"filter.{name}: must be a non-negative decimal amount")
    return value


def filter_view(given: TransactionFilter | None) -> FilterView:
    if given is None:
        return FilterView()
    with_key = account_key(given.account) if given.account else None
    minimum = _amount("minAmount", given.min_amount)
    maximum = _amount("maxAmount", given.max_amount)
    if minimum is not None and maximum is not None and minimum > maximum:
        raise bad_input("filter: minAmount is greater than maxAmount")
    if given.from_ is not None and given.to is not None and given.from_ > given.to:
        raise bad_input("filter: from is after to")
    return FilterView(
        account=with_key,
        status=given.status.value if given.status is not None else None,
        channel=given.channel.strip().upper() if given.channel else None,
        min_amount=minimum,
        max_amount=maximum,
        from_=given.from_,
        to=given.to,
    )


@strawberry.type
class LedgerQuery:
    @strawberry.field(description="An account by IBAN or internal code, optionally as of T")
    async def account(self, info: Info, id: str, as_of: datetime | None = None) -> Account | None:
        info.context.authorize(Permission.ACCOUNTS_READ)
        with_key = checked(account_key, id)
        view = await info.context.loaders.accounts.load((with_key, as_of))
        return Account.of(view, as_of) if view is not None else None

    @strawberry.field(description="Accounts in key order (keyset pagination)")
    async def accounts(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: AccountStatus | None = None,
    ) -> Connection[Account]:
        info.context.authorize(Permission.ACCOUNTS_READ)
        queries = info.context.container.queries
        wanted = status.value if status is not None else None

        def fetch(size: int, cursor: str | None) -> Page[AccountView]:
            return queries.accounts(size, cursor, wanted)

        page = await in_thread(paginate, fetch, page_size(first), after=after)
        return connection(page, lambda view: Account.of(view, None))

    @strawberry.field(description="A transaction by id, optionally as of T")
    async def transaction(
        self, info: Info, id: strawberry.ID, as_of: datetime | None = None
    ) -> Transaction | None:
        info.context.authorize(Permission.TRANSACTIONS_READ)
        tx_id = str(checked(transaction_uuid, str(id)))
        view = await info.context.loaders.transactions.load((tx_id, as_of))
        return Transaction.of(view, as_of) if view is not None else None

    @strawberry.field(description="Transactions matching the filter, newest first")
    async def transactions(
        self,
        info: Info,
        filter: TransactionFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Transaction]:
        info.context.authorize(Permission.TRANSACTIONS_READ)
        criteria = checked(filter_view, filter)
        page = await in_thread(
            paginate,
            info.context.container.queries.transactions,
            criteria,
            page_size(first),
            after=after,
        )
        return connection(page, lambda view: Transaction.of(view, None))

    @strawberry.field(
        description="Every recorded event, of one stream or all, in a time window; only "
        "events of the contexts the reader may read (each context's read permission)"
    )
    async def audit_trail(
        self,
        info: Info,
        stream_id: strawberry.ID | None = None,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AuditEvent]:
        principal = info.context.authorize(Permission.AUDIT_READ)
        if from_ is not None and to is not None and from_ > to:
            raise bad_input("from is after to")
        # Only the events of contexts the reader may read (compliance sees no reconciliation).
        readable = readable_contexts(principal.permissions)
        page = await in_thread(
            paginate,
            partial(info.context.container.queries.audit_trail, contexts=readable),
            str(stream_id) if stream_id is not None else None,
            from_,
            to,
            page_size(first),
            after=after,
        )
        return connection(page, AuditEvent.of)

    @strawberry.field(description="Per-account balances and per-currency totals, as of T")
    async def trial_balance(
        self, info: Info, as_of: datetime | None = None, currency: str | None = None
    ) -> TrialBalance:
        info.context.authorize(Permission.REPORTS_READ)
        code = currency.strip().upper() if currency else None
        if code is not None:
            checked(check_currency, code)
        view = await in_thread(info.context.container.queries.trial_balance, as_of, code)
        return TrialBalance.of(view, as_of)


@strawberry.type
class LedgerMutation:
    @strawberry.mutation(
        description="Open a customer account. An overdraft limit above the ceiling "
        "(LEDGER_OVERDRAFT_APPROVAL_ABOVE), or any in a currency without one, fails with "
        "APPROVAL_REQUIRED: use requestOverdraftLimit"
    )
    async def open_account(
        self,
        info: Info,
        iban: str,
        holder_name: str,
        currency: str,
        overdraft_limit: str | None = None,
        holder_type: HolderTypeInput | None = None,
        further_names: list[str] | None = None,
        identifiers: list[IdentifierInput] | None = None,
    ) -> Account:
        info.context.authorize(Permission.ACCOUNTS_WRITE)
        command = checked(
            open_account_command,
            iban,
            holder_name,
            currency,
            overdraft_limit,
            holder_type=holder_type.value if holder_type is not None else None,
            further_names=bounded(further_names, "furtherNames"),
            identifiers=[(i.scheme.value, i.value) for i in bounded(identifiers, "identifiers")],
        )
        changes = info.context.container.ledger_changes

        def open_account() -> AccountView:
            try:
                return account_view(changes.open_account_directly(command))
            except ApprovalRequired as error:
                raise ApprovalRequired(
                    f"{error}; open it with a limit at or below that and ask for more with "
                    "requestOverdraftLimit"
                ) from None

        view = await write_through(info, open_account)
        return Account.of(view, None)

    @strawberry.mutation(description="Close an account for good (only when empty)")
    async def close_account(self, info: Info, id: str, reason: str | None = None) -> Account:
        info.context.authorize(Permission.ACCOUNTS_WRITE)
        return await _change_account(info, id, reason, "close")

    @strawberry.mutation(
        description="Reverse a posted transaction by a new, linked transaction; returns it. "
        "Above the approval threshold (LEDGER_REVERSAL_APPROVAL_ABOVE), or in a currency "
        "without one (any amount), it fails with APPROVAL_REQUIRED: use requestReversal"
    )
    async def reverse_transaction(self, info: Info, id: strawberry.ID, reason: str) -> Transaction:
        info.context.authorize(Permission.TRANSACTIONS_REVERSE)
        tx_id = checked(transaction_uuid, str(id))
        if not reason.strip():
            raise bad_input("reason: a reversal needs a reason")
        ledger = info.context.container.ledger
        changes = info.context.container.ledger_changes

        def reverse() -> TransactionView:
            try:
                result = changes.reverse_directly(tx_id, reason.strip())
            except ApprovalRequired as error:
                raise ApprovalRequired(
                    f"{error}; ask for it with requestReversal and have it approved"
                ) from None
            return transaction_view(ledger.get_transaction(transaction_uuid(result.transaction_id)))

        view = await write_through(info, reverse)
        return Transaction.of(view, None)


async def _change_account(info: Info, raw_id: str, reason: str | None, action: str) -> Account:
    key = checked(account_key, raw_id)
    ledger = info.context.container.ledger
    why = (reason or "").strip() or f"{action} by {info.context.principal.name}"
    changes: dict[str, Callable[[str, str], Any]] = {"close": ledger.close_account}
    change = changes[action]

    def run() -> AccountView:
        return account_view(change(key, why))

    view = await write_through(info, run)
    return Account.of(view, None)
