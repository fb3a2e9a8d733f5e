"""REST ``/v1/vop``: the Verification of Payee responder, shaped after the EPC VoP inter-PSP
API (EPC VoP Scheme Rulebook EPC218-23 and its API specification).

``POST /v1/vop/payee-verifications`` answers one check; ``.../bulk`` up to
``LEDGER_VOP_BULK_MAX_ENTRIES``, each entry on its own. The request carries the requesting
PSP's reference (``X-Request-ID``, a UUID) and time (``X-Request-Timestamp``); the body the
payee (``party``: its ``name`` or ``identification.organisationId``), its account
(``partyAccount.iban``), the responding agent (``partyAgent``, us) and the requesting agent
(``requestingAgent.financialInstitutionId.bicfi``). The answer is ``partyNameMatch`` (name
checks) or ``partyIdMatch`` (identifier checks): ``MTCH``, ``CMTC`` with ``matchedName``,
``NMTC``, or ``NOAP`` with ``reason`` (``ACCOUNT_UNKNOWN``, ``ACCOUNT_CLOSED``,
``NO_NAME_DATA``, ``NO_IDENTIFIER_DATA``); an unknown or closed account is NOAP, never an
error. ``vopCheckId`` names the check's recorded event.

Callers are other PSPs as service principals with role ``vop_requester`` (permission
``vop:check``); each is rate limited per principal beyond the general limit
(``LEDGER_VOP_RATE_LIMIT_*``, one token per entry). Bad input is 422 naming every field.

The routes are ``async``: a request whose IBANs the directory cache knows is answered in the
event loop (the group commit is awaited, nothing blocks), and a service token verified lately
is not verified again; otherwise the blocking work goes to the thread pool (authentication,
directory reads). FastAPI would hand every sync dependency and the route to a thread: at
thousands of requests per second per process each hand-over costs (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel
from starlette.concurrency import run_in_threadpool

from api.http.deps import causation, request_principal
from api.http.middleware.ratelimit import RateLimiter
from api.http.schemas import INPUT_ERROR_RESPONSES, V1_RESPONSES, CamelModel
from api.http.verified_tokens import VerifiedTokens
from api.runtime.bootstrap import Container
from api.runtime.metrics import Metrics
from api.security import Permission, Principal, TokenAuthenticator, authorize
from application.vop.requests import EntryFields, parse_request
from application.vop.responder import VopAnswer, VopRequest
from domain.causation import Causation, caused_by

router = APIRouter(prefix="/v1/vop", tags=["vop"], responses=V1_RESPONSES)

IN_LOOP_MAX_ENTRIES = 4
"""Entries of a request answered in the event loop at most. Matching costs about 0.1 ms per
entry: a bulk request of 100 in the loop would stall every other request of the process for
10 ms, so a larger one is answered in the thread pool (through the cache all the same)."""


async def require_vop_check(request: Request) -> Principal:
    """The caller, authorized for ``vop:check``, as :func:`api.http.deps.require` does: a
    service token verified lately is trusted again (:mod:`api.http.verified_tokens`; the
    general rate limit is still taken), anything else is authenticated in the thread pool (a
    token's keys may have to be fetched, a person looked up)."""
    state = request.app.state
    header = request.headers.get("authorization", "")
    tokens: VerifiedTokens | None = None
    if isinstance(state.principal_resolver, TokenAuthenticator):
        tokens = getattr(state, "verified_tokens", None)
        if tokens is None:
            tokens = state.verified_tokens = VerifiedTokens()
        principal = tokens.get(header)
        if principal is not None:
            limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
            if limiter is not None:
                limiter.check(principal.name)
            return authorize(principal, Permission.VOP_CHECK)
    principal = await run_in_threadpool(request_principal, request)
    if tokens is not None:
        tokens.remember(header, principal)
    return authorize(principal, Permission.VOP_CHECK)


require_vop_check.permission = Permission.VOP_CHECK  # type: ignore[attr-defined]  # route audit

VopRequester = Annotated[Principal, Depends(require_vop_check)]


def _respond(container: Container, parsed: VopRequest, cause: Causation) -> list[VopAnswer]:
    with caused_by(cause):
        return container.vop.respond(parsed)


async def _answer(
    container: Container, parse: Callable[[], VopRequest], cause: Causation
) -> tuple[VopRequest, list[VopAnswer]]:
    """The request checked (IBANs, BICs), answered and recorded: in the event loop when it
    is small (``IN_LOOP_MAX_ENTRIES``) and the directory cache knows every IBAN (nothing
    blocks; the group commit is awaited), otherwise in the thread pool (the directory is
    read from the database, or a bulk request's matching would hold the loop)."""
    parsed = parse()
    cache = container.vop_cache
    if cache is not None and len(parsed.entries) <= IN_LOOP_MAX_ENTRIES:
        accounts = cache.known({entry.iban for entry in parsed.entries})
        if accounts is not None:
            with caused_by(cause):
                return parsed, await container.vop.respond_known(parsed, accounts)
    return parsed, await run_in_threadpool(_respond, container, parsed, cause)


class _Strict(CamelModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class FinancialInstitutionIn(_Strict):
    bicfi: str = Field(max_length=16, description="BIC of the agent, 8 or 11 characters")


class AgentIn(_Strict):
    financial_institution_id: FinancialInstitutionIn


class OtherIdIn(_Strict):
    identification: str = Field(max_length=64)
    scheme_name: str = Field(max_length=16, description="VAT or NATIONAL (registration)")


class OrganisationIdIn(_Strict):
    lei: str | None = Field(default=None, max_length=32)
    other: OtherIdIn | None = None


class IdentificationIn(_Strict):
    organisation_id: OrganisationIdIn


class PartyIn(_Strict):
    name: str | None = Field(default=None, max_length=256, description="The payee's name")
    identification: IdentificationIn | None = None


class AccountIn(_Strict):
    iban: str = Field(max_length=64)


class EntryIn(_Strict):
    party: PartyIn
    party_account: AccountIn


class VerificationIn(EntryIn):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "party": {"name": "John Smith"},
                    "partyAccount": {"iban": "DE89370400440532013000"},
                    "partyAgent": {"financialInstitutionId": {"bicfi": "COBADEFFXXX"}},
                    "requestingAgent": {"financialInstitutionId": {"bicfi": "BANKFRPPXXX"}},
                }
            ]
        },
    )

    party_agent: AgentIn | None = None
    requesting_agent: AgentIn


