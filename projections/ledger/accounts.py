"""The ``accounts`` projection: current balances, full history and postings.

* ``rm_accounts``: the current state of every account.
* ``rm_account_history``: one row per account event with the account's whole
  state after it, so ``account(asOf)`` and ``trialBalance(asOf)`` are index
  lookups (latest row with ``recorded_at <= T``).
* ``rm_postings``: one row per ``Debited``/``Credited`` event of a customer account, and
  one per leg of a ``Posted`` transaction on an internal account, with the signed amount
  and the running balance after it.
* ``rm_holds``: the holds open now (needed to know what a ``HoldReleased``
  gives back).

A batch loads the current rows of the accounts it touches, replays its events
on them in memory (the running balance continues from the stored balance) and
writes everything with ``executemany``. Internal accounts (``clearing:<CCY>`` ...) are
projected from the transactions' legs, not from their aggregates' postings: see
:mod:`projections.ledger.internal_accounts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, select

from domain.ledger.accounts import Account, balance_is_projected
from domain.ledger.transactions import Transaction
from projections.base import (
    Projection,
    ProjectionError,
    chunked,
    fail,
    insert_rows,
    update_by_key,
)
from projections.events import Envelope
from projections.ledger import internal_accounts as internal
from projections.ledger.tables import rm_account_history, rm_accounts, rm_holds, rm_postings

_STATE_COLUMNS = tuple(c.name for c in rm_accounts.columns)
_ZERO = Decimal(0)
_MUTABLE = (
    "id",
    "holder_name",
    "status",
    "balance",
    "held",
    "overdraft_limit",
    "debits_total",
    "credits_total",
    "updated_at",
    "version",
)


class AccountsProjection(Projection):
    name = "accounts"
    tables = (rm_postings, rm_account_history, rm_holds, rm_accounts)

    def apply(self, conn: Connection, envelopes: Sequence[Envelope]) -> None:
        batch = [e for e in envelopes if isinstance(e.event, Account.Event) or _is_posted(e)]
        if not batch:
            return
        run = _Batch(self.name)
        run.load(conn, batch)
        for envelope in batch:
            try:
                run.apply(envelope)
            except ProjectionError:
                raise
            except Exception as error:
                raise ProjectionError(self.name, envelope, error) from error
        run.write(conn)


LEG_KINDS = frozenset({"Posted", "CreditApplied"})
"""The transaction events that carry legs (a two-step posting has one of each)."""


def _is_posted(envelope: Envelope) -> bool:
    return isinstance(envelope.event, Transaction.Event) and envelope.kind in LEG_KINDS


def _internal_legs(envelope: Envelope) -> list[dict[str, Any]]:
    """The legs of a ``Posted`` or ``CreditApplied`` event on internal accounts."""
    return [leg for leg in envelope.event.postings if balance_is_projected(str(leg["account_key"]))]


class _Batch:
    """The in-memory state of one batch of account events."""

    def __init__(self, projection: str) -> None:
        self.projection = projection
        self.states: dict[str, dict[str, Any]] = {}
        self.existing: set[str] = set()
        self.holds: dict[tuple[str, str], Decimal] = {}  # (tx id, account id) -> amount
        self.new_holds: dict[tuple[str, str], dict[str, Any]] = {}
        self.dropped_holds: set[tuple[str, str]] = set()
        self.history: list[dict[str, Any]] = []
        self.postings: list[dict[str, Any]] = []
        self.internal: dict[str, internal.Pending] = {}

    def load(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        ids = sorted(
            {e.stream_id for e in batch if not _is_posted(e)}
            | {str(leg["account_id"]) for e in batch if _is_posted(e) for leg in _internal_legs(e)}
        )
        for chunk in chunked(ids):
            rows = conn.execute(select(rm_accounts).where(rm_accounts.c.id.in_(chunk)))
            for row in rows.mappings():
                self.states[row["id"]] = dict(row)
        self.existing = set(self.states)
        released = sorted({str(e.event.transaction_id) for e in batch if e.kind == "HoldReleased"})
        for chunk in chunked(released):
            query = select(rm_holds.c.transaction_id, rm_holds.c.account_id, rm_holds.c.amount)
            for tx, account, amount in conn.execute(
                query.where(rm_holds.c.transaction_id.in_(chunk))
            ):
                self.holds[(tx, account)] = amount

    def apply(self, envelope: Envelope) -> None:
        if _is_posted(envelope):
            for leg in _internal_legs(envelope):
                self._internal_leg(envelope, leg)
            return
        kind = envelope.kind
        account_id = envelope.stream_id
        state = self.states.get(account_id)
        if state is None and kind == "Opened" and str(envelope.event.account_type) == "INTERNAL":
            state = self.states[account_id] = self._opened(envelope)
            state["version"] = 0
            self._internal_row(envelope, state, {})
            return
        if state is not None and state["type"] == "INTERNAL":
            self._internal_event(envelope, state)
            return
        if kind == "Opened":
            if state is not None:
                raise fail(self.projection, envelope, "account opened twice")
            state = self._opened(envelope)
            self.states[account_id] = state
        else:
            if state is None:
                raise fail(self.projection, envelope, "event for an account never opened")
            if envelope.version != state["version"] + 1:
                raise fail(
                    self.projection,
                    envelope,
                    f"expected version {state['version'] + 1}, got {envelope.version}",
                )
            handler = getattr(self, f"_on_{kind}", None)
            if handler is None:
                raise fail(self.projection, envelope, f"unknown account event {kind}")
            handler(envelope, state)
            state["version"] = envelope.version
            state["updated_at"] = envelope.recorded_at
        self.history.append(
            {
                "account_id": account_id,
                "version": envelope.version,
                "recorded_at": envelope.recorded_at,
                "event_type": envelope.event_type,
                **{k: state[k] for k in _STATE_COLUMNS if k not in {"id", "updated_at", "version"}},
            }
        )

    # -- internal accounts -----------------------------------------------------------

    def _internal_leg(self, envelope: Envelope, leg: dict[str, Any]) -> None:
        """A leg on an internal account: the only source of its balance."""
        account_id = str(leg["account_id"])
        state = self.states.get(account_id)
        if state is None:
            key = str(leg["account_key"])
            state = internal.synthesized(account_id, key, envelope.recorded_at)
            self.states[account_id] = state
        amount = Decimal(leg["amount"])
        side = "debits_total" if amount < 0 else "credits_total"
        posting = {
            "transaction_id": envelope.stream_id,
            "amount": amount,
            "booking_date": str(envelope.event.booking_date),
        }
        self._internal_row(envelope, state, {"balance": amount, side: abs(amount)}, posting)

    def _internal_event(self, envelope: Envelope, state: dict[str, Any]) -> None:
        """An event of an internal account's aggregate (its legs come from transactions)."""
        kind = envelope.kind
        if kind in {"Opened", "Debited", "Credited"}:
            return  # opened by its first leg (old logs); postings: the legs count, not these
        if kind not in {"HoldPlaced", "HoldReleased"}:  # holds of old logs
            raise fail(self.projection, envelope, f"unexpected {kind} on an internal account")
        held = state["held"]
        getattr(self, f"_on_{kind}")(envelope, state)
        delta, state["held"] = state["held"] - held, held
        self._internal_row(envelope, state, {"held": delta})

    def _internal_row(
        self,
        envelope: Envelope,
        state: dict[str, Any],
        deltas: dict[str, Decimal],
        posting: dict[str, Any] | None = None,
    ) -> None:
        stored_until = state["updated_at"] if state["id"] in self.existing else None
        row = (envelope.recorded_at, envelope.event_type, deltas, posting)
        internal.add_row(self.internal, state, stored_until, row)

    # -- handlers --------------------------------------------------------------------

    def _opened(self, envelope: Envelope) -> dict[str, Any]:
        event = envelope.event
        currency = str(event.currency)
        account_type = str(event.account_type)
        limit = event.overdraft_limit
        return {
            "id": envelope.stream_id,
            "key": str(event.key),
            "iban": str(event.key) if account_type == "CUSTOMER" else None,
            "holder_name": str(event.holder_name),
            "currency": currency,
            "status": "OPEN",
            "type": account_type,
            "balance": _ZERO,
            "held": _ZERO,
            "overdraft_limit": Decimal(limit) if limit is not None else None,
            "debits_total": _ZERO,
            "credits_total": _ZERO,
            "opened_at": envelope.recorded_at,
            "updated_at": envelope.recorded_at,
            "version": envelope.version,
        }

    def _posting(self, envelope: Envelope, state: dict[str, Any], amount: Decimal) -> None:
        self.postings.append(
            {
                "account_id": state["id"],
                "version": envelope.version,
                "account_key": state["key"],
                "transaction_id": str(envelope.event.transaction_id),
                "amount": amount,
                "balance_after": state["balance"],
                "currency": state["currency"],
                "booking_date": getattr(envelope.event, "booking_date", None),
                "recorded_at": envelope.recorded_at,
            }
        )

    def _on_Debited(self, envelope: Envelope, state: dict[str, Any]) -> None:
        amount = Decimal(envelope.event.amount)
        state["balance"] -= amount
        state["debits_total"] += amount
        self._posting(envelope, state, -amount)

    def _on_Credited(self, envelope: Envelope, state: dict[str, Any]) -> None:
        amount = Decimal(envelope.event.amount)
        state["balance"] += amount
        state["credits_total"] += amount
        self._posting(envelope, state, amount)

    def _on_HoldPlaced(self, envelope: Envelope, state: dict[str, Any]) -> None:
        amount = Decimal(envelope.event.amount)
        key = (str(envelope.event.transaction_id), state["id"])
        if key in self.holds:
            raise fail(self.projection, envelope, "hold placed twice")
        self.holds[key] = amount
        self.new_holds[key] = {
            "transaction_id": key[0],
            "account_id": key[1],
            "amount": amount,
            "currency": state["currency"],
            "placed_at": envelope.recorded_at,
            "version": envelope.version,
        }
        state["held"] += amount

    def _on_HoldReleased(self, envelope: Envelope, state: dict[str, Any]) -> None:
        key = (str(envelope.event.transaction_id), state["id"])
        amount = self.holds.pop(key, None)
        if amount is None:
            raise fail(self.projection, envelope, "release of a hold that was never placed")
        if self.new_holds.pop(key, None) is None:
            self.dropped_holds.add(key)
        state["held"] -= amount

    def _on_Frozen(self, envelope: Envelope, state: dict[str, Any]) -> None:
        state["status"] = "FROZEN"

    def _on_Unfrozen(self, envelope: Envelope, state: dict[str, Any]) -> None:
        state["status"] = "OPEN"

    def _on_Closed(self, envelope: Envelope, state: dict[str, Any]) -> None:
        state["status"] = "CLOSED"

    def _on_OverdraftLimitChanged(self, envelope: Envelope, state: dict[str, Any]) -> None:
        state["overdraft_limit"] = Decimal(envelope.event.overdraft_limit)

    def _on_HolderDetailsChanged(self, envelope: Envelope, state: dict[str, Any]) -> None:
        state["holder_name"] = str(envelope.event.holder_name)  # the rest: projections/vop

    # -- write -----------------------------------------------------------------------

    def write(self, conn: Connection) -> None:
        if self.internal:
            rows = internal.resolve(conn, self.internal, self.states)
            self.history += rows.history
            self.postings += rows.postings
            internal.write_moved(conn, rows.moved)
        new = [s for i, s in self.states.items() if i not in self.existing]
        changed = [s for i, s in self.states.items() if i in self.existing]
        if new:
            insert_rows(conn, rm_accounts, new)
        update_by_key(conn, rm_accounts, "id", [{k: s[k] for k in _MUTABLE} for s in changed])
        if self.history:
            insert_rows(conn, rm_account_history, self.history)
        if self.postings:
            insert_rows(conn, rm_postings, self.postings)
        if self.dropped_holds:
            stmt = delete(rm_holds).where(
                and_(
                    rm_holds.c.transaction_id == bindparam("b_tx"),
                    rm_holds.c.account_id == bindparam("b_account"),
                )
            )
            conn.execute(
                stmt, [{"b_tx": tx, "b_account": acc} for tx, acc in sorted(self.dropped_holds)]
            )
        if self.new_holds:
            insert_rows(conn, rm_holds, list(self.new_holds.values()))
