"""REST ``/v1/transactions``: submit a payment (the ingestion message), read one back.

A submission is validated by the one parser the message queue uses as well
(``PaymentInstruction.from_message``) and runs inside ``caused_by(Causation(actor=<principal>,
correlation_id=<the request's>, channel="REST"))``. A service principal submits and reads only
the payments of its own channels; reads come from the read model only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.http.deps import AsOf, ContainerDep, MetricsDep, causation, require
from api.http.errors import MalformedBody
from api.http.schemas import (
    INPUT_ERROR_RESPONSES,
    V1_RESPONSES,
    CamelModel,
    ErrorOut,
    MoneyOut,
    money,
)
from api.presentation import transaction_uuid, utc
from api.runtime.logs import get_logger
from api.security import Permission, Principal, authorize_channel, may_see_channel
from application.errors import NotFound
from application.input_rules import JsonRefused, decode_json
from application.ledger.commands import PaymentInstruction, SubmissionResult
from domain.causation import caused_by
from projections.ledger.views import StatusChange, TransactionView

log = get_logger("api.http.routers.transactions")

router = APIRouter(prefix="/v1", tags=["transactions"], responses=V1_RESPONSES)

TransactionsReader = Annotated[Principal, Depends(require(Permission.TRANSACTIONS_READ))]
TransactionsSubmitter = Annotated[Principal, Depends(require(Permission.TRANSACTIONS_SUBMIT))]


class PartyOut(CamelModel):
    iban: str
    name: str


class StatusChangeOut(CamelModel):
    status: str
    at: AwareDatetime
    reason: str | None = None


class TransactionOut(CamelModel):
    id: str
    external_id: str
    channel: str
    status: str
    amount: MoneyOut
    debtor: PartyOut
    creditor: PartyOut
    reference: str
    requested_at: AwareDatetime | None
    received_at: AwareDatetime
    updated_at: AwareDatetime
    rejection_reason: str | None
    reverses: str | None
    reversed_by: str | None
    vop_check_id: str | None = None
    status_history: list[StatusChangeOut]


class SubmissionOut(CamelModel):
    transaction_id: str
    status: str = Field(description="POSTED, HELD or REJECTED (or the current status on repeat)")
    reason: str | None = Field(default=None, description="Rejection reason when REJECTED")


class PartyIn(BaseModel):
    iban: str = Field(examples=["DE89370400440532013000"])
    name: str = Field(examples=["Max Mustermann"])


class PaymentMessageIn(BaseModel):
    """The ingestion message (documentation only: the body is validated by the one parser,
    ``PaymentInstruction.from_message``, that the message queue uses as well)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "externalId": "MOB-2026-000001",
                    "channel": "MOBILE",
                    "debtor": {"iban": "DE89370400440532013000", "name": "Max Mustermann"},
                    "creditor": {"iban": "FR1420041010050500013M02606", "name": "Marie Dupont"},
                    "amount": "125.40",
                    "currency": "EUR",
                    "reference": "Invoice 4711",
                    "requestedAt": "2026-11-23T10:15:00Z",
                    "metadata": {"deviceId": "d-1", "ip": "203.0.113.7"},
                    "vopCheckId": "8d1e4c52-2f0b-5f43-9d8e-0c4b1f7a6e21",
                }
            ]
        }
    )

    externalId: str  # the wire format is camelCase
    channel: str
    debtor: PartyIn
    creditor: PartyIn
    amount: str
    currency: str
    reference: str | None = None
    requestedAt: AwareDatetime | None = None
    metadata: dict[str, Any] | None = None
    vopCheckId: str | None = Field(
        default=None,
        description="The Verification of Payee check (`POST /v1/vop/checks`) the payer saw "
        "before authorising; recorded on the transaction, never blocking",
    )


def transaction_out(view: TransactionView, history: list[StatusChange]) -> TransactionOut:
    return TransactionOut(
        id=view.id,
        external_id=view.external_id,
        channel=view.channel,
        status=view.status,
        amount=money(view.amount, view.currency),
        debtor=PartyOut(iban=view.debtor_iban, name=view.debtor_name),
        creditor=PartyOut(iban=view.creditor_iban, name=view.creditor_name),
        reference=view.reference,
        requested_at=utc(view.requested_at) if view.requested_at else None,
        received_at=utc(view.received_at),
        updated_at=utc(view.updated_at),
        rejection_reason=view.rejection_reason,
        reverses=view.reverses,
        reversed_by=view.reversed_by,
        vop_check_id=view.vop_check_id,
        status_history=[
            StatusChangeOut(status=change.status, at=utc(change.at), reason=change.reason)
            for change in history
        ],
    )


@router.post(
    "/transactions",
    status_code=202,
    response_model=SubmissionOut,
    summary="Submit a payment (the ingestion message)",
    description=(
        "Validates the body with the same parser the message queue uses and books the payment. "
        "**202** with `{transactionId, status}` for a new payment; **200** with the same body "
        "(and header `Idempotent-Replayed: true`) when `(channel, externalId)` was seen "
        "before: nothing is booked twice. A repeat reports the transaction's current status. "
        "**422** with a readable `detail` when the message is invalid, **400** when the body "
        "is not JSON."
    ),
    responses={
        200: {"model": SubmissionOut, "description": "Repeat of a known idempotency key"},
        **INPUT_ERROR_RESPONSES,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PaymentMessageIn.model_json_schema()}},
        }
    },
)
async def submit_transaction(
    request: Request,
    container: ContainerDep,
    metrics: MetricsDep,
    principal: TransactionsSubmitter,
) -> JSONResponse:
    raw = await request.body()
    try:
        message = decode_json(raw)  # NaN, 1e999, 10,000 digits: named by the parser below
    except JsonRefused as error:
        raise MalformedBody(f"request body is not valid JSON: {error}") from None
    instruction = PaymentInstruction.from_message(message)
    authorize_channel(principal, instruction.channel)
    who = causation(request, principal)

    def submit() -> SubmissionResult:
        with caused_by(who):
            return container.ledger.submit_payment(instruction)

    result = await run_in_threadpool(submit)
    metrics.payments.labels(result.status, str(result.duplicate).lower()).inc()
    log.info(
        "payment submitted",
        transaction_id=result.transaction_id,
        status=result.status,
        duplicate=result.duplicate,
        channel=instruction.channel,
        external_id=instruction.external_id,
    )
    body = SubmissionOut(
        transaction_id=result.transaction_id, status=result.status, reason=result.reason
    )
    headers = {"Location": f"/v1/transactions/{result.transaction_id}"}
    if result.duplicate:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(
        body.model_dump(by_alias=True),
        status_code=200 if result.duplicate else 202,
        headers=headers,
    )


@router.get(
    "/transactions/{transaction_id}",
    response_model=TransactionOut,
    summary="A transaction with its status history (optionally as recorded at `asOf`)",
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def get_transaction(
    transaction_id: str,
    container: ContainerDep,
    principal: TransactionsReader,
    as_of: AsOf = None,
) -> TransactionOut:
    tx_id = str(transaction_uuid(transaction_id))
    view = container.queries.transaction(tx_id, as_of=as_of)
    if view is None or not may_see_channel(principal, view.channel):  # another channel's: 404
        when = f" as of {as_of.isoformat()}" if as_of else ""
        raise NotFound(f"no transaction {tx_id}{when}")
    history = container.queries.status_history([tx_id], as_of=as_of).get(tx_id, [])
    return transaction_out(view, history)