class BulkVerificationIn(_Strict):
    party_agent: AgentIn | None = None
    requesting_agent: AgentIn
    entries: list[EntryIn] = Field(max_length=10_000)


class VerificationOut(CamelModel):
    party_name_match: str | None = Field(
        default=None, description="MTCH, CMTC, NMTC or NOAP (a check by name)"
    )
    party_id_match: str | None = Field(
        default=None, description="MTCH, NMTC or NOAP (a check by organisation identifier)"
    )
    matched_name: str | None = Field(
        default=None, description="The account holder's name, with CMTC only"
    )
    reason: str | None = Field(
        default=None,
        description="With NOAP: ACCOUNT_UNKNOWN, ACCOUNT_CLOSED, NO_NAME_DATA, "
        "NO_IDENTIFIER_DATA; on the requester side (POST /v1/vop/checks) also PSP_UNAVAILABLE "
        "(the payee's PSP is not routed or gave no usable answer in time)",
    )
    vop_check_id: str = Field(description="The recorded check (its event)")


class BulkResultOut(VerificationOut):
    index: int = Field(description="The entry's position in the request, from 0")


class BulkVerificationOut(CamelModel):
    results: list[BulkResultOut]


def _bic_of(agent: AgentIn | None) -> str | None:
    return agent.financial_institution_id.bicfi if agent is not None else None


def _fields(entry: EntryIn, prefix: str = "") -> EntryFields:
    org = entry.party.identification.organisation_id if entry.party.identification else None
    other = org.other if org is not None else None
    return EntryFields(
        iban=entry.party_account.iban,
        name=entry.party.name,
        lei=org.lei if org is not None else None,
        other_id=other.identification if other is not None else None,
        other_scheme=other.scheme_name if other is not None else None,
        prefix=prefix,
    )


def _out(answer: VopAnswer) -> VerificationOut:
    code = answer.outcome.value
    return VerificationOut(
        party_name_match=None if answer.asked_by_identifier else code,
        party_id_match=code if answer.asked_by_identifier else None,
        matched_name=answer.disclosed_name,
        reason=answer.reason.value if answer.reason is not None else None,
        vop_check_id=answer.check_id,
    )


