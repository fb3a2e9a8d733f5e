"""``ledger serve [--role ROLE] [--host H] [--port P]``: run one process role.

The HTTP stack (FastAPI, strawberry, uvicorn) is imported inside :func:`cmd_serve`, after the
signal handlers are in place: only ``serve`` needs it (the admin commands do not pay the half
second it takes to import), and a SIGTERM while it loads ends ``serve`` cleanly (exit 0).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from adapters.migration import SchemaNotMigrated
from api.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from api.runtime.bootstrap import bootstrap
from api.runtime.logs import get_logger
from api.runtime.roles import ROLE_NAMES, build_workers, role
from api.runtime.settings import Settings
from api.runtime.tracing import configure_tracing, shutdown_tracing
from api.runtime.tuning import tune_for_latency

ROLES = ROLE_NAMES

log = get_logger("api.cli.serve")


def add_parser(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run a process role (default all: everything in one process)",
        description="Run one process role of the system. 'all' (default) serves REST and "
        "GraphQL and runs every background worker in one process; 'api' serves only; "
        "'projector' follows the event log; 'ingestion' consumes the message queue; the "
        "other roles run their background workers. Roles without an API serve only "
        "/healthz, /readyz and /metrics.",
    )
    serve.add_argument("--role", choices=ROLES, default="all", help="process role (default all)")
    serve.add_argument("--host", help="bind address (default LEDGER_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port (default LEDGER_PORT or 8000)")


def _port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError("port must be between 1 and 65535")
    return value


@contextmanager
def _graceful_signals(stop: threading.Event) -> Iterator[list[int]]:
    """Turn SIGTERM/SIGINT into ``stop.set()`` instead of dying, for the whole of ``serve``.

    A signal during startup is remembered and ends the command once startup is done. While
    uvicorn runs it installs its own handlers (graceful shutdown) and, when done, re-raises the
    signal it caught; with this handler back in place that re-raise is recorded, and ``serve``
    exits 0.
    """
    received: list[int] = []

    def record(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {sig: signal.signal(sig, record) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _tracing_flushed(shutdown: Callable[[], None]) -> Iterator[None]:
    """Flush the queued spans on the way out of ``serve``, however it ends (SIGTERM too)."""
    try:
        yield
    finally:
        shutdown()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    stop = threading.Event()
    # Before anything that may open a span; off (nothing installed) without an OTLP endpoint.
    configure_tracing(args.role)
    with _graceful_signals(stop) as received, _tracing_flushed(shutdown_tracing):
        # Local on purpose: the HTTP stack, for serve only and under the handlers (module doc).
        import uvicorn

        from api.http.app import create_app

        try:  # no DDL at process start: `ledger migrate` made the tables
            container = bootstrap(settings, role=args.role, migrate=False)
        except SchemaNotMigrated as refusal:
            print(f"ledger: {refusal}", file=sys.stderr)
            return EXIT_USAGE
        try:
            container.warm_up()  # the fraud model's online features, if a model is promoted
            if stop.is_set():
                return EXIT_OK  # stopped while starting
            process = role(args.role)
            if process.ingestion == "yes" and settings.stomp is None:
                print(
                    "ledger: the ingestion role needs LEDGER_STOMP_URL "
                    "(e.g. stomp://guest:guest@127.0.0.1:61613)",
                    file=sys.stderr,
                )
                return EXIT_USAGE
            app = create_app(
                container,
                run_projector=process.runs_projector,
                run_ingestion=process.ingestion == "yes"
                or (process.ingestion == "if-configured" and settings.stomp is not None),
                operations_only=not process.serves_api,
                vop_only=process.serves_vop and not process.serves_api,
                workers=build_workers(process, container),
            )
            if process.reads_projected:
                container.projector_active = True  # a projector process follows the same log
            config = uvicorn.Config(
                app,
                host=args.host or settings.http.host,
                port=args.port or settings.http.port,
                log_config=None,
                access_log=False,
                lifespan="on",
                timeout_graceful_shutdown=10,
                server_header=False,
            )
            server = uvicorn.Server(config)
            tune_for_latency()  # api/runtime/tuning.py: GC and GIL settings for latency
            server.run()
            if received:
                names = [signal.Signals(s).name for s in received]
                log.info("shut down on signal", signals=names)
            return EXIT_OK if server.started else EXIT_FAILED
        finally:
            container.close()
