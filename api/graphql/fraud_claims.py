"""GraphQL for fraud analysts: customers' fraud claims, scam reports and chargebacks.

``Query`` and ``Mutation`` in ``schema.py`` inherit :class:`FraudClaimQuery` and
:class:`FraudClaimMutation`. An analyst records a claim the customer made by phone or in a
branch (``reportFraudClaim``, channel ``BACKOFFICE`` unless given), and records its end
(``withdrawFraudClaim``; ``resolveFraudClaim`` UPHELD or REJECTED). A claim labels its payment
for the next training; it moves no money (a refund is a reversal, with its own permission).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import strawberry

from api.graphql.common import Connection, Money, connection, page_size, paginate
from api.graphql.context import LedgerContext
from api.graphql.errors import bad_input, checked, in_thread, write_through
from api.presentation import transaction_uuid
from api.security import Permission
from domain.fraud.claims import ClaimFacts, ClaimResolution, FraudClaim
from projections.fraud.claims import FraudClaimView

Info = strawberry.Info[LedgerContext, None]

BACKOFFICE = "BACKOFFICE"
"""The channel of claims analysts record (the idempotency key is (channel, reference))."""


@strawberry.enum(description="Where a claim came from")
class FraudClaimKind(Enum):
    CLAIM = "CLAIM"
    SCAM_REPORT = "SCAM_REPORT"
    CHARGEBACK = "CHARGEBACK"


@strawberry.enum(description="FILED (it labels the payment fraud), WITHDRAWN or RESOLVED")
class FraudClaimStatus(Enum):
    FILED = "FILED"
    WITHDRAWN = "WITHDRAWN"
    RESOLVED = "RESOLVED"


@strawberry.enum(description="The bank's finding on a claim")
class FraudClaimResolution(Enum):
    UPHELD = "UPHELD"
    REJECTED = "REJECTED"


@strawberry.type(description="A customer's fraud claim, scam report or chargeback on a payment")
class FraudClaimNode:
    id: strawberry.ID
    transaction_id: strawberry.ID
    kind: FraudClaimKind
    channel: str
    reference: str
    status: FraudClaimStatus
    resolution: FraudClaimResolution | None
    reported_by: str = strawberry.field(description="The principal that filed it")
    reported_at: datetime
    statement: str
    typology: str | None
    note: str | None
    changed_by: str | None
    amount: Money | None
    debtor_iban: str | None
    creditor_iban: str | None
    filed_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: FraudClaimView) -> FraudClaimNode:
        amount = None
        if view.amount is not None and view.currency is not None:
            amount = Money.of(Decimal(view.amount), view.currency)
        return cls(
            id=strawberry.ID(view.id),
            transaction_id=strawberry.ID(view.transaction_id),
            kind=FraudClaimKind(view.kind),
            channel=view.channel,
            reference=view.reference,
            status=FraudClaimStatus(view.status),
            resolution=FraudClaimResolution(view.resolution) if view.resolution else None,
            reported_by=view.reported_by,
            reported_at=view.reported_at,
            statement=view.statement,
            typology=view.typology,
            note=view.note,
            changed_by=view.changed_by,
            amount=amount,
            debtor_iban=view.debtor_iban,
            creditor_iban=view.creditor_iban,
            filed_at=view.filed_at,
            updated_at=view.updated_at,
        )


def _queries(info: Info) -> Any:
    return info.context.container.fraud_queries.claims


@strawberry.type
class FraudClaimQuery:
    @strawberry.field(description="Fraud claims, newest first (keyset pagination)")
    async def fraud_claims(
        self,
        info: Info,
        status: FraudClaimStatus | None = None,
        transaction_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[FraudClaimNode]:
        info.context.authorize(Permission.FRAUD_READ)
        tx_id = None
        if transaction_id is not None:
            tx_id = str(checked(transaction_uuid, str(transaction_id)))
        wanted = status.value if status is not None else None
        page = await in_thread(
            paginate, _queries(info).claims, wanted, tx_id, page_size(first), after=after
        )
        return connection(page, FraudClaimNode.of)

    @strawberry.field(description="One fraud claim, by its id")
    async def fraud_claim(self, info: Info, id: strawberry.ID) -> FraudClaimNode | None:
        info.context.authorize(Permission.FRAUD_READ)
        view = await in_thread(_queries(info).claim, str(_claim_uuid(str(id))))
        return FraudClaimNode.of(view) if view is not None else None


def _claim_uuid(text: str) -> UUID:
    try:
        return UUID(text.strip())
    except ValueError:
        raise bad_input("id: must be a claim id (a UUID)") from None


async def _claim_after(info: Info, claim: FraudClaim) -> FraudClaimNode:
    """The claim as the read model has it, with the change just made on top (the projector
    may not have caught up yet)."""
    view = await in_thread(_queries(info).claim, str(claim.id))
    if view is None:
        at = claim.modified_on
        view = FraudClaimView(
            str(claim.id), claim.transaction_id, claim.kind, claim.channel, claim.reference,
            str(claim.status), claim.resolution, info.context.principal.name,
            claim.reported_at, claim.statement, claim.typology, None, None,
            None, None, None, None, at, at,
        )  # fmt: skip
    changes = {"status": str(claim.status), "resolution": claim.resolution}
    return FraudClaimNode.of(dataclasses.replace(view, **changes))


@strawberry.type
class FraudClaimMutation:
    @strawberry.mutation(
        description="Record a customer's fraud claim, scam report or chargeback on a past "
        "outgoing payment (posted or not): it labels the payment fraud for the next training "
        "and moves no money. Idempotent per (channel, reference): a repeat answers the "
        "recorded claim; the reference used for another payment or kind is a CONFLICT"
    )
    async def report_fraud_claim(
        self,
        info: Info,
        transaction_id: strawberry.ID,
        kind: FraudClaimKind,
        reference: str,
        statement: str,
        reported_at: datetime,
        typology: str | None = None,
        channel: str | None = None,
    ) -> FraudClaimNode:
        info.context.authorize(Permission.FRAUD_CLAIM)
        tx_id = checked(transaction_uuid, str(transaction_id))
        facts = checked(
            ClaimFacts.of,
            transaction_id=str(tx_id),
            kind=kind.value,
            channel=channel or BACKOFFICE,
            reference=reference,
            reported_at=reported_at,
            statement=statement,
            typology=typology,
        )
        claims = info.context.container.fraud_claims
        filed = await write_through(info, lambda: claims.file(facts))
        return await _claim_after(info, filed.claim)

    @strawberry.mutation(description="Record that the customer withdrew a claim (not fraud)")
    async def withdraw_fraud_claim(
        self, info: Info, id: strawberry.ID, note: str | None = None
    ) -> FraudClaimNode:
        info.context.authorize(Permission.FRAUD_CLAIM)
        claim_id = _claim_uuid(str(id))
        claims = info.context.container.fraud_claims
        claim = await write_through(info, lambda: claims.withdraw(claim_id, note or ""))
        return await _claim_after(info, claim)

    @strawberry.mutation(
        description="Record the bank's finding on a claim: UPHELD (fraud) or REJECTED (not)"
    )
    async def resolve_fraud_claim(
        self,
        info: Info,
        id: strawberry.ID,
        resolution: FraudClaimResolution,
        note: str | None = None,
    ) -> FraudClaimNode:
        info.context.authorize(Permission.FRAUD_DECIDE)
        claim_id = _claim_uuid(str(id))
        claims = info.context.container.fraud_claims
        outcome = ClaimResolution(resolution.value)
        claim = await write_through(info, lambda: claims.resolve(claim_id, outcome, note or ""))
        return await _claim_after(info, claim)
