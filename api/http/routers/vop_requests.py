"""REST ``POST /v1/vop/checks``: the requester side of Verification of Payee, for our own
channels (the payer's app asks before the payer authorises a payment).

The body names the payee as the responder's does (``party``: its ``name`` or
``identification.organisationId``; ``partyAccount.iban``; optionally ``partyAgent``, the payee's
PSP) and optionally the payer's account (``payerAccount.iban``). ``X-Request-ID`` (a UUID) is
optional: the channel's reference, which makes a repeat answer as recorded; without it every
call is a new check. The answer is the responder's shape: ``partyNameMatch`` (or
``partyIdMatch``) ``MTCH``, ``CMTC`` with ``matchedName`` (the name to show the payer),
``NMTC``, or ``NOAP`` with ``reason`` (also ``PSP_UNAVAILABLE``: the payee's PSP is not routed
or did not answer in time), and ``vopCheckId``, which the payment then carries
(``vopCheckId`` in the ingestion message). Never an error for an unknown payee or a PSP that
does not answer. Permission ``vop:request`` (service role ``channel``). Rate limited on top of
the general limit, per channel (``LEDGER_VOP_REQUEST_RATE_LIMIT_*``) and per payer account
(``LEDGER_VOP_PAYER_RATE_LIMIT_*``): **429** with ``Retry-After``.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import ConfigDict

from api.http.deps import ContainerDep, MetricsDep, causation, require
from api.http.middleware.ratelimit import RateLimiter
from api.http.routers.vop import (
    AccountIn,
    AgentIn,
    EntryIn,
    VerificationOut,
    _fields,
    _headers,
    _out,
)
from api.http.schemas import INPUT_ERROR_RESPONSES, V1_RESPONSES
from api.runtime.metrics import Metrics
from api.security import Permission, Principal
from application.errors import InvalidCommand
from application.vop.requester import PayeeCheckRequest
from application.vop.requests import check_bic, parse_entry
from application.vop.responder import VopAnswer
from domain.causation import caused_by
from domain.errors import DomainError
from domain.iban import Iban

router = APIRouter(prefix="/v1/vop", tags=["vop"], responses=V1_RESPONSES)

PayeeAsker = Annotated[Principal, Depends(require(Permission.VOP_REQUEST))]


class PayeeCheckIn(EntryIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "party": {"name": "J. Smith"},
                    "partyAccount": {"iban": "DE89370400440532013000"},
                    "payerAccount": {"iban": "FR1420041010050500013M02606"},
                }
            ]
        },
    )

    party_agent: AgentIn | None = None
    payer_account: AccountIn | None = None


def _parse(body: PayeeCheckIn, request_id: str | None, requester: str) -> PayeeCheckRequest:
    problems: list[str] = []
    rid = str(uuid4())
    if request_id is not None:
        try:
            rid = str(UUID(request_id.strip()))
        except ValueError:
            problems.append("X-Request-ID: must be a UUID")
    entry = parse_entry(_fields(body), problems)
    payee_bic = None
    if body.party_agent is not None:
        payee_bic, problem = check_bic(
            body.party_agent.financial_institution_id.bicfi,
            "partyAgent.financialInstitutionId.bicfi",
        )
        if problem is not None:
            problems.append(problem)
    payer_iban = None
    if body.payer_account is not None:
        try:
            payer_iban = Iban(body.payer_account.iban).value
        except DomainError as error:
            problems.append(f"payerAccount.iban: {error}")
    if problems or entry is None:
        raise InvalidCommand("; ".join(problems), problems)
    return PayeeCheckRequest(rid, requester, entry, payee_bic, payer_iban)


def _limit(request: Request, bucket: str, key: str | None) -> None:
    """One token from ``key``'s bucket of the requester side's limiter ``bucket`` (429 with
    Retry-After when empty; nothing when that limit is off or there is no key)."""
    limiter: RateLimiter | None = getattr(request.app.state, bucket, None)
    if limiter is not None and key is not None:
        limiter.check(key)


def _observe(metrics: Metrics, answer: VopAnswer) -> None:
    if answer.repeated:
        return
    reason = answer.reason.value if answer.reason is not None else "none"
    metrics.vop_checks.labels("REQUESTER", answer.outcome.value, reason).inc()
    metrics.vop_latency.labels("REQUESTER").observe(answer.latency_us / 1_000_000)


@router.post(
    "/checks",
    response_model=VerificationOut,
    response_model_exclude_none=True,
    summary="Check a payee's name (or organisation identifier) before the payer authorises",
    responses={
        **INPUT_ERROR_RESPONSES,
        409: {"description": "X-Request-ID used for another"},
        429: {"description": "Too many checks of this channel or payer account"},
    },
)
def check_payee(
    body: PayeeCheckIn,
    request: Request,
    response: Response,
    container: ContainerDep,
    metrics: MetricsDep,
    principal: PayeeAsker,
    request_id: Annotated[
        str | None,
        Header(alias="X-Request-ID", description="The channel's reference (a UUID); optional"),
    ] = None,
) -> VerificationOut:
    # the channel's own bucket, then the payer account's (whichever channel asks for it)
    _limit(request, "vop_request_rate_limiter", f"vop-request:{principal.name}")
    parsed = _parse(body, request_id, principal.name)
    payer = parsed.payer_iban
    _limit(request, "vop_payer_rate_limiter", f"vop-payer:{payer}" if payer else None)
    with caused_by(causation(request, principal)):
        answer = container.vop.request_check(parsed)
    _observe(metrics, answer)
    _headers(response, parsed.request_id)
    return _out(answer)
