"""REST ``/v1/fraud/claims``: our channels pass on a customer's fraud claim, scam report or
chargeback about a past outgoing payment (posted long ago or not), and may withdraw it.

A claim is an event of the fraud context (``FraudClaim.Filed``, attributed to the channel's
principal): it labels the payment for the next training and moves no money. Idempotent per
``(channel, claimReference)``: **201** for a new claim, **200** with ``Idempotent-Replayed: true``
for a repeat, **409** when the reference was used for another payment or kind. **422** names
the field that is wrong (``transactionId`` unknown, not a payment of ours, or of a channel the
caller may not see; ``kind``; ``claimReference``; ``statement`` ...). Permission
``fraud:claim`` (service role ``channel``); a channel files and withdraws under its own
channels only.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, ConfigDict, Field

from api.http.deps import ContainerDep, causation, require
from api.http.schemas import INPUT_ERROR_RESPONSES, V1_RESPONSES, CamelModel, ErrorOut
from api.presentation import utc
from api.runtime.logs import get_logger
from api.security import Permission, Principal, authorize_channel, may_see_channel
from application.errors import InvalidCommand, NotFound
from application.fraud.claims import FiledClaim
from domain.causation import caused_by
from domain.fraud.claims import MAX_STATEMENT_LENGTH, ClaimFacts, FraudClaim, InvalidClaim

log = get_logger("api.http.routers.fraud_claims")

router = APIRouter(prefix="/v1/fraud", tags=["fraud"], responses=V1_RESPONSES)

Claimant = Annotated[Principal, Depends(require(Permission.FRAUD_CLAIM))]


class ClaimIn(CamelModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "transactionId": "2f1c3a4e-8b7d-5e6f-9a0b-1c2d3e4f5a6b",
                    "kind": "SCAM_REPORT",
                    "channel": "MOBILE",
                    "claimReference": "CLM-2026-000042",
                    "reportedAt": "2026-12-01T09:30:00Z",
                    "statement": "Paid an 'investment platform' after a call; it was a scam.",
                    "typology": "investment_scam",
                }
            ]
        },
    )

    transaction_id: str = Field(description="The payment claimed (an outgoing payment of ours)")
    kind: str = Field(description="CLAIM (unauthorised), SCAM_REPORT (APP scam) or CHARGEBACK")
    channel: str = Field(description="The channel filing it (the idempotency key's first half)")
    claim_reference: str = Field(description="The channel's reference of the claim (1-64)")
    reported_at: AwareDatetime = Field(description="When the customer reported it")
    statement: str | None = Field(
        default=None, description=f"The customer's words (at most {MAX_STATEMENT_LENGTH})"
    )
    typology: str | None = Field(default=None, description="e.g. investment_scam (snake_case)")


class WithdrawalIn(CamelModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, description="Why (at most 500 characters)")


class ClaimOut(CamelModel):
    claim_id: str
    transaction_id: str
    kind: str
    channel: str
    claim_reference: str
    status: str = Field(description="FILED, WITHDRAWN or RESOLVED")
    resolution: str | None = Field(default=None, description="UPHELD or REJECTED when RESOLVED")
    reported_at: AwareDatetime
    typology: str | None = None


def claim_out(claim: FraudClaim) -> ClaimOut:
    return ClaimOut(
        claim_id=str(claim.id),
        transaction_id=claim.transaction_id,
        kind=claim.kind,
        channel=claim.channel,
        claim_reference=claim.reference,
        status=str(claim.status),
        resolution=claim.resolution,
        reported_at=utc(claim.reported_at),
        typology=claim.typology,
    )


def _facts(body: ClaimIn) -> ClaimFacts:
    try:
        tx_id = str(UUID(body.transaction_id.strip()))
    except ValueError:
        raise InvalidCommand("transactionId: must be a UUID") from None
    try:
        return ClaimFacts.of(
            transaction_id=tx_id,
            kind=body.kind,
            channel=body.channel,
            reference=body.claim_reference,
            reported_at=body.reported_at,
            statement=body.statement,
            typology=body.typology,
        )
    except InvalidClaim as error:
        raise InvalidCommand(str(error)) from None


@router.post(
    "/claims",
    status_code=201,
    response_model=ClaimOut,
    summary="File a customer's fraud claim, scam report or chargeback on a past payment",
    description=(
        "Labels the payment for training (it moves no money). **201** for a new claim; **200** "
        "with the recorded claim (and `Idempotent-Replayed: true`) when `(channel, "
        "claimReference)` was filed before; **409** when that reference names another payment "
        "or kind; **422** naming the wrong field."
    ),
    responses={
        200: {"model": ClaimOut, "description": "Repeat of a filed claim"},
        409: {"model": ErrorOut, "description": "claimReference used for another claim"},
        **INPUT_ERROR_RESPONSES,
    },
)
async def file_claim(
    body: ClaimIn, request: Request, container: ContainerDep, principal: Claimant
) -> JSONResponse:
    facts = _facts(body)
    authorize_channel(principal, facts.channel)
    who = causation(request, principal)
    claims = container.fraud_claims

    def file() -> FiledClaim:
        with caused_by(who):
            return claims.file(facts, lambda channel: may_see_channel(principal, channel))

    filed = await run_in_threadpool(file)
    log.info(
        "fraud claim filed",
        claim_id=str(filed.claim.id),
        transaction_id=facts.transaction_id,
        kind=facts.kind.value,
        duplicate=filed.duplicate,
    )
    headers = {"Location": f"/v1/fraud/claims/{filed.claim.id}"}
    if filed.duplicate:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(
        claim_out(filed.claim).model_dump(mode="json", by_alias=True),
        status_code=200 if filed.duplicate else 201,
        headers=headers,
    )


def _own_claim(container: ContainerDep, principal: Principal, claim_id: str) -> FraudClaim:
    """The claim, if the caller's channels filed it (another channel's: 404, as unknown)."""
    try:
        wanted = UUID(claim_id)
    except ValueError:
        raise InvalidCommand("claimId: must be a UUID") from None
    claim = container.fraud_claims.get(wanted)  # NotFound when unknown
    if not may_see_channel(principal, claim.channel):
        raise NotFound(f"no fraud claim {wanted}")
    return claim


@router.get(
    "/claims/{claim_id}",
    response_model=ClaimOut,
    summary="A filed claim, as recorded (its status: FILED, WITHDRAWN or RESOLVED)",
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def get_claim(claim_id: str, container: ContainerDep, principal: Claimant) -> ClaimOut:
    try:
        wanted = str(UUID(claim_id))
    except ValueError:
        raise InvalidCommand("claimId: must be a UUID") from None
    view = container.fraud_queries.claims.claim(wanted)  # the read model
    if view is None or not may_see_channel(principal, view.channel):
        raise NotFound(f"no fraud claim {wanted} (a claim just filed shows shortly)")
    return ClaimOut(
        claim_id=view.id,
        transaction_id=view.transaction_id,
        kind=view.kind,
        channel=view.channel,
        claim_reference=view.reference,
        status=view.status,
        resolution=view.resolution,
        reported_at=view.reported_at,
        typology=view.typology,
    )


@router.post(
    "/claims/{claim_id}/withdrawal",
    response_model=ClaimOut,
    summary="Withdraw a filed claim (the customer takes it back: the payment is not fraud)",
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}, **INPUT_ERROR_RESPONSES},
)
def withdraw_claim(
    claim_id: str,
    body: WithdrawalIn,
    request: Request,
    container: ContainerDep,
    principal: Claimant,
) -> ClaimOut:
    claim = _own_claim(container, principal, claim_id)
    with caused_by(causation(request, principal)):
        withdrawn = container.fraud_claims.withdraw(claim.id, body.note or "")
    return claim_out(withdrawn)
