"""The ``fraud`` projection: model decisions with their explanation, and the case queue.

* ``rm_screenings``: one row per transaction the screening explained (a model score,
  or any rule hit): outcome, score, model version, rule hits, the features used and the
  top contributing features.
* ``rm_fraud_cases``: the fraud queue. A ``Screened`` event with outcome REVIEW opens a
  case (the payment's facts come from the ledger's transactions projection, projected
  earlier in the same batch); ``Held``/``Posted``/``Rejected``/``Reversed`` follow the payment; the
  fraud context's ``FraudCase`` events record assignment and the analyst's verdict.
* ``rm_fraud_escalations``: the cases the fraud role escalated (``Escalation`` aggregates:
  undecided past the review deadline), beside the queue, so that adding it needed no change
  to ``rm_fraud_cases``.

The payment's facts of a case come through the :class:`~projections.fraud.ports.TransactionFacts`
port (the ledger's read model, wired by the registry); the queries are in
:mod:`projections.fraud.queries`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, Index, String, Table, Text, select

from domain.fraud.cases import Escalation, FraudCase
from domain.ledger.transactions import Transaction
from projections.base import Projection, ProjectionError, chunked, insert_rows, update_by_key
from projections.events import Envelope, as_utc
from projections.fraud.ports import TransactionFacts
from projections.tables import ID, JsonDoc, UtcDateTime, metadata

rm_screenings = Table(
    "rm_screenings",
    metadata,
    Column("transaction_id", ID, primary_key=True),
    Column("outcome", String(16), nullable=False),
    Column("score", String(64)),
    Column("model_version", String(128)),
    Column("rule_hits", JsonDoc, nullable=False),
    Column("features", JsonDoc),
    Column("top_features", JsonDoc),
    Column("screened_at", UtcDateTime, nullable=False),
)

rm_fraud_cases = Table(
    "rm_fraud_cases",
    metadata,
    Column("transaction_id", ID, primary_key=True),
    Column("status", String(16), nullable=False),  # OPEN | ASSIGNED | DECIDED
    Column("verdict", String(32)),
    Column("assignee", Text),
    Column("note", Text),
    Column("decided_by", Text),
    Column("transaction_status", String(16)),
    Column("amount", String(64)),
    Column("currency", String(3)),
    Column("debtor_iban", String(34)),
    Column("creditor_iban", String(34)),
    Column("held_amount", String(64)),
    Column("score", String(64)),
    Column("model_version", String(128)),
    Column("rule_hits", JsonDoc),
    Column("top_features", JsonDoc),
    Column("opened_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_rm_fraud_cases_status", "status", "opened_at", "transaction_id"),
    Index("ix_rm_fraud_cases_opened", "opened_at", "transaction_id"),
)

rm_fraud_escalations = Table(
    "rm_fraud_escalations",
    metadata,
    Column("transaction_id", ID, primary_key=True),
    Column("waiting_since", UtcDateTime, nullable=False),
    Column("deadline_minutes", String(16), nullable=False),
    Column("escalated_at", UtcDateTime, nullable=False),
)

_LEDGER_KINDS = {"Screened", "Held", "Posted", "Rejected", "Reversed", "Settled"}


class FraudProjection(Projection):
    name = "fraud"
    tables = (rm_screenings, rm_fraud_cases, rm_fraud_escalations)

    def __init__(self, transaction_facts: TransactionFacts) -> None:
        self.transaction_facts = transaction_facts

    def apply(self, conn: Connection, envelopes: Sequence[Envelope]) -> None:
        relevant = [e for e in envelopes if _relevant(e)]
        if not relevant:
            return
        ids = sorted({_tx_id(e) for e in relevant})
        cases: dict[str, dict[str, Any]] = {}
        for chunk in chunked(ids):
            rows = conn.execute(
                select(rm_fraud_cases).where(rm_fraud_cases.c.transaction_id.in_(chunk))
            )
            for row in rows.mappings():
                cases[row["transaction_id"]] = dict(row)
        existing = set(cases)
        screenings: list[dict[str, Any]] = []
        escalations: list[dict[str, Any]] = []
        for envelope in relevant:
            try:
                if isinstance(envelope.event, Escalation.Event):
                    escalations.append(_escalation(envelope))
                else:
                    self._apply_one(conn, envelope, cases, screenings)
            except Exception as error:
                raise ProjectionError(self.name, envelope, error) from error
        insert_rows(conn, rm_screenings, screenings)
        insert_rows(conn, rm_fraud_escalations, escalations)
        new = [row for key, row in cases.items() if key not in existing]
        insert_rows(conn, rm_fraud_cases, new)
        update_by_key(
            conn, rm_fraud_cases, "transaction_id", [cases[k] for k in existing if k in cases]
        )

    def _apply_one(
        self,
        conn: Connection,
        envelope: Envelope,
        cases: dict[str, dict[str, Any]],
        screenings: list[dict[str, Any]],
    ) -> None:
        event: Any = envelope.event
        kind = envelope.kind
        tx_id = _tx_id(envelope)
        at = envelope.recorded_at
        if isinstance(envelope.event, FraudCase.Event):
            case = cases.get(tx_id) or _new_case(tx_id, at)
            cases[tx_id] = case
            if kind == "Assigned":
                case["assignee"] = event.analyst
                if case["status"] != "DECIDED":
                    case["status"] = "ASSIGNED"
            elif kind == "Decided":
                case["status"] = "DECIDED"
                case["verdict"] = event.verdict
                case["note"] = event.note
                case["decided_by"] = str(getattr(event, "actor", "") or "")
            case["updated_at"] = at
            return
        if kind == "Screened":
            hits = [str(h) for h in event.rule_hits]
            score = None if event.score is None else format(event.score, "f")
            top = getattr(event, "top_features", None)
            if score is not None or hits:
                screenings.append(
                    {
                        "transaction_id": tx_id,
                        "outcome": str(event.outcome),
                        "score": score,
                        "model_version": event.model_version,
                        "rule_hits": hits,
                        "features": getattr(event, "features", None),
                        "top_features": top,
                        "screened_at": at,
                    }
                )
            if str(event.outcome) != "REVIEW":
                return
            case = cases.get(tx_id) or _new_case(tx_id, at)
            cases[tx_id] = case
            facts = self.transaction_facts(conn, tx_id)
            if facts is not None:
                case["amount"] = format(facts.amount, "f")
                case["currency"] = facts.currency
                case["debtor_iban"] = facts.debtor_iban
                case["creditor_iban"] = facts.creditor_iban
            case.update(
                opened_at=at,
                updated_at=at,
                score=score,
                model_version=event.model_version,
                rule_hits=hits,
                top_features=top,
                transaction_status="SCREENED",
            )
            return
        followed = cases.get(tx_id)
        if followed is None:
            return
        followed["transaction_status"] = kind.upper()
        if kind == "Held":
            followed["held_amount"] = format(event.amount, "f")
        elif kind in {"Posted", "Rejected"}:
            followed["held_amount"] = None
        followed["updated_at"] = at


def _relevant(envelope: Envelope) -> bool:
    event = envelope.event
    if isinstance(event, FraudCase.Event | Escalation.Event):
        return True
    return isinstance(event, Transaction.Event) and envelope.kind in _LEDGER_KINDS


def _tx_id(envelope: Envelope) -> str:
    event: Any = envelope.event
    if isinstance(envelope.event, FraudCase.Event | Escalation.Event):
        return str(event.transaction_id)  # every case event names its transaction
    return envelope.stream_id


def _escalation(envelope: Envelope) -> dict[str, Any]:
    event: Any = envelope.event
    return {
        "transaction_id": str(event.transaction_id),
        "waiting_since": as_utc(event.waiting_since),
        "deadline_minutes": str(event.deadline_minutes),
        "escalated_at": envelope.recorded_at,
    }


def _new_case(tx_id: str, at: datetime) -> dict[str, Any]:
    return {
        "transaction_id": tx_id,
        "status": "OPEN",
        "verdict": None,
        "assignee": None,
        "note": None,
        "decided_by": None,
        "transaction_status": None,
        "amount": None,
        "currency": None,
        "debtor_iban": None,
        "creditor_iban": None,
        "held_amount": None,
        "score": None,
        "model_version": None,
        "rule_hits": [],
        "top_features": None,
        "opened_at": None,
        "updated_at": at,
    }
