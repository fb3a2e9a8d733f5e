"""REST for machine clients: open accounts, submit payments, read them back; health and metrics.

Writes run the use case inside ``caused_by(Causation(actor=<principal>, correlation_id=<the
request's>, channel="REST"))`` so every event they record names who caused it. Reads come
from the read models only. Errors map to status codes in :func:`install_error_handlers`;
every error body is ``{"detail": "<readable message>"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from starlette.requests import HTTPConnection

from api.http.ratelimit import RateLimited, RateLimiter
from api.presentation import (
    account_key,
    account_view,
    format_amount,
    open_account_command,
    transaction_uuid,
    utc,
)
from api.runtime.bootstrap import Container
from api.runtime.observability import Metrics, get_logger
from api.security import (
    AccessDenied,
    Forbidden,
    Permission,
    Principal,
    PrincipalResolver,
    Unauthenticated,
    authorize,
    authorize_channel,
    may_see_channel,
)
from application.errors import (
    AlreadyExists,
    ApprovalRequired,
    ConcurrencyExhausted,
    Conflict,
    InvalidCommand,
    NotFound,
    NotPermitted,
    Refused,
)
from application.input_rules import JsonRefused, decode_json, instant_problem
from application.ledger.commands import PaymentInstruction, SubmissionResult
from domain.causation import Causation, caused_by
from domain.errors import DomainError
from projections.ledger.views import AccountView, StatusChange, TransactionView

log = get_logger("api.http.rest")


# --------------------------------------------------------------------------- dependencies


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


def request_principal(request: HTTPConnection) -> Principal:
    """Who is calling; then one token from their rate-limit bucket (or :class:`RateLimited`).

    REST routes (through :func:`require`) and the GraphQL context getter both come here, so
    the limit is per authenticated principal and covers both APIs together.
    """
    resolver: PrincipalResolver = request.app.state.principal_resolver
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    try:
        principal = resolver(request)
    except (Unauthenticated, AccessDenied):
        # Refused callers share one bucket per client address: a flood of bad tokens (each
        # may make the JWKS be fetched again) is throttled too, with 429 instead of 401/403.
        if limiter is not None:
            client = request.client.host if request.client is not None else "unknown"
            limiter.check(f"refused:{client}")
        raise
    if limiter is not None:
        limiter.check(principal.name)
    return principal


def require(permission: Permission) -> Callable[..., Principal]:
    """A dependency that resolves the caller and authorizes ``permission`` (or 403)."""

    def dependency(principal: Annotated[Principal, Depends(request_principal)]) -> Principal:
        return authorize(principal, permission)

    dependency.__name__ = f"require_{permission.value.replace(':', '_')}"
    dependency.permission = permission  # type: ignore[attr-defined]  # read by the route audit
    return dependency


def causation(request: Request, principal: Principal) -> Causation:
    return Causation(
        actor=principal.name,
        correlation_id=str(request.state.correlation_id),
        channel="REST",
    )


ContainerDep = Annotated[Container, Depends(get_container)]


def _sane_as_of(moment: datetime) -> datetime:
    """An ``asOf`` in UTC within the years a client may ask for (a 422 naming it otherwise;
    ``0001-01-01T00:00:00+01:00`` would overflow on the way to UTC)."""
    problem = instant_problem(moment, "asOf")
    if problem is not None:
        raise ValueError(problem.removeprefix("asOf: "))
    return utc(moment)


AsOf = Annotated[
    Annotated[AwareDatetime, AfterValidator(_sane_as_of)] | None,
    Query(
        alias="asOf",
        description="Answer as recorded at this instant (ISO 8601 with a time zone).",
    ),
]


# --------------------------------------------------------------------------- models


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class MoneyOut(_Camel):
    amount: str = Field(examples=["125.40"], description="Decimal string at the currency's scale")
    currency: str = Field(examples=["EUR"])


class OpenAccountIn(_Camel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "iban": "DE89370400440532013000",
                    "holderName": "Max Mustermann",
                    "currency": "EUR",
                    "overdraftLimit": "500.00",
                }
            ]
        },
    )

    iban: str
    holder_name: str = Field(min_length=1, max_length=140)
    currency: str = Field(min_length=3, max_length=3)
    overdraft_limit: str | None = Field(
        default=None, description='Decimal string such as "500.00"; default 0'
    )


class AccountOut(_Camel):
    id: str = Field(description="IBAN (customer accounts) or internal code like clearing:EUR")
    iban: str | None
    holder_name: str
    currency: str
    status: str
    type: str
    balance: MoneyOut
    available_balance: MoneyOut
    held: MoneyOut
    overdraft_limit: MoneyOut | None
    opened_at: AwareDatetime
    updated_at: AwareDatetime


class PartyOut(_Camel):
    iban: str
    name: str


class StatusChangeOut(_Camel):
    status: str
    at: AwareDatetime
    reason: str | None = None


class TransactionOut(_Camel):
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
    status_history: list[StatusChangeOut]


class SubmissionOut(_Camel):
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


class ErrorOut(BaseModel):
    detail: str


def money(amount: Decimal, currency: str) -> MoneyOut:
    return MoneyOut(amount=format_amount(amount, currency), currency=currency)


def account_out(view: AccountView) -> AccountOut:
    limit = view.overdraft_limit
    return AccountOut(
        id=view.key,
        iban=view.iban,
        holder_name=view.holder_name,
        currency=view.currency,
        status=view.status,
        type=view.type,
        balance=money(view.balance, view.currency),
        available_balance=money(view.available, view.currency),
        held=money(view.held, view.currency),
        overdraft_limit=money(limit, view.currency) if limit is not None else None,
        opened_at=utc(view.opened_at),
        updated_at=utc(view.updated_at),
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
        status_history=[
            StatusChangeOut(status=change.status, at=utc(change.at), reason=change.reason)
            for change in history
        ],
    )


# --------------------------------------------------------------------------- errors


class MalformedBody(Exception):
    """The body is not JSON at all (400), as opposed to JSON that fails validation (422)."""


def _error(status: int, detail: str, **headers: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers or None)


def _readable(errors: list[Any]) -> str:
    parts = []
    for error in errors:
        location = ".".join(str(p) for p in error.get("loc", ()) if p not in {"body", "query"})
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Application and domain errors -> 4xx with a readable ``detail``; rate limit -> 429."""

    async def validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = list(exc.errors())
        if any(error.get("type") == "json_invalid" for error in errors):
            return _error(400, "request body is not valid JSON")
        return _error(422, _readable(errors))

    async def malformed(_request: Request, exc: Exception) -> JSONResponse:
        return _error(400, str(exc))

    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        return _error(422, str(exc))

    async def not_found(_request: Request, exc: Exception) -> JSONResponse:
        return _error(404, str(exc))

    async def conflict(_request: Request, exc: Exception) -> JSONResponse:
        return _error(409, str(exc))

    async def forbidden(_request: Request, exc: Exception) -> JSONResponse:
        return _error(403, str(exc))

    async def unauthenticated(_request: Request, exc: Exception) -> JSONResponse:
        reason = str(exc).replace('"', "'")
        challenge = (
            f'Bearer realm="backoffice-ledger", error="invalid_token", error_description="{reason}"'
        )
        return _error(401, str(exc), **{"WWW-Authenticate": challenge})

    async def busy(_request: Request, exc: Exception) -> JSONResponse:
        return _error(503, str(exc), **{"Retry-After": "1"})

    async def rate_limited(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RateLimited)
        return _error(429, str(exc), **{"Retry-After": exc.retry_after_header})

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(MalformedBody, malformed)
    app.add_exception_handler(InvalidCommand, invalid)
    app.add_exception_handler(DomainError, invalid)
    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(AlreadyExists, conflict)
    app.add_exception_handler(Conflict, conflict)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(AccessDenied, forbidden)
    app.add_exception_handler(Unauthenticated, unauthenticated)
    app.add_exception_handler(NotPermitted, forbidden)
    app.add_exception_handler(Refused, forbidden)  # maker-checker: self-approval
    app.add_exception_handler(ApprovalRequired, conflict)
    app.add_exception_handler(ConcurrencyExhausted, busy)
    app.add_exception_handler(RateLimited, rate_limited)


