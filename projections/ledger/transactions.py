"""The ``transactions`` projection: searchable transactions and their status history.

* ``rm_transactions``: the current state of every transaction, with the
  columns the filters need (status, channel, IBANs, the accounts posted to,
  amount, received-at).
* ``rm_transaction_status``: one row per lifecycle event (``seq`` is the
  event's version), so the status as of T is the latest row with ``at <= T``.

:func:`payment_facts` is what other contexts' projections may read of a transaction (the
fraud projection, through its :class:`~projections.fraud.ports.TransactionFacts` port).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from domain.ledger.transactions import Transaction
from projections.base import (
    Projection,
    ProjectionError,
    chunked,
    fail,
    insert_rows,
    update_by_key,
)
from projections.events import Envelope, as_utc, json_safe
from projections.ledger.tables import rm_transaction_status, rm_transactions


class TransactionsProjection(Projection):
    name = "transactions"
    tables = (rm_transaction_status, rm_transactions)

    def apply(self, conn: Connection, envelopes: Sequence[Envelope]) -> None:
        batch = [e for e in envelopes if isinstance(e.event, Transaction.Event)]
        if not batch:
            return
        ids = sorted({e.stream_id for e in batch})
        states: dict[str, dict[str, Any]] = {}
        for chunk in chunked(ids):
            rows = conn.execute(select(rm_transactions).where(rm_transactions.c.id.in_(chunk)))
            for row in rows.mappings():
                states[row["id"]] = dict(row)
        existing = set(states)
        status_rows: list[dict[str, Any]] = []
        for envelope in batch:
            try:
                status_rows.append(self._apply_one(envelope, states))
            except ProjectionError:
                raise
            except Exception as error:
                raise ProjectionError(self.name, envelope, error) from error
        new = [s for i, s in states.items() if i not in existing]
        if new:
            insert_rows(conn, rm_transactions, new)
        update_by_key(conn, rm_transactions, "id", [states[i] for i in existing])
        insert_rows(conn, rm_transaction_status, status_rows)

    def _apply_one(self, envelope: Envelope, states: dict[str, dict[str, Any]]) -> dict[str, Any]:
        kind = envelope.kind
        event = envelope.event
        state = states.get(envelope.stream_id)
        reason: str | None = None
        detail: str | None = None
        if kind == "Received":
            if state is not None:
                raise fail(self.name, envelope, "transaction received twice")
            state = self._received(envelope)
            states[envelope.stream_id] = state
        else:
            if state is None:
                raise fail(self.name, envelope, "event for a transaction never received")
            if envelope.version != state["version"] + 1:
                raise fail(
                    self.name,
                    envelope,
                    f"expected version {state['version'] + 1}, got {envelope.version}",
                )
            if kind == "Screened":
                state["status"] = "SCREENED"
                state["screening_outcome"] = str(event.outcome)
                state["rule_hits"] = [str(hit) for hit in event.rule_hits]
                state["screening_score"] = (
                    None if event.score is None else format(Decimal(event.score), "f")
                )
                state["model_version"] = event.model_version
            elif kind == "Posted":
                state["status"] = "POSTED"
                state["booking_date"] = str(event.booking_date)
                legs = list(event.postings)
                state["debit_account"] = next(
                    (str(leg["account_key"]) for leg in legs if Decimal(leg["amount"]) < 0), None
                )
                state["credit_account"] = next(
                    (str(leg["account_key"]) for leg in legs if Decimal(leg["amount"]) > 0), None
                )
                state["hold_account_id"] = None
                pending = getattr(event, "credit_pending", None)
                if pending is not None:
                    detail = f"in transit; credit pending to {pending}"
            elif kind == "CreditApplied":
                # The second step of a two-step posting: the credit out of transit.
                state["credit_account"] = next(
                    (
                        str(leg["account_key"])
                        for leg in event.postings
                        if Decimal(leg["amount"]) > 0
                    ),
                    state["credit_account"],
                )
                suspense_reason = getattr(event, "suspense_reason", None)
                if suspense_reason is not None:
                    reason = "CREDIT_TO_SUSPENSE"
                    detail = str(suspense_reason)
                else:
                    detail = f"credited {state['credit_account']}"
            elif kind == "Held":
                state["status"] = "HELD"
                state["hold_account_id"] = str(event.account_id)
            elif kind == "Rejected":
                state["status"] = "REJECTED"
                reason = str(event.reason)
                detail = str(event.detail)
                state["rejection_reason"] = reason
                state["rejection_detail"] = detail
                state["hold_account_id"] = None
            elif kind == "Settled":
                state["status"] = "SETTLED"
                detail = str(event.settlement_reference)
                state["settlement_reference"] = detail
            elif kind == "Reversed":
                state["status"] = "REVERSED"
                reason = str(event.reason)
                state["reversed_by"] = str(event.reversal_id)
            else:
                raise fail(self.name, envelope, f"unknown transaction event {kind}")
            state["version"] = envelope.version
            state["updated_at"] = envelope.recorded_at
        return {
            "transaction_id": envelope.stream_id,
            "seq": envelope.version,
            "status": state["status"],
            "at": envelope.recorded_at,
            "reason": reason,
            "detail": detail,
        }

    @staticmethod
    def _received(envelope: Envelope) -> dict[str, Any]:
        event = envelope.event
        requested_at = event.requested_at
        return {
            "id": envelope.stream_id,
            "external_id": str(event.external_id),
            "channel": str(event.channel),
            "status": "RECEIVED",
            "amount": Decimal(event.amount),
            "currency": str(event.currency),
            "debtor_iban": str(event.debtor_iban),
            "debtor_name": str(event.debtor_name),
            "creditor_iban": str(event.creditor_iban),
            "creditor_name": str(event.creditor_name),
            "reference": str(event.reference),
            "requested_at": as_utc(requested_at) if requested_at is not None else None,
            "received_at": envelope.recorded_at,
            "updated_at": envelope.recorded_at,
            "version": envelope.version,
            "rejection_reason": None,
            "rejection_detail": None,
            "screening_outcome": None,
            "rule_hits": [],
            "screening_score": None,
            "model_version": None,
            "booking_date": None,
            "debit_account": None,
            "credit_account": None,
            "hold_account_id": None,
            "settlement_reference": None,
            "reverses": str(event.reverses) if event.reverses is not None else None,
            "reversed_by": None,
            "metadata": json_safe(event.metadata or {}),
            "vop_check_id": getattr(event, "vop_check_id", None),
        }


class PaymentFacts(NamedTuple):
    """What a payment is about: its amount and currency, and who pays whom."""

    amount: Decimal
    currency: str
    debtor_iban: str
    creditor_iban: str


def payment_facts(conn: Connection, transaction_id: str) -> PaymentFacts | None:
    """The facts of the transaction ``transaction_id`` as projected so far in ``conn``'s
    transaction (None when unknown). The registry orders ``transactions`` before the
    projections that ask, so a payment received in the same batch is already there."""
    row = conn.execute(
        select(
            rm_transactions.c.amount,
            rm_transactions.c.currency,
            rm_transactions.c.debtor_iban,
            rm_transactions.c.creditor_iban,
        ).where(rm_transactions.c.id == transaction_id)
    ).first()
    if row is None:
        return None
    return PaymentFacts(row.amount, row.currency, row.debtor_iban, row.creditor_iban)


def transaction_channels(conn: Connection, transaction_ids: Sequence[str]) -> dict[str, str]:
    """The channel of each of ``transaction_ids`` as projected so far in ``conn``'s
    transaction (unknown ones left out; the fraud monitor's port)."""
    found: dict[str, str] = {}
    for chunk in chunked(list(transaction_ids)):
        rows = conn.execute(
            select(rm_transactions.c.id, rm_transactions.c.channel).where(
                rm_transactions.c.id.in_(chunk)
            )
        )
        found.update({row.id: row.channel for row in rows})
    return found
