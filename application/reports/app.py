"""The reports context's application: report runs recorded in its own event table, so that a
produced report file is in the audit trail (who, which report, parameters, as-of, hash).

Its log is followed by the projector like every context's: the audit projection shows the
``ReportRun.Produced`` events to readers holding ``audit:read`` and ``reports:read``.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application

from application.errors import NotFound
from application.reports.catalogue import ReportRequest
from domain.reports.runs import ReportRun


class ReportsApplication(Application[UUID]):
    """Records report runs."""

    name = "reports"

    def record(self, request: ReportRequest, file_format: str, rows: int, digest: str) -> UUID:
        """Record that ``request`` was produced as a ``file_format`` file of ``rows`` rows
        whose sha256 is ``digest``; answers the run's id."""
        run = ReportRun.produced(
            request.spec.name,
            request.canonical_params,
            request.as_of,
            file_format,
            rows,
            digest,
        )
        self.save(run)
        return run.id

    def run(self, run_id: UUID) -> ReportRun:
        try:
            found: ReportRun = self.repository.get(run_id)
        except AggregateNotFoundError:
            raise NotFound(f"no report run {run_id}") from None
        return found