# --------------------------------------------------------------------------- ledger routes

_HARDENING: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorOut, "description": "Body larger than `LEDGER_MAX_BODY_BYTES`"},
    429: {
        "model": ErrorOut,
        "description": "Rate limit of the principal reached; retry after `Retry-After` seconds",
        "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
    },
    500: {"model": ErrorOut, "description": "Unexpected; `detail` names the correlation id"},
}

router = APIRouter(prefix="/v1", responses={403: {"model": ErrorOut}, **_HARDENING})

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Body is not JSON"},
    422: {"model": ErrorOut, "description": "Invalid input; `detail` says what is wrong"},
}


@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountOut,
    summary="Open a customer account",
    responses={
        **_ERRORS,
        409: {
            "model": ErrorOut,
            "description": "IBAN already has an account, or the overdraft limit is above "
            "LEDGER_OVERDRAFT_APPROVAL_ABOVE (open it lower; GraphQL requestOverdraftLimit)",
        },
    },
    tags=["accounts"],
)
def open_account(
    body: OpenAccountIn,
    request: Request,
    response: Response,
    container: ContainerDep,
    principal: Annotated[Principal, Depends(require(Permission.ACCOUNTS_WRITE))],
) -> AccountOut:
    command = open_account_command(body.iban, body.holder_name, body.currency, body.overdraft_limit)
    with caused_by(causation(request, principal)):
        # 409 above the overdraft ceiling: a second person approves (requestOverdraftLimit)
        account = container.ledger_changes.open_account_directly(command)
    response.headers["Location"] = f"/v1/accounts/{account.key}"
    log.info("account opened", account=account.key, currency=account.currency)
    return account_out(account_view(account))


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
        **_ERRORS,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PaymentMessageIn.model_json_schema()}},
        }
    },
    tags=["transactions"],
)
async def submit_transaction(
    request: Request,
    container: ContainerDep,
    metrics: Annotated[Metrics, Depends(get_metrics)],
    principal: Annotated[Principal, Depends(require(Permission.TRANSACTIONS_SUBMIT))],
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
    "/accounts/{account_id}",
    response_model=AccountOut,
    summary="An account from the read model (optionally as recorded at `asOf`)",
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
    tags=["accounts"],
)
def get_account(
    account_id: Annotated[str, Path(description="IBAN or internal code such as clearing:EUR")],
    container: ContainerDep,
    _principal: Annotated[Principal, Depends(require(Permission.ACCOUNTS_READ))],
    as_of: AsOf = None,
) -> AccountOut:
    key = account_key(account_id)
    view = container.queries.account(key, as_of=as_of)
    if view is None:
        when = f" as of {as_of.isoformat()}" if as_of else ""
        raise NotFound(f"no account {key}{when}")
    return account_out(view)


