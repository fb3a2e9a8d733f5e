"""The FastAPI application: REST under ``/v1``, GraphQL at ``/graphql``, operations endpoints.

:func:`create_app` takes a bootstrapped :class:`~api.runtime.bootstrap.Container`; nothing is
built at import time. With ``run_projector=True`` the app runs the projector in a background
thread for its lifetime (``ledger serve`` with role ``all``) and stops it on shutdown (SIGTERM).
``uvicorn --factory api.http.app:app_from_env`` builds everything from the environment instead.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.requests import HTTPConnection

from api.graphql.context import LedgerContext
from api.graphql.http import install_request_refusals
from api.graphql.schema import build_schema
from api.http.deps import request_principal
from api.http.errors import install_error_handlers
from api.http.middleware.body_limit import BodySizeLimitMiddleware
from api.http.middleware.ratelimit import RateLimiter
from api.http.middleware.request_context import RequestContextMiddleware
from api.http.routers import ops_router, v1_routers, vop_router
from api.http.web_pages import LedgerGraphQLRouter, SecurityHeadersMiddleware, install_pages
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.logs import configure_logging, get_logger
from api.runtime.metrics import Metrics
from api.runtime.settings import Settings
from api.runtime.tracing import configure_tracing, shutdown_tracing
from api.runtime.tuning import tune_for_latency
from api.runtime.vop_context import start_vop_cache
from api.runtime.workers import Stoppable, Worker, shutdown_all
from api.security import (
    ANONYMOUS,
    AccessDenied,
    CachedDirectory,
    Principal,
    PrincipalResolver,
    TokenAuthenticator,
    token_verifier,
)

log = get_logger("api.http.app")

PROJECTOR_RESTART_DELAY = 5.0
BACKGROUND_SHUTDOWN_SECONDS = 40.0
"""After uvicorn's 10 s for open requests: 50 s in all, inside the pods' 60 s grace period."""


class ProjectorThread:
    """Runs ``projector.run(stop)`` in a daemon thread; restarts it after a failure."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="projector", daemon=True)

    def _run(self) -> None:
        projector = self.container.projector
        while not self.stop.is_set():
            try:
                projector.run(self.stop)
            except Exception:
                log.exception("projector failed; restarting", delay=PROJECTOR_RESTART_DELAY)
                self.stop.wait(PROJECTOR_RESTART_DELAY)
            else:
                return

    def start(self) -> None:
        self.container.projector_active = True
        self.thread.start()
        log.info("projector started")

    def request_stop(self) -> None:
        self.stop.set()

    def shutdown(self, timeout: float = 30.0) -> None:
        self.stop.set()
        self.thread.join(timeout)
        self.container.projector_active = False
        if self.thread.is_alive():
            log.warning("projector did not stop in time", timeout=timeout)
        else:
            log.info("projector stopped")


