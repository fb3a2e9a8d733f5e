"""The changes of a customer account's standing: freeze, unfreeze, overdraft limit, holder
details, close; each a unit of work of the ledger application (callers see to maker-checker).

A mixin of :class:`~application.ledger.app.LedgerApplication`, kept apart so that the
application module stays about booking.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from application.errors import Conflict, InvalidCommand, NotFound
from application.ledger.unit_of_work import LedgerUnitOfWork
from domain.errors import AccountStateError, InvalidHolderDetails, InvalidMoney
from domain.ledger.accounts import Account
from domain.ledger.holders import HolderDetails

T = TypeVar("T")


class AccountChanges:
    """Account-standing use cases over the application's ``_run``."""

    def _run(self, use_case: Callable[[LedgerUnitOfWork], T]) -> T:
        raise NotImplementedError  # the application's

    def freeze_account(self, key: str, reason: str) -> Account:
        return self._change_account(key, lambda account: account.freeze(reason))

    def unfreeze_account(self, key: str, reason: str) -> Account:
        return self._change_account(key, lambda account: account.unfreeze(reason))

    def set_overdraft_limit(self, key: str, limit: Decimal, reason: str) -> Account:
        """Change a customer account's overdraft limit (callers see to maker-checker)."""
        return self._change_account(
            key, lambda account: account.change_overdraft_limit(limit, reason)
        )

    def change_holder_details(
        self, key: str, holder_name: str, holder: HolderDetails, reason: str
    ) -> Account:
        """Record a customer account's holder name and details as they now are (callers see
        to maker-checker): the account directory of Verification of Payee follows them."""
        return self._change_account(
            key, lambda account: account.change_holder_details(holder_name, holder, reason)
        )

    def close_account(self, key: str, reason: str) -> Account:
        return self._change_account(key, lambda account: account.close(reason))

    def _change_account(self, key: str, change: Callable[[Account], None]) -> Account:
        def attempt(uow: LedgerUnitOfWork) -> Account:
            account = uow.find_account(key)
            if account is None:
                raise NotFound(f"no account {key}")
            try:
                change(account)
            except AccountStateError as error:
                raise Conflict(str(error)) from None
            except (InvalidMoney, InvalidHolderDetails) as error:
                raise InvalidCommand(str(error)) from None
            return account

        return self._run(attempt)
