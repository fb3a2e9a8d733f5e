"""Presentation helpers shared by REST and GraphQL.

* Views built from a write-side aggregate, for the answer to a command: a command's response
  (REST 201, a GraphQL mutation's payload) describes the aggregate exactly as the command left
  it, so it never waits for the projector. Queries, by contrast, read the read models only.
* Amount formatting (a decimal string at the currency's scale), account-key and transaction-id
  parsing, and JSON-safe conversion of event payloads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from application.errors import InvalidCommand
from application.input_rules import text_problem
from application.ledger.commands import OpenAccount
from domain.errors import AccountStateError, DomainError, InvalidMoney
from domain.iban import Iban, normalise_iban
from domain.ledger.accounts import (
    Account,
    AccountType,
    check_overdraft_limit,
    parse_internal_code,
)
from domain.ledger.holders import HolderDetails, check_name, holder_details
from domain.ledger.transactions import Transaction
from domain.money import check_currency, minor_unit
from projections.ledger.views import AccountView, TransactionView


def account_view(account: Account) -> AccountView:
    created: Any = account.created_on
    modified: Any = account.modified_on
    return AccountView(
        id=str(account.id),
        key=account.key,
        iban=account.key if account.account_type == AccountType.CUSTOMER else None,
        holder_name=account.holder_name,
        currency=account.currency,
        status=str(account.status),
        type=str(account.account_type),
        balance=account.balance,
        held=account.held,
        overdraft_limit=account.overdraft_limit,
        opened_at=created,
        updated_at=modified,
    )


def transaction_view(tx: Transaction) -> TransactionView:
    created: Any = tx.created_on
    modified: Any = tx.modified_on
    return TransactionView(
        id=str(tx.id),
        external_id=tx.external_id,
        channel=tx.channel,
        status=str(tx.status),
        amount=Decimal(tx.amount),
        currency=tx.currency,
        debtor_iban=tx.debtor_iban,
        debtor_name=tx.debtor_name,
        creditor_iban=tx.creditor_iban,
        creditor_name=tx.creditor_name,
        reference=tx.reference,
        requested_at=tx.requested_at,
        received_at=created,
        updated_at=modified,
        rejection_reason=tx.rejection_reason,
        screening_outcome=tx.screening_outcome,
        reverses=str(tx.reverses) if tx.reverses is not None else None,
        reversed_by=str(tx.reversed_by) if tx.reversed_by is not None else None,
    )


def format_amount(amount: Decimal, currency: str) -> str:
    """``amount`` as a decimal string at ``currency``'s scale: ``"125.40"``, never ``"-0.00"``."""
    try:
        places = minor_unit(currency)
    except InvalidMoney:
        places = 2
    value = Decimal(amount).quantize(Decimal(1).scaleb(-places))
    if value == 0:
        value = abs(value)
    return f"{value:f}"


def account_key(raw: str) -> str:
    """The account key for user input: an IBAN in any spacing/case, or ``kind:CCY``.

    Raises :class:`InvalidCommand` (a readable 422 / BAD_USER_INPUT) when it is neither.
    """
    value = raw.strip()
    try:
        if ":" in value:
            parse_internal_code(value)
            return value
        return normalise_iban(value)
    except DomainError as error:
        raise InvalidCommand(f"account id: {error}") from None


def transaction_uuid(raw: str) -> UUID:
    try:
        return UUID(raw.strip())
    except (ValueError, AttributeError):
        raise InvalidCommand(f"transaction id: {raw!r} is not a UUID") from None


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive value (SQLite hands those back) is taken to be UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def jsonable(value: Any) -> Any:
    """``value`` made JSON-safe: Decimal, UUID, datetime and enums become strings."""
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, datetime):
        return utc(value).isoformat()
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Decimal | UUID):
        return str(value)
    return str(value)


def check_holder_name(name: str) -> str:
    """A holder's legal name, or :class:`InvalidCommand` naming ``holderName``."""
    try:
        return check_name(name)
    except DomainError as error:
        raise InvalidCommand(str(error)) from None


def holder_details_of(
    holder_type: str | None,
    further_names: Sequence[str] | None,
    identifiers: Sequence[tuple[str, str]] | None,
) -> HolderDetails:
    """Checked holder details from an edge's fields, or :class:`InvalidCommand` naming the
    field (``holderType``, ``furtherNames[1]``, ``identifiers[0].value``)."""
    try:
        return holder_details(holder_type, further_names or (), identifiers or ())
    except DomainError as error:
        raise InvalidCommand(str(error)) from None


def open_account_command(
    iban: str,
    holder_name: str,
    currency: str,
    overdraft_limit: str | None,
    *,
    holder_type: str | None = None,
    further_names: Sequence[str] | None = None,
    identifiers: Sequence[tuple[str, str]] | None = None,
) -> OpenAccount:
    """Validate the fields of "open an account" (REST body, GraphQL arguments, CSV row).

    Raises :class:`InvalidCommand` naming every field that is wrong. The holder details
    (type, further names, identifiers) are optional: a natural person without them.
    """
    problems: list[str] = []
    account_iban: Iban | None = None
    try:
        account_iban = Iban(iban)
    except DomainError as error:
        problems.append(f"iban: {error}")
    name = holder_name.strip()
    if not name:
        problems.append("holderName: must not be blank")
    elif len(name) > 140:
        problems.append("holderName: at most 140 characters")
    elif any(ord(ch) < 32 for ch in name):
        problems.append("holderName: control characters are not allowed")
    elif (problem := text_problem(name)) is not None:
        problems.append(f"holderName: {problem}")
    code = currency.strip().upper()
    limit = Decimal(0)
    try:
        check_currency(code)
    except DomainError as error:
        problems.append(f"currency: {error}")
    else:
        raw_limit = (overdraft_limit or "").strip()
        if raw_limit:
            try:
                limit = check_overdraft_limit(raw_limit, code)
            except AccountStateError:
                problems.append("overdraftLimit: must not be negative")
            except DomainError as error:
                problems.append(f"overdraftLimit: {error}")
    holder = HolderDetails()
    try:
        holder = holder_details_of(holder_type, further_names, identifiers)
    except InvalidCommand as error:
        problems.append(str(error))
    if problems or account_iban is None:
        raise InvalidCommand("; ".join(problems))
    return OpenAccount(account_iban, name, code, limit, holder)