def create_app(
    container: Container,
    *,
    run_projector: bool = False,
    run_ingestion: bool = False,
    operations_only: bool = False,
    vop_only: bool = False,
    principal_resolver: PrincipalResolver | None = None,
    workers: Sequence[Worker] = (),
) -> FastAPI:
    """The ASGI app over ``container`` (which the caller closes).

    ``run_ingestion`` runs the STOMP consumer and the outbox (the settings must name a
    broker) for the app's lifetime; ``operations_only`` serves only ``/healthz``,
    ``/readyz`` and ``/metrics`` (the ingestion role takes no HTTP traffic); with
    ``vop_only`` as well, those and the Verification of Payee responder ``/v1/vop`` (the
    ``vop`` role: no other REST route, no GraphQL, no pages).
    ``principal_resolver`` defaults to bearer-token authentication from the settings;
    tests may pass their own. ``workers`` (:mod:`api.runtime.workers`; built per role by
    :mod:`api.runtime.roles`) run for the app's lifetime and each one's readiness is part of
    ``/readyz``.
    """
    settings = container.settings
    if run_ingestion and settings.stomp is None:
        raise ValueError("ingestion needs LEDGER_STOMP_URL")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _start_vop_cache(container)
        projector = ProjectorThread(container) if run_projector else None
        if projector is not None:
            projector.start()
        ingestion = app.state.ingestion
        if ingestion is not None:
            ingestion.start()
        for worker in app.state.workers:
            worker.start()
        log.info(
            "api started",
            **settings.describe(),
            projector=run_projector,
            ingestion=run_ingestion,
            workers=[worker.name for worker in app.state.workers],
        )
        try:
            yield
        finally:
            # Everything stops taking work at once, then each finishes within one deadline:
            # ingestion acks its batch first, the projector goes last (it projects that batch).
            background: list[Stoppable] = [
                *([ingestion] if ingestion is not None else []),
                *app.state.workers,
                *([projector] if projector is not None else []),
            ]
            shutdown_all(background, BACKGROUND_SHUTDOWN_SECONDS)
            log.info("api stopped")

    app = _build(container, settings, lifespan, principal_resolver, operations_only, vop_only)
    # The ingestion role serves no read model, so projection lag does not make it unready.
    app.state.check_projections = run_projector or not operations_only
    app.state.background_gates_readiness = operations_only
    app.state.vop_gates_readiness = vop_only  # the vop role: unready without its VoP parts
    app.state.workers = list(workers)
    for worker in app.state.workers:  # a worker's own gauges (the fraud role's drift)
        for collector in getattr(worker, "collectors", list)():
            app.state.metrics.registry.register(collector)
    if run_ingestion and settings.stomp is not None:
        from api.runtime.ingestion import IngestionWorkers

        app.state.ingestion = IngestionWorkers(
            container, settings.stomp, app.state.metrics.registry
        )
    return app


