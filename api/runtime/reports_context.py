"""The reports context for :func:`api.runtime.bootstrap.bootstrap`: the application that
records report runs (its own event table, followed by the projector into the audit trail) and
the report queries over the read models (docs/reports.md)."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from application.reports.app import ReportsApplication
from projections.reports.queries import ReportQueries


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
