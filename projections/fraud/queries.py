"""Reads of the fraud read models (never the event store): a transaction's screening, the
case queue (newest first, keyset paginated), the cases overdue for escalation, and the
analysts' verdicts as training labels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, select
from sqlalchemy.sql.elements import ColumnElement

from projections import cursors
from projections.events import as_utc
from projections.fraud.claims import FraudClaimQueries
from projections.fraud.read_model import rm_fraud_cases, rm_fraud_escalations, rm_screenings
from projections.paging import before, fetch_page
from projections.views import Page


@dataclass(frozen=True)
class ScreeningView:
    transaction_id: str
    outcome: str
    score: str | None
    model_version: str | None
    rule_hits: list[str]
    features: dict[str, str] | None
    top_features: list[dict[str, str]] | None
    screened_at: datetime


@dataclass(frozen=True)
class FraudCaseView:
    transaction_id: str
    status: str
    verdict: str | None = None
    assignee: str | None = None
    note: str | None = None
    decided_by: str | None = None
    transaction_status: str | None = None
    amount: str | None = None
    currency: str | None = None
    debtor_iban: str | None = None
    creditor_iban: str | None = None
    held_amount: str | None = None
    score: str | None = None
    model_version: str | None = None
    rule_hits: list[str] = field(default_factory=list)
    top_features: list[dict[str, str]] | None = None
    opened_at: datetime | None = None
    updated_at: datetime | None = None
    escalated_at: datetime | None = None
    """Set once the fraud role escalated the case (undecided past the review deadline)."""


CASE_STATUSES = ("OPEN", "ASSIGNED", "DECIDED")


class FraudQueries:
    """Reads of the fraud read models (never the event store)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.claims = FraudClaimQueries(engine)
        """The customer fraud claims, scam reports and chargebacks."""

    def screening(self, transaction_id: str) -> ScreeningView | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(rm_screenings).where(rm_screenings.c.transaction_id == transaction_id)
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        return ScreeningView(
            transaction_id=row["transaction_id"],
            outcome=row["outcome"],
            score=row["score"],
            model_version=row["model_version"],
            rule_hits=list(row["rule_hits"] or []),
            features=row["features"],
            top_features=row["top_features"],
            screened_at=as_utc(row["screened_at"]),
        )

    def case(self, transaction_id: str) -> FraudCaseView | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(_CASES.where(rm_fraud_cases.c.transaction_id == transaction_id))
                .mappings()
                .first()
            )
        return _case_view(row) if row is not None else None

    def cases(self, status: str | None, limit: int, after: str | None) -> Page[FraudCaseView]:
        """Cases newest first (by opening time), optionally of one status; keyset pages."""
        table = rm_fraud_cases
        conditions: list[ColumnElement[bool]] = [table.c.opened_at.is_not(None)]
        if status is not None:
            conditions.append(table.c.status == status)
        if after is not None:
            at, last_id = cursors.decode(after, "fraud-case", datetime, str)
            conditions.append(
                before(table.c.opened_at, table.c.transaction_id, as_utc(at), last_id)
            )
        query = _CASES.where(and_(*conditions)).order_by(
            table.c.opened_at.desc(), table.c.transaction_id.desc()
        )
        return fetch_page(self.engine, query, limit, _case_view, _case_cursor)

    def overdue(self, cutoff: datetime, limit: int) -> list[tuple[str, datetime]]:
        """Payments still held for review, undecided and opened at or before ``cutoff``,
        not yet escalated: ``(transaction id, opened at)``, oldest first (the fraud role's
        :class:`~application.fraud.escalation.CaseEscalation` sweep)."""
        cases, escalations = rm_fraud_cases, rm_fraud_escalations
        query = (
            select(cases.c.transaction_id, cases.c.opened_at)
            .select_from(
                cases.outerjoin(escalations, escalations.c.transaction_id == cases.c.transaction_id)
            )
            .where(
                cases.c.status != "DECIDED",
                cases.c.transaction_status == "HELD",
                cases.c.opened_at <= cutoff,
                escalations.c.transaction_id.is_(None),
            )
            .order_by(cases.c.opened_at, cases.c.transaction_id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(row.transaction_id, as_utc(row.opened_at)) for row in conn.execute(query)]

    def labels(self) -> dict[str, int]:
        """Analysts' verdicts as training labels: transaction id -> 1 fraud, 0 not."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(rm_fraud_cases.c.transaction_id, rm_fraud_cases.c.verdict).where(
                    rm_fraud_cases.c.verdict.is_not(None)
                )
            ).all()
        return {r.transaction_id: int(r.verdict == "CONFIRMED_FRAUD") for r in rows}


_CASES = select(rm_fraud_cases, rm_fraud_escalations.c.escalated_at).select_from(
    rm_fraud_cases.outerjoin(
        rm_fraud_escalations,
        rm_fraud_escalations.c.transaction_id == rm_fraud_cases.c.transaction_id,
    )
)
"""The queue with each case's escalation time (NULL until escalated)."""


def _case_cursor(view: FraudCaseView) -> str:
    assert view.opened_at is not None  # the query lists opened cases only
    return cursors.encode("fraud-case", view.opened_at, view.transaction_id)


def _case_view(row: Mapping[Any, Any]) -> FraudCaseView:
    return FraudCaseView(
        transaction_id=row["transaction_id"],
        status=row["status"],
        verdict=row["verdict"],
        assignee=row["assignee"],
        note=row["note"],
        decided_by=row["decided_by"],
        transaction_status=row["transaction_status"],
        amount=row["amount"],
        currency=row["currency"],
        debtor_iban=row["debtor_iban"],
        creditor_iban=row["creditor_iban"],
        held_amount=row["held_amount"],
        score=row["score"],
        model_version=row["model_version"],
        rule_hits=list(row["rule_hits"] or []),
        top_features=row["top_features"],
        opened_at=as_utc(row["opened_at"]) if row["opened_at"] is not None else None,
        updated_at=as_utc(row["updated_at"]) if row["updated_at"] is not None else None,
        escalated_at=as_utc(row["escalated_at"]) if row.get("escalated_at") else None,
    )