def _observe(metrics: Metrics, answers: list[VopAnswer]) -> None:
    """Count the checks recorded now (not those answered again from the record)."""
    for answer in answers:
        if answer.repeated:
            continue
        reason = answer.reason.value if answer.reason is not None else "none"
        metrics.vop_checks.labels("RESPONDER", answer.outcome.value, reason).inc()
        metrics.vop_latency.labels("RESPONDER").observe(answer.latency_us / 1_000_000)


def _limit(request: Request, principal: Principal, entries: int, max_entries: int = 1) -> None:
    """One token per entry from the requesting PSP's own bucket (429 when empty). Every
    request that can be answered is charged in full (the settings refuse a burst below the
    bulk size); one refused with 422 after this for its size is charged ``max_entries``
    when larger, one token when empty."""
    limiter: RateLimiter | None = getattr(request.app.state, "vop_rate_limiter", None)
    if limiter is not None:
        limiter.check(f"vop:{principal.name}", cost=max(1, min(entries, max_entries)))


def _headers(response: Response, request_id: str) -> None:
    response.headers["X-Request-ID"] = request_id
    response.headers["X-Response-Timestamp"] = (
        datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


HEADERS = {
    "parameters": [
        {
            "name": "X-Request-ID",
            "in": "header",
            "required": True,
            "description": "The requesting PSP's reference (a UUID)",
            "schema": {"type": "string", "format": "uuid"},
        },
        {
            "name": "X-Request-Timestamp",
            "in": "header",
            "required": True,
            "description": "When the PSP sent it (ISO 8601, zoned)",
            "schema": {"type": "string", "format": "date-time"},
        },
    ]
}
"""The two headers, documented here and read from the request (FastAPI's header parameters
cost more per request than the rest of the route: docs/capacity.md)."""


@router.post(
    "/payee-verifications",
    response_model=VerificationOut,
    response_model_exclude_none=True,
    summary="Verify a payee's name or organisation identifier against one of our IBANs",
    responses={**INPUT_ERROR_RESPONSES, 409: {"description": "X-Request-ID used for another"}},
    openapi_extra=HEADERS,
)
async def verify_payee(
    body: VerificationIn,
    request: Request,
    response: Response,
    principal: VopRequester,
) -> VerificationOut:
    request_id = request.headers.get("x-request-id")
    requested_at = request.headers.get("x-request-timestamp")
    container: Container = request.app.state.container
    metrics: Metrics = request.app.state.metrics
    _limit(request, principal, 1)
    bic = body.requesting_agent.financial_institution_id.bicfi
    parsed, (answer,) = await _answer(
        container,
        lambda: parse_request(
            request_id,
            requested_at,
            bic,
            [_fields(body)],
            party_agent_bic=_bic_of(body.party_agent),
        ),
        causation(request, principal),
    )
    _observe(metrics, [answer])
    _headers(response, parsed.request_id)
    return _out(answer)


@router.post(
    "/payee-verifications/bulk",
    response_model=BulkVerificationOut,
    response_model_exclude_none=True,
    summary="Verify several payees in one request; each entry is answered on its own",
    responses={**INPUT_ERROR_RESPONSES, 409: {"description": "X-Request-ID used for another"}},
    openapi_extra=HEADERS,
)
async def verify_payees(
    body: BulkVerificationIn,
    request: Request,
    response: Response,
    principal: VopRequester,
) -> BulkVerificationOut:
    request_id = request.headers.get("x-request-id")
    requested_at = request.headers.get("x-request-timestamp")
    container: Container = request.app.state.container
    metrics: Metrics = request.app.state.metrics
    max_entries = container.settings.vop.bulk_max_entries
    _limit(request, principal, len(body.entries), max_entries)
    bic = body.requesting_agent.financial_institution_id.bicfi
    parsed, answers = await _answer(
        container,
        lambda: parse_request(
            request_id,
            requested_at,
            bic,
            [_fields(entry, f"entries[{n}].") for n, entry in enumerate(body.entries)],
            max_entries=max_entries,
            party_agent_bic=_bic_of(body.party_agent),
        ),
        causation(request, principal),
    )
    _observe(metrics, answers)
    _headers(response, parsed.request_id)
    return BulkVerificationOut(
        results=[
            BulkResultOut(index=answer.entry, **_out(answer).model_dump()) for answer in answers
        ]
    )