@router.get(
    "/transactions/{transaction_id}",
    response_model=TransactionOut,
    summary="A transaction with its status history (optionally as recorded at `asOf`)",
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
    tags=["transactions"],
)
def get_transaction(
    transaction_id: str,
    container: ContainerDep,
    principal: Annotated[Principal, Depends(require(Permission.TRANSACTIONS_READ))],
    as_of: AsOf = None,
) -> TransactionOut:
    tx_id = str(transaction_uuid(transaction_id))
    view = container.queries.transaction(tx_id, as_of=as_of)
    if view is None or not may_see_channel(principal, view.channel):  # another channel's: 404
        when = f" as of {as_of.isoformat()}" if as_of else ""
        raise NotFound(f"no transaction {tx_id}{when}")
    history = container.queries.status_history([tx_id], as_of=as_of).get(tx_id, [])
    return transaction_out(view, history)


# --------------------------------------------------------------------------- operations

ops_router = APIRouter(tags=["operations"])


@ops_router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@ops_router.get(
    "/readyz",
    summary="Readiness: databases and broker reachable, projections close enough to the log",
    responses={503: {"description": "Not ready; the body says why"}},
)
def readyz(request: Request, container: ContainerDep) -> JSONResponse:
    checks: dict[str, Any] = {}
    ready = True
    ingestion = getattr(request.app.state, "ingestion", None)
    if ingestion is not None:
        broker = ingestion.readiness()
        checks["broker"] = {k: v for k, v in broker.items() if k != "ready"}
        # Only the ingestion role is unready without its broker; in the all-in-one
        # process the API must keep serving while the consumer reconnects.
        if getattr(request.app.state, "background_gates_readiness", True):
            ready = bool(broker["ready"])
    workers = getattr(request.app.state, "workers", [])
    if workers:
        checks["workers"] = {}
        for worker in workers:
            state = worker.readiness()
            checks["workers"][worker.name] = {k: v for k, v in state.items() if k != "ready"}
            checks["workers"][worker.name]["ready"] = bool(state["ready"])
            # As for the broker: only a role that exists for its workers is unready without
            # them; the all-in-one process keeps serving the API while a sweep fails.
            if getattr(request.app.state, "background_gates_readiness", True):
                ready = ready and bool(state["ready"])
    try:
        container.check_database()
        checks["database"] = "ok"
    except Exception as error:
        log.warning("readiness: database unreachable", error=str(error))
        checks["database"] = "unreachable"
        ready = False
    projections: dict[str, Any] = {}
    if ready and getattr(request.app.state, "check_projections", True):
        try:
            for status in container.projector.status():
                entry = projections.setdefault(status.name, {"lag": 0, "contexts": {}})
                entry["lag"] += status.lag
                entry["contexts"][status.context or "-"] = {
                    "position": status.position,
                    "head": status.head,
                    "lag": status.lag,
                }
            if any(
                p["lag"] > container.settings.projections.ready_max_lag
                for p in projections.values()
            ):
                ready = False
        except Exception as error:
            log.warning("readiness: projection status unavailable", error=str(error))
            projections["error"] = "status unavailable"
            ready = False
    checks["projections"] = projections
    checks["maxLag"] = container.settings.projections.ready_max_lag
    checks["quarantine"] = _quarantine_check(container)
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


