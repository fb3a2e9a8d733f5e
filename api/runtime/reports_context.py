"""The reports context for :func:`api.runtime.bootstrap.bootstrap`: the application that
records report runs (its own event table, followed by the projector into the audit trail) and
the report queries over the read models (docs/reports.md)."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from application.errors import ReadModelsBehind
from application.reports.app import ReportsApplication
from projections.reports.queries import ReportQueries

READ_MODEL_WAIT = 5.0
"""Seconds a report request waits for the projector before answering 503."""


@dataclass(frozen=True)
class ReportsParts:
    app: ReportsApplication
    queries: ReportQueries


def build_reports(env: dict[str, str], engine: Engine, stack: ExitStack) -> ReportsParts:
    """Report runs are written seldom (one event per produced file): a small pool."""
    if "POSTGRES_POOL_SIZE" in env:
        env = {**env, "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "2"}
    app = ReportsApplication(env=env)
    stack.callback(app.close)
    return ReportsParts(app, ReportQueries(engine))


def reports_of(container: Any) -> ReportsParts:
    """The reports context of a :class:`~api.runtime.bootstrap.Container`
    (:class:`~api.runtime.contexts.ContextNotBuilt` when its role does not build it)."""
    parts: ReportsParts = container._part("reports", "reports")
    return parts


def require_current_read_models(container: Any, timeout: float | None = None) -> None:
    """Reports read the read models: a report asked for now must see everything the ledger
    recorded before the request, or a report as of an instant the projector has not reached
    would be silently incomplete (and differ from the same report asked later). Waits up to
    ``timeout`` (default :data:`READ_MODEL_WAIT`) for every projection to reach the ledger's
    head as it is now (their positions are read from the database, so a projector in another
    process counts), then raises
    :class:`~application.errors.ReadModelsBehind` (503, retry)."""
    head = {container.ledger.name: container.ledger.recorder.max_notification_id() or 0}
    wait = READ_MODEL_WAIT if timeout is None else timeout
    if not container.projector.wait_for(head, wait):
        raise ReadModelsBehind(
            "the read models have not caught up with the ledger yet; retry the report shortly"
        )