def _build(
    container: Container | None,
    settings: Settings,
    lifespan: object,
    principal_resolver: PrincipalResolver | None,
    operations_only: bool = False,
    vop_only: bool = False,
) -> FastAPI:
    app = FastAPI(
        title="backoffice-ledger",
        version="0.1.0",
        summary="Event-sourced double-entry ledger: REST for channels, GraphQL for the backoffice",
        lifespan=lifespan,  # type: ignore[arg-type]
        # The API description is for developers; production serves neither it nor its page.
        docs_url=None,  # /docs is api/http/web_pages.py's (local assets, CSP), outside production
        openapi_url=None if settings.is_production else "/openapi.json",
        redoc_url=None,
        # FastAPI's own OpenTelemetry instrumentation stays off: its server span records the
        # raw path (IBANs: /v1/accounts/DE89...) and its log records exception messages. The
        # server span is RequestContextMiddleware's (route template, status, correlation id);
        # the exporter is set up by api/runtime/tracing.py, never from FASTAPI_OTEL_AUTO_CONFIGURE.
        telemetry={
            "tracing": False,
            "metrics": False,
            "logs": False,
            "operation_spans": False,
            "auto_configure": False,
        },
    )
    metrics = Metrics(
        projection_status=lambda: _projection_rows(app),
        quarantine_counts=lambda: _quarantine_counts(app),
        vop_cache=lambda: _vop_cache(app),
    )
    app.state.container = container
    app.state.metrics = metrics
    app.state.principal_resolver = principal_resolver or _authenticator(app, settings)
    app.state.rate_limiter = (
        RateLimiter(settings.http.rate_limit_per_second, settings.http.rate_limit_burst)
        if settings.http.rate_limited
        else None
    )
    app.state.vop_rate_limiter = (
        RateLimiter(settings.vop.rate_limit_per_second, settings.vop.rate_limit_burst)
        if settings.vop.rate_limited
        else None
    )
    app.state.vop_request_rate_limiter = (
        RateLimiter(
            settings.vop.request_rate_limit_per_second, settings.vop.request_rate_limit_burst
        )
        if settings.vop.request_rate_limited
        else None
    )
    app.state.vop_payer_rate_limiter = (
        RateLimiter(settings.vop.payer_rate_limit_per_second, settings.vop.payer_rate_limit_burst)
        if settings.vop.payer_rate_limited
        else None
    )
    app.state.ingestion = None
    app.state.workers = []
    app.state.metrics_public = settings.auth.metrics_public
    app.state.check_projections = True
    install_error_handlers(app)
    app.include_router(ops_router)
    # Added last runs first: the request context wraps the body limit, so a 413 carries
    # the correlation id and shows in the access log and the metrics.
    if operations_only:
        if vop_only:
            app.include_router(vop_router)
        app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.http.max_body_bytes)
        app.add_middleware(RequestContextMiddleware, metrics=metrics)
        app.add_middleware(SecurityHeadersMiddleware)
        return app
    for router in v1_routers:
        app.include_router(router)
    if not settings.is_production:
        install_pages(app, openapi_url="/openapi.json")

    def graphql_context(request: HTTPConnection) -> LedgerContext:
        return LedgerContext(
            container=request.app.state.container,
            principal=_graphql_principal(request),
            correlation_id=str(request.state.correlation_id),
            metrics=request.app.state.metrics,
        )

    graphql = LedgerGraphQLRouter(
        build_schema(
            production=settings.is_production,
            max_depth=settings.graphql.max_depth,
            max_tokens=settings.graphql.max_tokens,
            max_aliases=settings.graphql.max_aliases,
            budget=settings.graphql.budget,
        ),
        path="/graphql",
        context_getter=graphql_context,
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=not settings.is_production,
        subscription_protocols=(),  # no subscriptions: no WebSocket endpoint at all
    )
    app.include_router(graphql, include_in_schema=False)
    install_request_refusals(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.http.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


def _authenticator(app: FastAPI, settings: Settings) -> TokenAuthenticator:
    """Bearer tokens checked against the configured keys; people looked up in the identity
    context of the app's container (which ``app_from_env`` only attaches at startup)."""

    def directory() -> object:
        container = app.state.container
        has_identity = container is not None and container.has("identity")
        return container.identity if has_identity else None  # roles without it: no people

    return TokenAuthenticator(
        token_verifier(settings.auth, settings.data_dir),
        CachedDirectory(directory),  # type: ignore[arg-type]
    )


def _graphql_principal(request: HTTPConnection) -> Principal:
    """The caller; the GraphiQL page itself (a browser's GET for HTML, no token) is served to
    an anonymous principal that may do nothing. Everything else needs a valid token."""
    wants_page = (
        isinstance(request, Request)
        and request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and "query" not in request.query_params  # with a query strawberry runs it, page or not
    )
    if wants_page and "authorization" not in request.headers:
        return ANONYMOUS
    principal = request_principal(request)
    if principal.kind == "service":  # as at the edge: GraphQL is for people only
        raise AccessDenied(f"{principal.name}: GraphQL is the backoffice API for people; use /v1")
    return principal


def _projection_rows(app: FastAPI) -> list[tuple[str, str, int, int]]:
    container: Container | None = app.state.container
    if container is None:
        return []
    return [(s.name, s.context or "-", s.position, s.head) for s in container.projector.status()]


def _quarantine_counts(app: FastAPI) -> dict[tuple[str, str], int]:
    container: Container | None = app.state.container
    if container is None:
        return {}
    return container.projector.quarantined.open_counts()


def _vop_cache(app: FastAPI) -> tuple[int, int, int, bool] | None:
    container: Container | None = getattr(app.state, "container", None)  # read at register
    if container is None or not container.has("vop") or container.vop_cache is None:
        return None
    cache = container.vop_cache
    return cache.stats.hits, cache.stats.misses, len(cache), cache.fresh


def _start_vop_cache(container: Container) -> None:
    """A serving process answers VoP checks from its directory cache: loaded, then following
    the log (docs/vop.md); one-off commands leave it unstarted (it then caches nothing)."""
    if container.has("vop") and container.vop_cache is not None:
        start_vop_cache(container.settings, container.vop_cache)


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory api.http.app:app_from_env``: settings from the environment, the
    container built at startup and closed at shutdown, the projector in-process."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    configure_tracing("all")  # the projector runs in-process, as with ``--role all``

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = bootstrap(settings, migrate=False)  # no DDL: `ledger migrate` first
        app.state.container = container
        _start_vop_cache(container)
        tune_for_latency()  # api/runtime/tuning.py: GC and GIL settings for latency
        projector = ProjectorThread(container)
        projector.start()
        try:
            yield
        finally:
            projector.shutdown()
            container.close()
            shutdown_tracing()

    return _build(None, settings, lifespan, None)