def _quarantine_check(container: Container) -> dict[str, Any]:
    """Open quarantined events per follower and context (issue #12). Reported, never a
    reason to be unready: the event is skipped and everything else goes on, so taking the
    pod out of service would only stop what still works; the alert is the
    ``ledger_quarantined_events`` gauge and the ERROR line (docs/operations.md)."""
    try:
        counts = container.projector.quarantined.open_counts()
    except Exception as error:
        log.warning("readiness: quarantine unavailable", error=str(error))
        return {"error": "unavailable"}
    followers: dict[str, dict[str, int]] = {}
    for (follower, context), count in sorted(counts.items()):
        followers.setdefault(follower, {})[context] = count
    return {"open": sum(counts.values()), "followers": followers}


@ops_router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
def metrics_endpoint(
    request: Request, metrics: Annotated[Metrics, Depends(get_metrics)]
) -> Response:
    """Public unless ``LEDGER_METRICS_PUBLIC=false``; then it needs ``metrics:read``."""
    if not request.app.state.metrics_public:  # the scraper is authenticated, never rate limited
        resolver: PrincipalResolver = request.app.state.principal_resolver
        authorize(resolver(request), Permission.METRICS_READ)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Operational endpoints that need no permission (probes and the scraper); every other route
must authorize (checked by :func:`unauthorized_routes`)."""


def unauthorized_routes(app: FastAPI) -> list[str]:
    """Routes under /v1 that do not depend on :func:`require` (must be empty)."""
    from fastapi.routing import APIRoute

    missing = []
    for route in app.routes:
        if not isinstance(route, APIRoute) or route.path in PUBLIC_PATHS:
            continue
        if not route.path.startswith("/v1"):
            continue
        calls = [dep.call for dep in route.dependant.dependencies]
        if not any(hasattr(call, "permission") for call in calls):
            missing.append(route.path)
    return missing
