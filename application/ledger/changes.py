"""The ledger's side of maker-checker: what an approved request does to the ledger.

:class:`LedgerChanges` implements :class:`~application.identity.ports.ChangeExecutor` for the
identity context: it checks a freeze, unfreeze, reversal or holder details change before it is
requested, and carries it out through :class:`~application.ledger.app.LedgerApplication` once
approved (also an overdraft limit above the ceiling, :class:`OverdraftCeilings`).
:class:`ReversalThresholds` says which reversals need a request at all: those above a
per-currency amount, and every reversal in a currency without a configured threshold
(fail closed: a currency nobody set a limit for is not a currency without a limit).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from uuid import UUID

from application.errors import ApplicationError, ApprovalRequired, Conflict, InvalidCommand
from application.ledger.app import LedgerApplication
from application.ledger.commands import OpenAccount, SubmissionResult
from domain.errors import DomainError, NotReversible
from domain.identity.permissions import ChangeKind
from domain.ledger.accounts import Account, AccountStatus, check_overdraft_limit
from domain.ledger.holders import HolderDetails, check_name, holder_details
from domain.ledger.transactions import Transaction, TransactionStatus
from domain.money import parse_amount


class ReversalThresholds:
    """Reversals above ``limits[currency]`` take effect only on approval; so does every
    reversal, of any amount, in a currency that has no limit here (fail closed)."""

    def __init__(self, limits: Mapping[str, Decimal]) -> None:
        self.limits = dict(limits)

    def requires_approval(self, amount: Decimal, currency: str) -> bool:
        limit = self.limits.get(currency)
        return limit is None or amount > limit

    def describe(self, currency: str) -> str:
        """Why a reversal in ``currency`` above the limit needs approval, for messages."""
        limit = self.limits.get(currency)
        if limit is None:
            return (
                f"no approval threshold is configured for {currency} "
                "(LEDGER_REVERSAL_APPROVAL_ABOVE), so every reversal in it needs approval"
            )
        return f"above {format(limit, 'f')} {currency}"


class OverdraftCeilings:
    """Overdraft limits above ``ceilings[currency]`` take effect only on approval; in a
    currency without a ceiling every limit above zero does (fail closed)."""

    def __init__(self, ceilings: Mapping[str, Decimal]) -> None:
        self.ceilings = dict(ceilings)

    def requires_approval(self, limit: Decimal, currency: str) -> bool:
        return limit > self.ceilings.get(currency, Decimal(0))

    def describe(self, currency: str) -> str:
        ceiling = self.ceilings.get(currency)
        if ceiling is None:
            return (
                f"no overdraft ceiling is configured for {currency} "
                "(LEDGER_OVERDRAFT_APPROVAL_ABOVE), so every overdraft in it needs approval"
            )
        return f"above {format(ceiling, 'f')} {currency}"


_PAGE = 200


def request_tag(request_id: str) -> str:
    """What the reason of a ledger change made for change request ``request_id`` ends with."""
    return f"(request {request_id})"


def _transaction_id(subject: str) -> UUID:
    try:
        return UUID(subject.strip())
    except ValueError:
        raise InvalidCommand(f"transaction id: not a UUID: {subject!r}") from None


_STATUS_EVENTS = frozenset({"Frozen", "Unfrozen"})
_OVERDRAFT_EVENTS = frozenset({"OverdraftLimitChanged"})
_HOLDER_EVENTS = frozenset({"HolderDetailsChanged"})


def holder_params(holder_name: str, holder: HolderDetails) -> dict[str, str]:
    """A SET_HOLDER_DETAILS request's parameters (strings, as every request's are): the
    name and type as they are, the further names and identifiers as JSON arrays."""
    data = holder.as_event()
    return {
        "holderName": holder_name,
        "holderType": data["holder_type"],
        "furtherNames": json.dumps(data["further_names"], ensure_ascii=False),
        "identifiers": json.dumps(data["identifiers"], ensure_ascii=False),
    }


def _json_list(params: Mapping[str, str], name: str) -> list[object]:
    raw = params.get(name, "").strip() or "[]"
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidCommand(f"{name}: not a JSON array") from None
    if not isinstance(value, list):
        raise InvalidCommand(f"{name}: not a JSON array")
    return value


def holder_of_params(params: Mapping[str, str]) -> tuple[str, HolderDetails]:
    """The holder name and details a SET_HOLDER_DETAILS request asks for, or
    :class:`InvalidCommand` naming the parameter."""
    names = _json_list(params, "furtherNames")
    if not all(isinstance(n, str) for n in names):
        raise InvalidCommand("furtherNames: a JSON array of strings")
    identifiers = []
    for position, item in enumerate(_json_list(params, "identifiers")):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("scheme"), str)
            and isinstance(item.get("value"), str)
        ):
            raise InvalidCommand(f"identifiers[{position}]: an object with scheme and value")
        identifiers.append((item["scheme"], item["value"]))
    try:
        name = check_name(params.get("holderName", ""))
        details = holder_details(
            params.get("holderType") or None, [str(n) for n in names], identifiers
        )
    except DomainError as error:
        raise InvalidCommand(str(error)) from None
    return name, details


def _overdraft_limit(raw: str, currency: str) -> Decimal:
    """A requested overdraft limit, or :class:`InvalidCommand` naming ``limit``."""
    try:
        return check_overdraft_limit(raw, currency)
    except DomainError as error:  # bad scale, negative, too many digits
        raise InvalidCommand(f"limit: {error}") from None


def _check_reversible(tx: Transaction) -> None:
    """Conflict (409 / CONFLICT) naming ``tx`` when it is itself a reversal."""
    try:
        tx.check_reversible()
    except NotReversible as error:
        raise Conflict(str(error)) from None


class LedgerChanges:
    """Freeze, unfreeze and reverse on the ledger for approved change requests."""

    def __init__(
        self,
        ledger: LedgerApplication,
        thresholds: ReversalThresholds,
        ceilings: OverdraftCeilings | None = None,
    ) -> None:
        self.ledger = ledger
        self.thresholds = thresholds
        self.ceilings = ceilings if ceilings is not None else OverdraftCeilings({})

    def check(self, kind: str, subject: str, params: Mapping[str, str]) -> dict[str, str]:
        change = ChangeKind(kind)
        if change is ChangeKind.FREEZE_ACCOUNT or change is ChangeKind.UNFREEZE_ACCOUNT:
            account = self.ledger.get_account(subject)  # NotFound
            if account.is_internal:
                raise Conflict(f"internal account {subject} cannot be frozen")
            wanted = (
                AccountStatus.OPEN if change is ChangeKind.FREEZE_ACCOUNT else AccountStatus.FROZEN
            )
            if account.status != wanted:
                raise Conflict(f"account {subject} is {account.status}, not {wanted.value}")
            return {"currency": account.currency}
        if change is ChangeKind.REVERSE_TRANSACTION:
            tx = self.ledger.get_transaction(_transaction_id(subject))  # NotFound
            if tx.status != TransactionStatus.POSTED:
                raise Conflict(f"transaction {subject} is {tx.status}, not POSTED")
            _check_reversible(tx)
            return {"amount": format(tx.amount, "f"), "currency": tx.currency}
        if change is ChangeKind.SET_OVERDRAFT_LIMIT:
            account = self.ledger.get_account(subject)  # NotFound
            if account.is_internal or account.status == AccountStatus.CLOSED:
                raise Conflict(f"account {subject} cannot have its overdraft limit changed")
            limit = _overdraft_limit(params.get("limit", ""), account.currency)
            previous = parse_amount(account.overdraft_limit or 0, account.currency)
            return {
                "limit": format(limit, "f"),
                "currency": account.currency,
                "previous": format(previous, "f"),
            }
        if change is ChangeKind.SET_HOLDER_DETAILS:
            account = self.ledger.get_account(subject)  # NotFound
            if account.is_internal or account.status == AccountStatus.CLOSED:
                raise Conflict(f"account {subject} cannot have its holder details changed")
            name, details = holder_of_params(params)
            if name == account.holder_name and details == account.holder:
                raise Conflict(f"account {subject} already has these holder details")
            return {**holder_params(name, details), "previousHolderName": account.holder_name}
        raise InvalidCommand(f"{kind} is not a ledger change")

    def execute(
        self, kind: str, subject: str, params: Mapping[str, str], *, request_id: str
    ) -> str:
        """Carry out request ``request_id``; idempotent per request.

        The ledger's event names the request in its reason (``... (request <id>)``), so a
        second execution of the same request (two replicas approving at once, or completing
        an interrupted approval) recognises the change as its own and returns its outcome
        instead of failing on "already FROZEN" or changing anything twice."""
        change = ChangeKind(kind)
        tag = request_tag(request_id)
        reason = f"{params.get('reason', '').strip() or f'{kind} approved'} {tag}"
        done = self._done_by(change, subject, tag)
        if done is not None:
            return done
        try:
            return self._carry_out(change, subject, reason, params)
        except ApplicationError:
            # A concurrent execution of the same request may have got there first.
            if self._done_by(change, subject, tag) is not None:
                return self._outcome(change, subject)
            raise

    def _carry_out(
        self, change: ChangeKind, subject: str, reason: str, params: Mapping[str, str]
    ) -> str:
        if change is ChangeKind.SET_OVERDRAFT_LIMIT:
            currency = self.ledger.get_account(subject).currency
            limit = _overdraft_limit(params.get("limit", ""), currency)
            self.ledger.set_overdraft_limit(subject, limit, reason)
        elif change is ChangeKind.SET_HOLDER_DETAILS:
            name, details = holder_of_params(params)
            self.ledger.change_holder_details(subject, name, details, reason)
        elif change is ChangeKind.FREEZE_ACCOUNT:
            self.ledger.freeze_account(subject, reason)
        elif change is ChangeKind.UNFREEZE_ACCOUNT:
            self.ledger.unfreeze_account(subject, reason)
        elif change is ChangeKind.REVERSE_TRANSACTION:
            self.ledger.reverse(_transaction_id(subject), reason)
        else:
            raise InvalidCommand(f"{change.value} is not a ledger change")
        return self._outcome(change, subject)

    def _outcome(self, change: ChangeKind, subject: str) -> str:
        if change is ChangeKind.FREEZE_ACCOUNT:
            return f"account {subject} frozen"
        if change is ChangeKind.UNFREEZE_ACCOUNT:
            return f"account {subject} unfrozen"
        if change is ChangeKind.SET_OVERDRAFT_LIMIT:
            account = self.ledger.get_account(subject)
            limit = format(parse_amount(account.overdraft_limit or 0, account.currency), "f")
            return f"account {subject} overdraft limit set to {limit} {account.currency}"
        if change is ChangeKind.SET_HOLDER_DETAILS:
            return f"account {subject} holder details changed"
        tx = self.ledger.get_transaction(_transaction_id(subject))
        return f"transaction {subject} reversed by {tx.reversed_by}"

    def _done_by(self, change: ChangeKind, subject: str, tag: str) -> str | None:
        """The outcome when the ledger already shows this change made by the request
        whose ``tag`` its reason carries; None when it does not."""
        if change is ChangeKind.REVERSE_TRANSACTION:
            tx = self.ledger.get_transaction(_transaction_id(subject))
            if tx.reversed_by is None:
                return None
            reversal = self.ledger.get_transaction(tx.reversed_by)
            return self._outcome(change, subject) if reversal.reference.endswith(tag) else None
        if change in (ChangeKind.SET_OVERDRAFT_LIMIT, ChangeKind.SET_HOLDER_DETAILS):
            names = (
                _OVERDRAFT_EVENTS if change is ChangeKind.SET_OVERDRAFT_LIMIT else _HOLDER_EVENTS
            )
            last = self._last_change(self.ledger.get_account(subject).id, names)
            reason = str(getattr(last, "reason", ""))
            return self._outcome(change, subject) if reason.endswith(tag) else None
        if change not in (ChangeKind.FREEZE_ACCOUNT, ChangeKind.UNFREEZE_ACCOUNT):
            return None
        account = self.ledger.get_account(subject)
        freeze = change is ChangeKind.FREEZE_ACCOUNT
        if account.status != (AccountStatus.FROZEN if freeze else AccountStatus.OPEN):
            return None  # the usual case: nothing to look up
        last = self._last_change(account.id, _STATUS_EVENTS)
        if last is None or type(last).__name__ != ("Frozen" if freeze else "Unfrozen"):
            return None
        reason = str(getattr(last, "reason", ""))
        return self._outcome(change, subject) if reason.endswith(tag) else None

    def _last_change(self, account_id: UUID, names: frozenset[str]) -> object | None:
        """The account's latest event named one of ``names``, newest pages first."""
        lte: int | None = None
        while True:
            page = list(self.ledger.events.get(account_id, lte=lte, desc=True, limit=_PAGE))
            for stored in page:
                if type(stored).__name__ in names:
                    return stored
            if len(page) < _PAGE:
                return None
            lte = int(page[-1].originator_version) - 1

    def check_direct_reversal(self, amount: Decimal, currency: str) -> None:
        """Raise :class:`ApprovalRequired` unless a reversal of ``amount`` may be made by
        one person (at or below the threshold of ``currency``). Every path that reverses
        without a change request asks this first."""
        if self.thresholds.requires_approval(amount, currency):
            raise ApprovalRequired(
                f"reversing {format(amount, 'f')} {currency} needs a second person's "
                f"approval ({self.thresholds.describe(currency)})"
            )

    def open_account_directly(self, command: OpenAccount) -> Account:
        """Open an account when its overdraft limit is at or below the ceiling of its
        currency; above it raise :class:`ApprovalRequired` (open it with a lower limit and
        ask for the higher one by a SET_OVERDRAFT_LIMIT request)."""
        limit, currency = command.overdraft_limit, command.currency
        if self.ceilings.requires_approval(limit, currency):
            raise ApprovalRequired(
                f"an overdraft limit of {format(limit, 'f')} {currency} needs a second "
                f"person's approval ({self.ceilings.describe(currency)})"
            )
        return self.ledger.open_account(command)

    def reverse_directly(self, tx_id: UUID, reason: str) -> SubmissionResult:
        """Reverse at once when at or below the threshold; above it raise
        :class:`ApprovalRequired` (the reversal must be requested and approved)."""
        tx = self.ledger.get_transaction(tx_id)  # NotFound
        _check_reversible(tx)  # before the threshold: no request could be approved either
        self.check_direct_reversal(tx.amount, tx.currency)
        return self.ledger.reverse(tx_id, reason)
