"""The vop context's parts for the composition root (:mod:`api.runtime.contexts` builds the
others): the responder and requester application with its group commit, the directory read
through the in-process cache, the compliance reads, and the outbound HTTP client to other
PSPs. Its own module so that the contexts module stays small."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import Application
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from adapters.vop.peers import HttpPayeePsps
from api.runtime.contexts import LedgerParts, small_pool
from api.runtime.logs import get_logger
from api.runtime.settings import Settings
from application.unit_of_work import Clock
from application.vop.app import VopApplication
from application.vop.ports import AccountDirectory
from projections.vop.cache import DirectoryCache, recorder_changes
from projections.vop.checks import VopCheckQueries
from projections.vop.queries import DirectoryQueries

log = get_logger("api.runtime.vop_context")


@dataclass(frozen=True)
class VopParts:
    app: VopApplication
    """The Verification of Payee responder; every check it answers is an event."""
    directory: DirectoryQueries
    """The account directory (read model of the ledger's customer accounts)."""
    checks: VopCheckQueries
    """The recorded checks (read model), for compliance."""
    cache: DirectoryCache | None = None
    """The in-process directory cache the responder reads through (None: turned off)."""


def start_vop_cache(settings: Settings, cache: DirectoryCache) -> None:
    """Make a serving process's directory cache follow the log (until the container closes)
    and, with ``LEDGER_VOP_DIRECTORY_CACHE_PRELOAD``, load the directory first (the cache's
    first refresh does), so that the process answers from memory from its first request. Not
    started, the cache caches nothing (one-off commands read the directory itself)."""
    try:
        cache.refresh()
    except SQLAlchemyError:  # no read models yet (a fresh store): the follower retries
        log.warning("vop directory cache: first refresh failed; the follower retries")
    cache.start(settings.vop.directory_cache_poll_seconds)


class _LedgerLog(Application[UUID]):
    """The ledger's event store, only to read its notification log (the directory cache's
    invalidation) in a process that does not build the ledger: nothing is saved through it."""

    name = "ledger"


def build_vop(
    settings: Settings,
    env: dict[str, str],
    clock: Clock,
    engine: Engine,
    stack: ExitStack,
    *,
    ledger_env: dict[str, str],
    ledger: LedgerParts | None = None,
) -> VopParts:
    """The responder and the requester. The directory is read from the read model through the
    in-process cache (invalidated from the ledger's log: the ledger's recorder when the process
    builds the ledger, otherwise a one-connection reader of its event store); checks are saved
    with group commit; the requester asks other PSPs over HTTP when routes are set."""
    directory = DirectoryQueries(engine)
    cache = None
    port: AccountDirectory = directory
    if settings.vop.directory_cache_size > 0:
        if ledger is not None:
            recorder = ledger.app.recorder
        else:
            log = _LedgerLog(env=small_pool(ledger_env, size=1, overflow=1))
            stack.callback(log.close)
            recorder = log.recorder
        cache = DirectoryCache(
            directory,
            recorder_changes(recorder),
            size=settings.vop.directory_cache_size,
            preload=settings.vop.directory_cache_preload,
        )
        stack.callback(cache.close)  # started by a serving process: start_vop_cache
        port = cache
    peers = None
    if settings.vop.routes and settings.vop.bic is not None:
        peers = HttpPayeePsps(
            settings.vop.routes,
            settings.vop.bic,
            token=settings.vop.peer_token,
            timeout_seconds=settings.vop.peer_timeout_seconds,
            max_concurrent=settings.vop.peer_max_concurrent,
        )
        stack.callback(peers.close)
    app = VopApplication(
        env=env,
        directory=port,
        thresholds=settings.vop.thresholds(),
        clock=clock,
        peers=peers,
        commit_batch_size=settings.vop.commit_batch_size,
        commit_max_wait=settings.vop.commit_max_wait_ms / 1000,
    )
    stack.callback(app.close)
    return VopParts(app, directory, VopCheckQueries(engine), cache)
