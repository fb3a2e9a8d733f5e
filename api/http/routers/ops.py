"""Operations endpoints: ``/healthz`` (liveness), ``/readyz`` (readiness), ``/metrics``.

They need no permission (:data:`api.http.deps.PUBLIC_PATHS`), except ``/metrics`` when
``LEDGER_METRICS_PUBLIC=false``; the ingestion role serves only these.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from adapters.database_state import writability
from api.http.deps import ContainerDep, MetricsDep
from api.runtime.bootstrap import Container
from api.runtime.logs import get_logger
from api.runtime.roles import role
from api.security import Permission, PrincipalResolver, authorize

log = get_logger("api.http.routers.ops")

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: databases reachable (and writable for a role that writes), broker "
    "reachable, projections close enough to the log",
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
        state = writability(container.read_engine)
        checks["database"] = "ok" if state["writable"] else "read-only"
        checks["databaseStandby"] = state["standby"]
        # A role whose job is to write is not ready on a standby (a failover under way, or a
        # writer started in the secondary region); the api role serves reads there.
        if not state["writable"] and role(container.role).writes:
            ready = False
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
    vop = _vop_check(container)
    if vop is not None:
        checks["vop"] = vop
        # The vop role exists for the responder; the api role keeps serving the rest.
        if getattr(request.app.state, "vop_gates_readiness", False):
            ready = ready and bool(vop["ready"])
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


def _vop_check(container: Container) -> dict[str, Any] | None:
    """The Verification of Payee parts of a process serving it (None: it does not): the group
    commit writer alive (otherwise no check can be recorded, so none answered: the vop role is
    unready without it) and the directory cache fresh (refreshed within its bound). A stale
    cache is reported, never a reason to be unready: it answers from the read model, correct
    but without the cache (docs/vop.md), and the refreshes of every pod slow down together
    (a large import of accounts, a slow database), so gating on it would take every pod out
    of service at once; the alert is ``ledger_vop_directory_cache_fresh``."""
    if not container.has("vop"):
        return None
    # ``alive`` is GroupCommitter's (its writer thread); a committer without it counts as alive.
    alive = bool(getattr(container.vop.committer, "alive", True))
    check: dict[str, Any] = {"groupCommit": "alive" if alive else "stopped"}
    cache = container.vop_cache
    fresh = cache is None or cache.fresh
    if cache is not None:
        check["directoryCache"] = "fresh" if fresh else "stale"
    check["ready"] = alive
    return check


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
def metrics_endpoint(request: Request, metrics: MetricsDep) -> Response:
    """Public unless ``LEDGER_METRICS_PUBLIC=false``; then it needs ``metrics:read``."""
    if not request.app.state.metrics_public:  # the scraper is authenticated, never rate limited
        resolver: PrincipalResolver = request.app.state.principal_resolver
        authorize(resolver(request), Permission.METRICS_READ)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
