"""FastAPI dependencies of the REST routes, with ``Annotated`` aliases to declare them by.

``ContainerDep`` and ``MetricsDep`` are what the app was built with; ``PrincipalDep`` is the
authenticated caller (rate limited, not yet authorized); ``Annotated[Principal,
Depends(require(<permission>))]`` is the caller authorized for one permission, which every
``/v1`` route must depend on (:func:`unauthorized_routes` checks it). ``AsOf`` is the optional
``asOf`` query parameter of point-in-time reads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.routing import APIRoute
from pydantic import AfterValidator, AwareDatetime
from starlette.requests import HTTPConnection

from api.http.middleware.ratelimit import RateLimiter
from api.presentation import utc
from api.runtime.bootstrap import Container
from api.runtime.metrics import Metrics
from api.security import (
    AccessDenied,
    Permission,
    Principal,
    PrincipalResolver,
    Unauthenticated,
    authorize,
)
from application.input_rules import instant_problem
from domain.causation import Causation


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


ContainerDep = Annotated[Container, Depends(get_container)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
PrincipalDep = Annotated[Principal, Depends(request_principal)]


def require(permission: Permission) -> Callable[..., Principal]:
    """A dependency that resolves the caller and authorizes ``permission`` (or 403)."""

    def dependency(principal: PrincipalDep) -> Principal:
        return authorize(principal, permission)

    dependency.__name__ = f"require_{permission.value.replace(':', '_')}"
    dependency.permission = permission  # type: ignore[attr-defined]  # read by the route audit
    return dependency


def causation(request: Request, principal: Principal) -> Causation:
    """Who caused the events a write records: the caller, the request's correlation id."""
    return Causation(
        actor=principal.name,
        correlation_id=str(request.state.correlation_id),
        channel="REST",
    )


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


PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Operational endpoints that need no permission (probes and the scraper); every other route
must authorize (checked by :func:`unauthorized_routes`)."""


def v1_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route under /v1, including those of included routers (FastAPI 0.165 keeps an
    included router as one entry of ``app.routes`` whose ``original_router`` holds its routes)."""
    found: list[APIRoute] = []
    pending: list[Any] = list(app.routes)
    while pending:
        route = pending.pop(0)
        inner = getattr(route, "original_router", None)
        if inner is not None:
            pending.extend(inner.routes)
        elif isinstance(route, APIRoute) and route.path.startswith("/v1"):
            found.append(route)
    return found


def unauthorized_routes(app: FastAPI) -> list[str]:
    """Routes under /v1 that do not depend on :func:`require` (must be empty)."""
    missing = []
    for route in v1_routes(app):
        if route.path in PUBLIC_PATHS:
            continue
        calls = [dep.call for dep in route.dependant.dependencies]
        if not any(hasattr(call, "permission") for call in calls):
            missing.append(route.path)
    return missing
